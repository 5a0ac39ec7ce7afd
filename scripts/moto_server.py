"""moto_server with one fix to its policy evaluation, for the tests, the demo and benches.

moto (5.2.x) evaluates bucket policies with no request context, and a condition on a key
it has no value for counts as met. So a Deny statement conditioned on a key (our TLS-only
statement: Deny when aws:SecureTransport is "false") denies every request, TLS or not.
In AWS a condition on a key the request does not carry is not met (except `...IfExists`
and `Null`), and the statement does not apply. This launcher makes moto do that; all else
is moto as released. Usage is moto_server's: `python moto_server.py -H HOST -p PORT`.
"""

from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.server import main

_released = IAMPolicyStatement.is_action_permitted


def _needs_absent_key(condition, context):
    for operator, keys in condition.items():
        if operator == "Null" or operator.endswith("IfExists"):
            continue
        if any(key not in (context or {}) for key in keys):
            return True
    return False


def _is_action_permitted(
    self, action, resource="*", principal=None, incoming_condition_values=None
):
    condition = self._statement.get("Condition")
    if condition and _needs_absent_key(condition, incoming_condition_values):
        return PermissionResult.NEUTRAL
    return _released(self, action, resource, principal, incoming_condition_values)


IAMPolicyStatement.is_action_permitted = _is_action_permitted

if __name__ == "__main__":
    main()
