"""moto_server with fixes where moto (5.2.x) does not behave as AWS, for the tests, the
demo and the benchmarks. Everything else is moto as released; the product never relies on
these, they only stop moto from reporting false differences or accepting what AWS refuses. Usage is moto_server's:
`python moto_server.py -H HOST -p PORT`.

1. Policy conditions. moto evaluates bucket policies with no request context, and a
   condition on a key it has no value for counts as met. So a Deny statement conditioned on
   a key (our TLS-only statement: Deny when aws:SecureTransport is "false") denies every
   request, TLS or not. In AWS a condition on a key the request does not carry is not met
   (except `...IfExists` and `Null`), and the statement does not apply.
2. Lambda file systems. moto drops `FileSystemConfigs` from CreateFunction and
   UpdateFunctionConfiguration, so GetFunction never shows the EFS mount the function has.
   Here it is kept and returned, as AWS does.
3. ECS services. moto's CreateService drops `deploymentConfiguration` (the circuit
   breaker) and `healthCheckGracePeriodSeconds`, so DescribeServices never shows them
   (its UpdateService keeps them). Here CreateService keeps them too.
4. S3 conditional writes. moto checks `If-None-Match: *` / `If-Match` and then stores the
   object as two steps, and the server handles requests on several threads, so two racing
   conditional PutObjects can both pass the check. In AWS exactly one wins: "If multiple
   conditional writes occur for the same object name, the first write operation to finish
   succeeds. Amazon S3 then fails subsequent writes with a 412 Precondition Failed response"
   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html). Here
   PutObject and DeleteObject run one at a time, so the check and the write are atomic.
5. Lambda logging. moto drops `LoggingConfig`; GetFunction answers with AWS's default
   (`LogFormat: Text`, `LogGroup: /aws/lambda/<name>`) until a config is set, and with the
   config once it is (as AWS does).
"""

import threading

from moto.awslambda.models import LambdaFunction
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.s3.responses import S3Response
from moto.server import main

_released_permitted = IAMPolicyStatement.is_action_permitted


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
    return _released_permitted(
        self, action, resource, principal, incoming_condition_values
    )


IAMPolicyStatement.is_action_permitted = _is_action_permitted

_released_init = LambdaFunction.__init__
_released_update = LambdaFunction.update_configuration
_released_configuration = LambdaFunction.get_configuration


def _init(self, account_id, spec, region, version=1):
    _released_init(self, account_id, spec, region, version)
    self.file_system_configs = spec.get("FileSystemConfigs", [])
    self.logging_config = spec.get("LoggingConfig")


def _update_configuration(self, config_updates):
    if "FileSystemConfigs" in config_updates:
        self.file_system_configs = config_updates["FileSystemConfigs"]
    if "LoggingConfig" in config_updates:
        self.logging_config = config_updates["LoggingConfig"]
    return _released_update(self, config_updates)


def _get_configuration(self, *args, **kwargs):
    config = _released_configuration(self, *args, **kwargs)
    if getattr(self, "file_system_configs", None):
        config["FileSystemConfigs"] = self.file_system_configs
    config["LoggingConfig"] = getattr(self, "logging_config", None) or {
        "LogFormat": "Text",
        "LogGroup": f"/aws/lambda/{self.function_name}",
    }
    return config


LambdaFunction.__init__ = _init
LambdaFunction.update_configuration = _update_configuration
LambdaFunction.get_configuration = _get_configuration

_released_create_service = EC2ContainerServiceResponse.create_service


def _create_service(self):
    result = _released_create_service(self)
    service = self.ecs_backend._get_service(
        self._get_param("cluster", "default"), self._get_param("serviceName")
    )
    for param, attribute in (
        ("deploymentConfiguration", "deployment_configuration"),
        ("healthCheckGracePeriodSeconds", "health_check_grace_period_seconds"),
    ):
        value = self._get_param(param)
        if value is not None:
            setattr(service, attribute, value)
    return result


EC2ContainerServiceResponse.create_service = _create_service

_s3_writes = threading.Lock()


def _one_at_a_time(released):
    def serialized(self, *args, **kwargs):
        with _s3_writes:
            return released(self, *args, **kwargs)

    return serialized


S3Response.put_object = _one_at_a_time(S3Response.put_object)
S3Response.delete_object = _one_at_a_time(S3Response.delete_object)

if __name__ == "__main__":
    main()
