//! Maps SDK errors onto the provider's typed errors, so the engine knows what to retry.

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::provider::ProviderError;

/// Error codes AWS uses for throttling across services.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// What a create answers when its name, token or association is taken, as each service says
/// it: a retried create whose first answer was lost meets its own resource this way (or a
/// stranger's; the engine adopts it only when it carries this address's token or tag).
const ALREADY_EXISTS: &[&str] = &[
    "EntityAlreadyExists",
    "InvalidGroup.Duplicate",
    "InvalidPermission.Duplicate",
    "Resource.AlreadyAssociated",
    "RouteAlreadyExists",
    // CreateSubnet: the CIDR block is taken in the VPC (by the first attempt's subnet).
    "InvalidSubnet.Conflict",
    "ResourceConflictException",
    "ResourceAlreadyExistsException",
    "RepositoryAlreadyExistsException",
    "BucketAlreadyOwnedByYou",
    "FileSystemAlreadyExists",
    "MountTargetConflict",
    "AccessPointAlreadyExists",
    "DuplicateTargetGroupName",
    "DuplicateLoadBalancerName",
    "DuplicateListener",
    // CreateAutoScalingGroup: the name is taken (by the first attempt's group).
    "AlreadyExists",
    "InvalidLaunchTemplateName.AlreadyExistsException",
];

/// What AWS says while a new role or instance profile has not reached every service yet
/// (IAM is eventually consistent): the same call succeeds seconds later. AWS gives these as
/// `InvalidParameter*` with no code of their own, so the message is all there is to match;
/// every other `InvalidParameter*` stays final.
const IAM_PROPAGATION: &[&str] = &[
    // Lambda CreateFunction / UpdateFunctionConfiguration, the function's new role.
    "The role defined for the function cannot be assumed by Lambda",
    // Lambda: the role's VPC permissions (CreateNetworkInterface on EC2) not visible yet.
    "execution role does not have permissions to call",
    // EC2 RunInstances: "Value (…) for parameter iamInstanceProfile.name|arn is invalid.
    // Invalid IAM Instance Profile name|ARN".
    "Invalid IAM Instance Profile",
    // ECS CreateService: the service-linked role that a new account's first cluster creates.
    "Unable to assume the service linked role",
];

/// Whether `err` is one of the IAM propagation answers above.
pub fn is_iam_propagation<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.code().is_some_and(|c| c.starts_with("InvalidParameter"))
            && e.message()
                .is_some_and(|m| IAM_PROPAGATION.iter().any(|p| m.contains(p)))
    })
}

/// Classifies any SDK error: throttling and server-side failures are retryable, the rest is
/// reported with the service's own code and message.
pub fn classify<E, R>(err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    match &err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("Unknown");
            let msg = format!("{code}: {}", e.message().unwrap_or("(no message)"));
            if THROTTLING.contains(&code) {
                ProviderError::Throttled(msg)
            } else if ALREADY_EXISTS.contains(&code) {
                ProviderError::Exists(msg)
            } else if code.starts_with("InternalError")
                || code == "InternalFailure"
                || code == "ServiceUnavailable"
                // Any 5xx is the server's failure, whatever the code says (EC2's
                // "Unavailable", Lambda's "ServiceException"), as the SDK's retry judges it.
                || se.raw().status_code() >= 500
            {
                ProviderError::Transient(msg)
            } else if code.contains("Validation") || code.starts_with("InvalidParameter") {
                ProviderError::Validation(msg)
            } else {
                ProviderError::Api(msg)
            }
        }
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) | SdkError::TimeoutError(_) => {
            ProviderError::Transient(format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(&err)
            ))
        }
        _ => ProviderError::Api(format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&err)
        )),
    }
}

/// A call's answer, or `None` where `not_found` says the service answered that the resource
/// (or what it belongs to) does not exist: a read that finds nothing, a delete with nothing
/// left to delete.
pub fn found<O, E, R>(
    sent: Result<O, SdkError<E, R>>,
    not_found: impl Fn(&E) -> bool,
) -> Result<Option<O>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    match sent {
        Ok(o) => Ok(Some(o)),
        Err(e) if e.as_service_error().is_some_and(&not_found) => Ok(None),
        Err(e) => Err(classify(e)),
    }
}

/// A delete call's answer where "not found" is success: `Ok(true)` when the delete was
/// accepted (wait for it to finish), `Ok(false)` when there was nothing to delete.
pub fn accepted<O, E, R>(
    sent: Result<O, SdkError<E, R>>,
    not_found: impl Fn(&E) -> bool,
) -> Result<bool, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    Ok(found(sent, not_found)?.is_some())
}

/// The EC2 resource that `$describe` (a describe call's builder, given the resource's id)
/// finds, its `$list`'s first, or none when EC2 says it does not exist. A macro because every
/// describe call is a builder of its own.
macro_rules! ec2_one {
    ($describe:expr, $list:ident) => {
        $crate::aws::errors::found($describe.send().await, $crate::aws::errors::ec2_not_found)?
            .and_then(|o| o.$list().first().cloned())
    };
}
pub(crate) use ec2_one;

/// EC2 reports a missing resource only through its error code (`InvalidVpcID.NotFound`,
/// `InvalidSubnetID.NotFound`, ...): EC2's SDK has no typed not-found variants. A predicate
/// on the service error, as [`found`], [`accepted`] and the waits take.
pub fn ec2_not_found<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code().is_some_and(is_ec2_not_found_code)
}

/// [`ec2_not_found`] for an error code (launch templates answer
/// `InvalidLaunchTemplateName.NotFoundException`).
pub fn is_ec2_not_found_code(code: &str) -> bool {
    code.ends_with("NotFound") || code.ends_with(".NotFoundException")
}

/// A request value the SDK's builder refused (a required field missing): our bug, reported
/// as a validation error rather than a panic.
pub fn built(e: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::Validation(format!("building the request: {e}"))
}

/// Reads a string property the synth always sets.
pub fn prop<'a>(props: &'a serde_json::Value, field: &str) -> Result<&'a str, ProviderError> {
    props[field]
        .as_str()
        .ok_or_else(|| ProviderError::Validation(format!("property `{field}` is missing")))
}

/// The service's error code, for the few "not configured" answers the SDKs do not model as
/// typed errors (S3's `NoSuchBucketPolicy`, `NoSuchTagSet`, ...).
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

/// S3's answer for a bucket that does not exist, which most S3 operations (GetObject,
/// DeleteObject, DeleteBucket) do not model as a typed error.
pub fn no_such_bucket<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("NoSuchBucket")
}

/// EC2 refuses to delete a resource something still uses (`DependencyViolation`): in real AWS
/// this clears by itself while ENIs drain, so deletes retry it up to a deadline.
pub fn dependency_violation<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code() == Some("DependencyViolation")
}

/// Whether the service answered 404. S3 says "this bucket has no such configuration" (policy,
/// tags, public access block, encryption) with a 404 whose body may carry no error code.
pub fn is_404<E, R: HttpStatus>(err: &SdkError<E, R>) -> bool {
    err.raw_response().is_some_and(|r| r.status_code() == 404)
}

/// The HTTP status of a raw response (implemented for the SDK's response type).
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::operation::create_function::CreateFunctionError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn answer(
        code: &str,
        message: &str,
    ) -> SdkError<CreateFunctionError, aws_smithy_runtime_api::http::Response> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw =
            aws_smithy_runtime_api::http::Response::new(400.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(CreateFunctionError::generic(meta), raw)
    }

    #[test]
    fn only_iam_propagation_answers_are_retried() {
        for (code, message) in [
            (
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
            ),
            (
                "InvalidParameterValueException",
                "The provided execution role does not have permissions to call CreateNetworkInterface on EC2",
            ),
            (
                "InvalidParameterValue",
                "Value (p) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
            ),
            (
                "InvalidParameterException",
                "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
            ),
        ] {
            assert!(is_iam_propagation(&answer(code, message)), "{message}");
        }
        for (code, message) in [
            ("InvalidParameterValueException", "Unsupported runtime"),
            (
                "InvalidParameterValue",
                "Value (t9.huge) for parameter instanceType is invalid.",
            ),
            (
                "AccessDenied",
                "The role defined for the function cannot be assumed by Lambda.",
            ),
        ] {
            assert!(!is_iam_propagation(&answer(code, message)), "{message}");
            assert!(!matches!(
                classify(answer(code, message)),
                ProviderError::Throttled(_) | ProviderError::Transient(_)
            ));
        }
    }
}
