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
   (its UpdateService keeps them). Here CreateService keeps them too. moto also starts
   MOTO_ECS_SERVICE_RUNNING tasks whatever the desired count, so a service of two never
   completes its rollout; here it starts the desired count, as ECS does. A service with a
   load balancer registers its running tasks' addresses in the target group, as ECS does
   (moto registers nothing, so the group stays empty), and an UpdateService with another
   target group moves them to it, as the new deployment does.
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
7. NAT gateways. moto's DeleteNatGateway marks the gateway deleted but keeps its Elastic IP
   associated and its network interface in the subnet, so the address is never free and the
   subnet never empty. AWS lets both go once the gateway is `deleted`; here too.
8. Application Auto Scaling. moto's DeregisterScalableTarget keeps the target's scaling
   policies; AWS deletes them with it ("Deregistering a scalable target deletes the scaling
   policies and the scheduled actions that are associated with it",
   https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DeregisterScalableTarget.html).
   A missing target or policy is ObjectNotFoundException in AWS (both APIs' Errors), a
   ValidationException in moto. moto also drops RegisterScalableTarget's `Tags` and has no
   TagResource, UntagResource or ListTagsForResource; here targets keep their tags.
9. EC2 Auto Scaling. moto 5.2.5 has no instance refreshes; here StartInstanceRefresh,
   DescribeInstanceRefreshes and CancelInstanceRefresh work as the API reference describes
   them (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html,
   https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-overview.html): a
   rolling replacement of the instances whose launch template version is not the group's
   (SkipMatching), one instance per REFRESH_STEP_SECONDS. While MaxHealthyPercentage leaves
   room above the desired capacity, a replacement is launched before an old instance is
   terminated; otherwise an old one is terminated first, one at a time (AWS replaces at least
   one at a time). Preferences are checked as AWS checks them. Pending, InProgress, then
   Successful; a second start while one runs answers InstanceRefreshInProgress. moto
   reports every instance at the template's default version; here each keeps the version it
   was launched from. An instance the group terminates is deregistered from its target groups
   ("Amazon EC2 Auto Scaling deregisters [it] from the target group before terminating",
   https://docs.aws.amazon.com/autoscaling/ec2/userguide/attach-load-balancer-asg.html); moto
   leaves it registered. moto drops `DefaultInstanceWarmup`; here the group keeps it. moto's
   CreateLaunchTemplateVersion keeps the user data unparsed, so launching from such a version
   answers a 500; here it is parsed as CreateLaunchTemplate parses it.
10. Lambda aliases and provisioned concurrency. moto 5.2.5 has no provisioned concurrency;
   here Put/Get/DeleteProvisionedConcurrencyConfig work on an alias or a published version,
   IN_PROGRESS for a moment and then READY, and moving an alias that has it to another
   version shifts as AWS does (see the section below). Permissions granted on an alias stay
   with the alias, as in AWS; moto files them under the alias's current version. Version
   numbers are never issued twice; moto reissues a deleted version's number.
11. DynamoDB conditional writes. moto evaluates a write's condition and then writes, on
   several server threads, so two racing conditional UpdateItems can both pass (a
   read-then-conditional-write counter loses an increment). In DynamoDB the condition and
   the write are one atomic step, which is what makes conditional writes safe "in cases
   where multiple users attempt to modify the same item"
   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate).
   Here PutItem, UpdateItem, DeleteItem, BatchWriteItem and TransactWriteItems run one at a
   time.
6. DescribeInstances' `client-token` filter ("The idempotency token you provided when you
   launched the instance", DescribeInstances in the EC2 API reference), which finds what a
   RunInstances whose answer was lost made. moto answers it with a 500 (NotImplementedError).

Strictness rules: AWS behaviours moto lacks, each on unless its variable is "0" (the tests
run with all of them on; switch one off to see what it catches):

- MOTO_STRICT_IAM_PROPAGATION: IAM is eventually consistent ("changes that you make are not
  always immediately visible", https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
  A role or instance profile used within IAM_PROPAGATION_SECONDS of its creation is refused
  once with the error AWS gives: Lambda CreateFunction "The role defined for the function
  cannot be assumed by Lambda." (terraform-provider-aws #14285, #44517), EC2 RunInstances
  "Value (...) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile
  name" (terraform-provider-aws #27516, #24281). The first ECS cluster of an account creates
  the ECS service-linked role, and the first CreateService right after it is refused once with
  "Unable to assume the service linked role. Please verify that the ECS service linked role
  exists." (awslabs/fargatecli #35; aws-samples/baseline-environment-on-aws #238).
- MOTO_STRICT_SG_CONSISTENCY: EC2 is eventually consistent ("the result of an API command
  ... might not be immediately visible to all subsequent commands",
  https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html). The first
  DescribeSecurityGroups / DescribeSecurityGroupRules (by group) within
  SG_CONSISTENCY_SECONDS of CreateSecurityGroup shows the group without its egress rules, so
  code that lists the default egress rule before revoking it finds nothing to revoke
  (terraform-provider-aws revokes the known default rule directly instead, see its
  resourceSecurityGroupCreate).
- MOTO_STRICT_DELETE_DEPENDENCIES: deletes that AWS refuses for a while after the thing that
  held them is gone. The network interfaces of a deleted load balancer drain for
  ENI_DRAIN_SECONDS, during which DeleteSubnet, DeleteSecurityGroup and DeleteVpc of its
  subnets, groups and VPC answer DependencyViolation (terraform-provider-aws #151 and #655,
  "ENI still attached to ELB"; #9495). DeleteTargetGroup right after the listener that
  forwarded to it is deleted answers ResourceInUse "Target group '...' is currently in use by
  a listener or a rule" (terraform-provider-aws #16889, #13294). DeleteCluster right after
  DeleteService answers ClusterContainsTasksException while the service's tasks stop
  (gruntwork-io/cloud-nuke #368).
- MOTO_STRICT_ALB_NEEDS_IGW: an internet-facing load balancer in a VPC with no internet
  gateway attached is refused: "InvalidSubnet: VPC vpc-... has no internet gateway"
  (terraform-provider-aws #3494, #4587; CloudFormation's DependsOn documentation shows the
  same ordering). Default VPCs come with an attached gateway
  (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html), which moto does not
  model, so they pass.
- MOTO_STRICT_LB_PROVISIONING: a new load balancer is `provisioning` for
  LB_PROVISIONING_SECONDS, then `active` (minutes in AWS: hashicorp/terraform #10386 and
  #11333, terraform-provider-aws #8054; moto turns it `active` at the first describe).
  Listeners, target groups and attributes are accepted while it provisions, as AWS accepts
  them (the AWS Load Balancer Controller creates listeners right after CreateLoadBalancer,
  kubernetes-sigs/aws-load-balancer-controller pkg/deploy/elbv2/load_balancer_manager.go).
- MOTO_STRICT_ECS_ROLLOUT: a new or updated ECS service does not run its tasks at once: for
  ECS_ROLLOUT_SECONDS, DescribeServices shows runningCount 0 and the deployment
  IN_PROGRESS, then COMPLETED with the desired count running (the `services-stable` waiter,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html).
- MOTO_STRICT_EC2_CONSISTENCY: beyond security groups, a DescribeVpcs, DescribeSubnets,
  DescribeInternetGateways, DescribeRouteTables or DescribeInstances that names a VPC, subnet,
  gateway, route table or instance created less than EC2_CONSISTENCY_SECONDS ago answers its
  `Invalid...ID.NotFound` once ("If you try to describe a resource immediately after you create
  it, you might get an error that the resource does not exist",
  https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html; Terraform retries
  NotFound after create for this, terraform-provider-aws internal/tfresource RetryWhenNotFound).
- MOTO_STRICT_IDEMPOTENCY: AWS's own idempotency where moto lacks it, so a retried create
  (its first answer lost) meets what AWS would give. RunInstances with a ClientToken already
  used returns the same reservation ("If you repeat the request with the same client token,
  the same response is returned", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html;
  moto stores the token and ignores it). CreateTargetGroup, CreateLoadBalancer and
  CreateListener with the settings of an existing one return it ("This operation is
  idempotent ... If you attempt to create multiple target groups with the same settings, each
  call succeeds", the ELBv2 API reference of each); other settings under the same name (port
  for listeners) answer DuplicateTargetGroupName / DuplicateLoadBalancerName /
  DuplicateListener. moto refuses the same target group and listener, and makes a second load
  balancer of the same name. CreateVpcEndpoint and EFS CreateAccessPoint with a ClientToken
  already used return what it made (EFS's API reference: "a string of up to 64 ASCII
  characters that Amazon EFS uses to ensure idempotent creation"); moto makes another.
- MOTO_STRICT_LAMBDA_VPC_ENIS: a function with a VpcConfig gets one Lambda network interface
  per subnet ("AWS Lambda VPC ENI-<function>-...", interface type `lambda`, in use), as
  Lambda's Hyperplane does (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
  Deleting the function, or moving it to other subnets or groups, releases them only
  LAMBDA_ENI_RELEASE_SECONDS later (AWS: up to ~45 minutes, terraform-provider-aws #10329,
  #10347), and then they stay, detached (`available`), until someone deletes them. While one
  is in a subnet or group, DeleteSubnet and DeleteSecurityGroup answer DependencyViolation;
  DeleteNetworkInterface of one still in use answers "is currently in use".
- MOTO_STRICT_TARGET_HEALTH: a new target is `initial` (Elb.RegistrationInProgress) for
  TARGET_INITIAL_SECONDS before moto's own answer, as AWS's is until the health checks have
  passed (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
  moto runs no health check: after the window its answer, `healthy`, says only that the
  target is registered.
- MOTO_STRICT_NAT_GATEWAY: a NAT gateway is `pending` for NAT_PENDING_SECONDS and `deleting`
  for NAT_DELETING_SECONDS (pending → available, deleting → deleted,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NatGateway.html; a minute or two
  each in AWS). One created in a VPC with no internet gateway attached goes to `failed`,
  "Gateway.NotAttached: Network vpc-... has no Internet gateway attached" (the API
  reference's failureMessage; giantswarm/aws-operator #1234). Until it is `deleted`, its
  Elastic IP cannot be released: "AuthFailure: You do not have permission to access the
  specified resource." (terraform-provider-aws #11385, #13763), and the VPC's internet gateway
  cannot be detached: "DependencyViolation: Network vpc-... has some mapped public
  address(es). Please unmap those public address(es) before detaching the gateway."
  (hashicorp/terraform #497, #1303). With MOTO_STRICT_IDEMPOTENCY, CreateNatGateway with a
  ClientToken already used returns that gateway (moto ignores the token).
- MOTO_STRICT_ASG_DELETE: DeleteAutoScalingGroup (ForceDelete) answers at once, and the
  group is listed with Status "Delete in progress" and its instances running for
  ASG_DELETE_SECONDS, then gone ("the Auto Scaling group ... is deleted after all instances
  are terminated", https://docs.aws.amazon.com/autoscaling/ec2/userguide/delete-auto-scaling-group.html);
  moto deletes it within the call. A client that does not wait meets its instances still
  in the security group and subnet.
- MOTO_STRICT_DYNAMODB_STATUS: a new table is CREATING for DYNAMODB_CREATING_SECONDS and a
  deleted one DELETING for DYNAMODB_DELETING_SECONDS, as DynamoDB answers ("CreateTable is an
  asynchronous operation ... DynamoDB immediately returns a response with a TableStatus of
  CREATING"; "the specified table is in the DELETING state until DynamoDB completes the
  deletion": https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html,
  API_DeleteTable.html). moto makes tables ACTIVE at once and forgets them on delete. While
  DELETING, the name cannot be taken again (ResourceInUseException).
- MOTO_STRICT_LAMBDA_CONCURRENCY: an account's concurrency quota, 1000 by default, of which
  Lambda keeps 100 unreserved: a PutFunctionConcurrency that would leave less answers
  "Specified ReservedConcurrentExecutions for function decreases account's
  UnreservedConcurrentExecution below its minimum value of [100]."
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html, "Lambda
  reserves 100 units of concurrency for all functions that don't explicitly reserve
  concurrency"). moto checks it only when MOTO_LAMBDA_CONCURRENCY_QUOTA is set; this rule
  sets it to the default quota unless it is.
- MOTO_STRICT_LAMBDA_TARGET_PERMISSION: RegisterTargets on a Lambda target group refuses a
  function (or alias) whose resource policy does not let elasticloadbalancing.amazonaws.com
  invoke it from that target group, with ELB's AccessDenied (aws-cdk #4663, ansible #52253).
- MOTO_STRICT_ACM: DNS validation as ACM does it. For ACM_RECORD_SECONDS after
  RequestCertificate, DescribeCertificate lists the domain without its validation
  ResourceRecord (terraform-provider-aws #9596, #9627). The certificate stays
  PENDING_VALIDATION until that CNAME exists in a Route 53 hosted zone of the account
  (https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html; moto issues every
  certificate after a fixed wait, record or not). CreateListener / ModifyListener with a
  certificate that is not ISSUED answer "UnsupportedCertificate: The certificate '...' must
  have a fully-qualified domain name, a supported signature, and a supported key size."
  (terraform-provider-aws #26245, #41789). DeleteCertificate while a listener uses the
  certificate, and for ACM_IN_USE_SECONDS after that listener is deleted, answers
  "ResourceInUseException: Certificate ... in account ... is in use." (terraform-provider-aws
  #3866, which retries for 20 minutes; aws-cdk #4179).
"""

import copy
import datetime
import ipaddress
import json
import os
import threading
import time
import uuid
from urllib.parse import unquote

import moto.ec2.responses.instances as ec2_instance_responses
import moto.ec2.utils as ec2_utils
from moto.core.responses import ActionResult
import moto.awslambda.urls as lambda_urls
from moto.awslambda.exceptions import (
    GenericResourcNotFound,
    InvalidParameterValueException,
    LambdaClientError,
    UnknownAliasException,
    UnknownFunctionException,
    UnknownPolicyException,
)
from moto.awslambda.policy import Policy as LambdaPolicy
from moto.awslambda.responses import LambdaResponse
from moto.acm.models import CertBundle, AWSCertificateManagerBackend, acm_backends
from moto.awslambda.models import LambdaBackend, LambdaFunction, LambdaStorage, lambda_backends
from moto.core.exceptions import AWSError, JsonRESTError
from moto.applicationautoscaling.models import (
    ApplicationAutoscalingBackend,
    applicationautoscaling_backends,
)
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.autoscaling.exceptions import AutoscalingClientError
from moto.autoscaling.models import (
    AutoScalingBackend,
    FakeAutoScalingGroup,
    InstanceState,
    autoscaling_backends,
)
from moto.autoscaling.responses import AutoScalingResponse
from moto.ec2.exceptions import (
    DependencyViolationError,
    EC2ClientError,
    InvalidInstanceIdError,
    InvalidInternetGatewayIdError,
    InvalidRouteTableIdError,
    InvalidSubnetIdError,
    InvalidVPCIdError,
)
from moto.dynamodb.exceptions import ResourceInUseException as DynamoResourceInUse
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table as DynamoTable
from moto.dynamodb.responses import DynamoHandler
from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend
from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.models.launch_templates import LaunchTemplate
from moto.ec2.models.internet_gateways import InternetGatewayBackend
from moto.ec2.models.nat_gateways import NatGatewayBackend
from moto.ec2.models.route_tables import RouteBackend
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.ec2.models.subnets import SubnetBackend
from moto.ec2.models.vpcs import VPCBackend
from moto.ec2.responses.elastic_network_interfaces import (
    ElasticNetworkInterfaces as ENIResponse,
)
from moto.ec2.responses.instances import InstanceResponse
from moto.ec2.responses.internet_gateways import InternetGateways as InternetGatewayResponse
from moto.ec2.responses.nat_gateways import NatGateways as NatGatewayResponse
from moto.ec2.responses.route_tables import RouteTables as RouteTableResponse
from moto.ec2.responses.security_groups import SecurityGroups as SecurityGroupResponse
from moto.ec2.responses.subnets import Subnets as SubnetResponse
from moto.ec2.responses.vpcs import VPCs as VPCResponse
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.efs.responses import EFSResponse
from moto.elbv2.exceptions import (
    DuplicateListenerError,
    DuplicateLoadBalancerName,
    DuplicateTargetGroupName,
    ELBClientError,
    InvalidTargetError,
    ResourceInUseError,
)
from moto.elbv2.models import (
    ELBv2Backend,
    FakeHealthStatus,
    FakeLoadBalancer,
    FakeTargetGroup,
)
from moto.elbv2.responses import ELBV2Response
from moto.elbv2.models import elbv2_backends
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.iam.models import IAMBackend
from moto.route53.models import route53_backends
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

def _one_at_a_time(lock, released):
    def serialized(self, *args, **kwargs):
        with lock:
            return released(self, *args, **kwargs)

    return serialized


_s3_writes = threading.Lock()
S3Response.put_object = _one_at_a_time(_s3_writes, S3Response.put_object)
S3Response.delete_object = _one_at_a_time(_s3_writes, S3Response.delete_object)

_dynamodb_writes = threading.Lock()
for _write in (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
):
    _released = getattr(DynamoHandler, _write)
    setattr(DynamoHandler, _write, _one_at_a_time(_dynamodb_writes, _released))

ec2_utils.filter_dict_attribute_mapping["client-token"] = "client_token"


# Strictness rules (see the module docstring).


def _strict(rule):
    """Whether the strictness rule MOTO_STRICT_<rule> is on (it is unless set to "0")."""
    return os.environ.get(f"MOTO_STRICT_{rule}", "1") != "0"


class _Clock:
    """When things happened, for rules that hold for a few seconds after an event; each rule
    may fire once per key (AWS converges, and a retry then succeeds)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._at = {}
        self._fired = set()

    def mark(self, key):
        with self._lock:
            self._at[key] = time.monotonic()

    def mark_first(self, key):
        with self._lock:
            self._at.setdefault(key, time.monotonic())

    def within(self, key, seconds):
        with self._lock:
            at = self._at.get(key)
            return at is not None and time.monotonic() - at < seconds

    def fire_once(self, key, seconds):
        """True the first time `key` is asked about within `seconds` of its mark."""
        with self._lock:
            at = self._at.get(key)
            if at is None or key in self._fired or time.monotonic() - at >= seconds:
                return False
            self._fired.add(key)
            return True


_clock = _Clock()


def _marked(released, kind, key):
    """`released`, a create, with the time of each creation noted under (kind, key(made))."""

    def create(self, *args, **kwargs):
        made = released(self, *args, **kwargs)
        _clock.mark((kind, key(made)))
        return made

    return create


# MOTO_STRICT_IAM_PROPAGATION. Propagation usually takes seconds; a role or instance profile
# used this soon after its creation is refused once.
IAM_PROPAGATION_SECONDS = 30


def _propagating(arn):
    return _strict("IAM_PROPAGATION") and _clock.fire_once(
        ("iam", arn), IAM_PROPAGATION_SECONDS
    )


_released_create_function = LambdaBackend.create_function


def _create_function(self, spec):
    if _propagating(spec.get("Role")):
        raise InvalidParameterValueException(
            "The role defined for the function cannot be assumed by Lambda."
        )
    return _released_create_function(self, spec)


_released_filter_profiles = ec2_instance_responses.filter_iam_instance_profiles


def _filter_iam_instance_profiles(
    account_id, partition, iam_instance_profile_arn, iam_instance_profile_name
):
    profile = _released_filter_profiles(
        account_id,
        partition=partition,
        iam_instance_profile_arn=iam_instance_profile_arn,
        iam_instance_profile_name=iam_instance_profile_name,
    )
    if profile is not None and _propagating(profile.arn):
        if iam_instance_profile_arn:
            value, parameter, what = iam_instance_profile_arn, "arn", "ARN"
        else:
            value, parameter, what = iam_instance_profile_name, "name", "name"
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value ({value}) for parameter iamInstanceProfile.{parameter} is invalid. "
            f"Invalid IAM Instance Profile {what}",
        )
    return profile


_released_create_cluster = EC2ContainerServiceBackend.create_cluster
_released_create_service_backend = EC2ContainerServiceBackend.create_service


def _create_cluster(self, *args, **kwargs):
    # The account's first cluster creates the ECS service-linked role.
    _clock.mark_first(("iam", f"ecs-service-linked-role/{self.account_id}"))
    return _released_create_cluster(self, *args, **kwargs)


def _create_service_backend(self, *args, **kwargs):
    if _propagating(f"ecs-service-linked-role/{self.account_id}"):
        raise InvalidParameterException(
            "Unable to assume the service linked role. "
            "Please verify that the ECS service linked role exists."
        )
    service = _released_create_service_backend(self, *args, **kwargs)
    # 3. AWS starts the desired count; moto starts MOTO_ECS_SERVICE_RUNNING tasks whatever was
    # asked, so a service of two never completes its rollout. (The rollout rule still shows
    # them starting for a while.)
    service.running_count, service.pending_count = service.desired_count, 0
    for d in service.deployments:
        d.update(
            runningCount=service.desired_count,
            pendingCount=0,
            rolloutState="COMPLETED",
            rolloutStateReason=f"ECS deployment {d['id']} completed.",
        )
    return service


IAMBackend.create_role = _marked(IAMBackend.create_role, "iam", lambda r: r.arn)
IAMBackend.create_instance_profile = _marked(
    IAMBackend.create_instance_profile, "iam", lambda p: p.arn
)
LambdaBackend.create_function = _create_function
ec2_instance_responses.filter_iam_instance_profiles = _filter_iam_instance_profiles
EC2ContainerServiceBackend.create_cluster = _create_cluster
EC2ContainerServiceBackend.create_service = _create_service_backend


# MOTO_STRICT_SG_CONSISTENCY. A second is usual; a describe this soon after the create may
# lag once.
SG_CONSISTENCY_SECONDS = 2

_released_describe_security_groups = SecurityGroupResponse.describe_security_groups
_released_describe_security_group_rules = (
    SecurityGroupResponse.describe_security_group_rules
)


def _lagging(group_id):
    return _strict("SG_CONSISTENCY") and _clock.fire_once(
        ("sg", group_id), SG_CONSISTENCY_SECONDS
    )


def _describe_security_groups(self):
    result = _released_describe_security_groups(self)
    shown = []
    for group in result.result["SecurityGroups"]:
        if _lagging(group.id):
            group = copy.copy(group)
            group.egress_rules = []
        shown.append(group)
    result.result["SecurityGroups"] = shown
    return result


def _describe_security_group_rules(self):
    result = _released_describe_security_group_rules(self)
    if self._get_param("SecurityGroupRuleIds"):
        return result
    rules = result.result["SecurityGroupRules"]
    lagging = {r.group_id for r in rules if _lagging(r.group_id)}
    result.result["SecurityGroupRules"] = [
        r for r in rules if not (r.is_egress and r.group_id in lagging)
    ]
    return result


SecurityGroupBackend.create_security_group = _marked(
    SecurityGroupBackend.create_security_group, "sg", lambda g: g.id
)
SecurityGroupResponse.describe_security_groups = _describe_security_groups
SecurityGroupResponse.describe_security_group_rules = _describe_security_group_rules


# MOTO_STRICT_DELETE_DEPENDENCIES. AWS takes seconds to minutes; these hold long enough to
# meet a delete that does not retry, short enough to keep the test suite quick.
ENI_DRAIN_SECONDS = 5
TG_IN_USE_SECONDS = 5
ECS_TASKS_STOP_SECONDS = 5


def _held(kind, key, seconds):
    return _strict("DELETE_DEPENDENCIES") and _clock.within((kind, key), seconds)


_released_delete_load_balancer = ELBv2Backend.delete_load_balancer
_released_delete_listener = ELBv2Backend.delete_listener
_released_delete_target_group = ELBv2Backend.delete_target_group


def _delete_load_balancer(self, arn):
    lb = self.load_balancers.get(arn)
    if lb is not None:
        for key in [lb.vpc_id, *lb.security_groups, *(s.id for s in lb.subnets)]:
            _clock.mark(("eni", key))
        for listener in lb.listeners.values():
            _certificates_released(listener)
    return _released_delete_load_balancer(self, arn)


def _delete_listener(self, listener_arn):
    for lb in self.load_balancers.values():
        listener = lb.listeners.get(listener_arn)
        if listener:
            _certificates_released(listener)
        for rule in listener.rules.values() if listener else []:
            for action in rule.actions:
                for tg in self._get_target_group_arns_from(action_data=action.data):
                    _clock.mark(("tg", tg))
    return _released_delete_listener(self, listener_arn)


def _delete_target_group(self, target_group_arn):
    if _held("tg", target_group_arn, TG_IN_USE_SECONDS):
        raise ResourceInUseError(
            f"Target group '{target_group_arn}' is currently in use by a listener or a rule"
        )
    return _released_delete_target_group(self, target_group_arn)


def _deleted_id(args, kwargs):
    """The id a DeleteSubnet / DeleteSecurityGroup / DeleteVpc backend call deletes."""
    key = kwargs.get("group_id") or kwargs.get("subnet_id") or kwargs.get("vpc_id")
    return key or (args[0] if args else None)


def _refuse_while_draining(released, message):
    def delete(self, *args, **kwargs):
        key = _deleted_id(args, kwargs)
        if _held("eni", key, ENI_DRAIN_SECONDS):
            raise DependencyViolationError(message.format(key))
        return released(self, *args, **kwargs)

    return delete


ELBv2Backend.delete_load_balancer = _delete_load_balancer
ELBv2Backend.delete_listener = _delete_listener
ELBv2Backend.delete_target_group = _delete_target_group
SubnetBackend.delete_subnet = _refuse_while_draining(
    SubnetBackend.delete_subnet,
    "The subnet '{}' has dependencies and cannot be deleted.",
)
SecurityGroupBackend.delete_security_group = _refuse_while_draining(
    SecurityGroupBackend.delete_security_group, "resource {} has a dependent object"
)
VPCBackend.delete_vpc = _refuse_while_draining(
    VPCBackend.delete_vpc, "The vpc '{}' has dependencies and cannot be deleted."
)

_released_delete_service = EC2ContainerServiceBackend.delete_service
_released_delete_cluster = EC2ContainerServiceBackend.delete_cluster


def _delete_service(self, cluster_name, service_name, force):
    service = _released_delete_service(self, cluster_name, service_name, force)
    _clock.mark(("ecs-tasks", service.cluster_arn))
    return service


def _delete_cluster(self, cluster_str):
    cluster = self._get_cluster(cluster_str)
    if _held("ecs-tasks", cluster.arn, ECS_TASKS_STOP_SECONDS):
        raise ECSException(
            "ClusterContainsTasksException",
            "The Cluster cannot be deleted while Tasks are active.",
        )
    return _released_delete_cluster(self, cluster_str)


EC2ContainerServiceBackend.delete_service = _delete_service
EC2ContainerServiceBackend.delete_cluster = _delete_cluster


# MOTO_STRICT_ALB_NEEDS_IGW.
_released_create_load_balancer = ELBv2Backend.create_load_balancer


def _create_load_balancer(self, *args, **kwargs):
    scheme = kwargs.get("scheme") or "internet-facing"
    subnet_ids = list(kwargs.get("subnet_ids") or [])
    subnet_ids += [m["SubnetId"] for m in kwargs.get("subnet_mappings") or []]
    if _strict("ALB_NEEDS_IGW") and scheme == "internet-facing" and subnet_ids:
        subnet = self.ec2_backend.get_subnet(subnet_ids[0])
        vpc = self.ec2_backend.get_vpc(subnet.vpc_id)
        gateways = self.ec2_backend.describe_internet_gateways(
            filters={"attachment.vpc-id": [vpc.id]}
        )
        if not vpc.is_default and not gateways:
            raise ELBClientError(
                "InvalidSubnet", f"VPC {vpc.id} has no internet gateway"
            )
    return _released_create_load_balancer(self, *args, **kwargs)


ELBv2Backend.create_load_balancer = _create_load_balancer


# MOTO_STRICT_LB_PROVISIONING. AWS takes minutes; a few seconds meet a client that waits
# for `active` where nothing needs it.
LB_PROVISIONING_SECONDS = 3


_released_activate = FakeLoadBalancer.activate


def _activate(self):
    """moto's step from `provisioning` to `active`, taken at a describe."""
    if not (
        _strict("LB_PROVISIONING")
        and _clock.within(("lb", self.arn), LB_PROVISIONING_SECONDS)
    ):
        _released_activate(self)


FakeLoadBalancer.activate = _activate
ELBv2Backend.create_load_balancer = _marked(
    ELBv2Backend.create_load_balancer, "lb", lambda lb: lb.arn
)


# MOTO_STRICT_ECS_ROLLOUT. Real tasks take a minute or more to start; a few seconds meet a
# client that returns at ACTIVE.
ECS_ROLLOUT_SECONDS = 3

_released_describe_services = EC2ContainerServiceBackend.describe_services


def _rolling_out(service):
    """The service as DescribeServices shows it while its tasks are still starting."""
    shown = copy.copy(service)
    shown.running_count = 0
    shown.pending_count = service.desired_count
    shown.deployments = [
        dict(
            d,
            rolloutState="IN_PROGRESS",
            runningCount=0,
            pendingCount=service.desired_count,
        )
        for d in service.deployments
    ]
    return shown


def _describe_services(self, cluster_str, service_names_or_arns):
    services, failures = _released_describe_services(
        self, cluster_str, service_names_or_arns
    )
    if _strict("ECS_ROLLOUT"):
        services = [
            _rolling_out(s)
            if s.status == "ACTIVE"
            and _clock.within(("rollout", s.arn), ECS_ROLLOUT_SECONDS)
            else s
            for s in services
        ]
    return services, failures


EC2ContainerServiceBackend.create_service = _marked(
    EC2ContainerServiceBackend.create_service, "rollout", lambda s: s.arn
)
EC2ContainerServiceBackend.update_service = _marked(
    EC2ContainerServiceBackend.update_service, "rollout", lambda s: s.arn
)
EC2ContainerServiceBackend.describe_services = _describe_services


# MOTO_STRICT_EC2_CONSISTENCY. As for security groups: a describe this soon after the create
# may miss it once.
EC2_CONSISTENCY_SECONDS = 2


def _not_yet_visible(released, param, error):
    """`released`, a Describe*, answering `error` once for a named id created moments ago."""

    def describe(self):
        if _strict("EC2_CONSISTENCY"):
            for key in self._get_param(param, []) or []:
                if _clock.fire_once(("ec2", key), EC2_CONSISTENCY_SECONDS):
                    raise error(key)
        return released(self)

    return describe


for backend, create, key in (
    (VPCBackend, "create_vpc", lambda v: v.id),
    (SubnetBackend, "create_subnet", lambda s: s.id),
    (InternetGatewayBackend, "create_internet_gateway", lambda g: g.id),
    (RouteBackend, "create_route_table", lambda t: t.id),
):
    setattr(backend, create, _marked(getattr(backend, create), "ec2", key))

_released_backend_run_instances = InstanceBackend.run_instances


def _run_instances_marked(self, *args, **kwargs):
    reservation = _released_backend_run_instances(self, *args, **kwargs)
    for instance in reservation.instances:
        _clock.mark(("ec2", instance.id))
    return reservation


InstanceBackend.run_instances = _run_instances_marked
for response, describe, param, error in (
    (VPCResponse, "describe_vpcs", "VpcIds", InvalidVPCIdError),
    (SubnetResponse, "describe_subnets", "SubnetIds", InvalidSubnetIdError),
    (
        InternetGatewayResponse,
        "describe_internet_gateways",
        "InternetGatewayIds",
        InvalidInternetGatewayIdError,
    ),
    (RouteTableResponse, "describe_route_tables", "RouteTableIds", InvalidRouteTableIdError),
    (InstanceResponse, "describe_instances", "InstanceIds", InvalidInstanceIdError),
):
    setattr(response, describe, _not_yet_visible(getattr(response, describe), param, error))


# MOTO_STRICT_IDEMPOTENCY. Check and create run under one lock, as AWS decides a token once.
_idempotent = threading.Lock()
def _same_token_returns_existing(released, find, answer):
    """`released`, a create taking a ClientToken: a token already used gets the answer for
    what `find(self, token)` finds instead of a second one."""

    def create(self):
        token = self._get_param("ClientToken")
        if not (token and _strict("IDEMPOTENCY")):
            return released(self)
        with _idempotent:
            found = find(self, token)
            return released(self) if found is None else answer(found)

    return create


def _reservation_with_token(self, token):
    reservations = self.ec2_backend.reservations.values()
    return next((r for r in reservations if any(i.client_token == token for i in r.instances)), None)


def _endpoint_with_token(self, token):
    endpoints = self.ec2_backend.vpc_end_points.values()
    return next((e for e in endpoints if e.client_token == token and e.state != "deleted"), None)


def _access_point_with_token(self, token):
    points = self.efs_backend.access_points.values()
    return next((a for a in points if a.client_token == token), None)


_created_with = {}


def _settings(params):
    """A create request's settings, as compared for idempotency (tags are not settings)."""
    return repr(sorted((k, repr(v)) for k, v in params.items() if k not in ("Tags", "Action", "Version")))


def _same_settings_returns_existing(released, listed_as, existing, duplicate):
    """`released`, an ELBv2 create answering `{listed_as: [made]}`: when `existing(self,
    params)` finds one of the same name (port), it is returned if it was made with the same
    settings, and `duplicate` is raised if not."""

    def create(self):
        if not _strict("IDEMPOTENCY"):
            return released(self)
        params = self._get_params()
        # Taken before the create, which changes the parsed actions in place.
        settings = _settings(params)
        with _idempotent:
            found = existing(self, params)
            if found is not None:
                if _created_with.get(found.arn) == settings:
                    return ActionResult({listed_as: [found]})
                raise duplicate()
            result = released(self)
            _created_with[result.result[listed_as][0].arn] = settings
            return result

    return create


def _existing_target_group(self, params):
    return next(
        (t for t in self.elbv2_backend.target_groups.values() if t.name == params.get("Name")),
        None,
    )


def _existing_load_balancer(self, params):
    return next(
        (b for b in self.elbv2_backend.load_balancers.values() if b.name == params.get("Name")),
        None,
    )


def _existing_listener(self, params):
    lb = self.elbv2_backend.load_balancers.get(params.get("LoadBalancerArn"))
    listeners = lb.listeners.values() if lb else []
    return next((x for x in listeners if str(x.port) == str(params.get("Port"))), None)


InstanceResponse.run_instances = _same_token_returns_existing(
    InstanceResponse.run_instances, _reservation_with_token, ActionResult
)
VPCResponse.create_vpc_endpoint = _same_token_returns_existing(
    VPCResponse.create_vpc_endpoint,
    _endpoint_with_token,
    lambda e: ActionResult({"VpcEndpoint": e}),
)
EFSResponse.create_access_point = _same_token_returns_existing(
    EFSResponse.create_access_point,
    _access_point_with_token,
    lambda a: (json.dumps(a.info_json()), {"Content-Type": "application/json"}),
)
ELBV2Response.create_target_group = _same_settings_returns_existing(
    ELBV2Response.create_target_group,
    "TargetGroups",
    _existing_target_group,
    DuplicateTargetGroupName,
)
ELBV2Response.create_load_balancer = _same_settings_returns_existing(
    ELBV2Response.create_load_balancer,
    "LoadBalancers",
    _existing_load_balancer,
    DuplicateLoadBalancerName,
)
ELBV2Response.create_listener = _same_settings_returns_existing(
    ELBV2Response.create_listener,
    "Listeners",
    _existing_listener,
    DuplicateListenerError,
)


# MOTO_STRICT_LAMBDA_VPC_ENIS. Minutes in AWS; long enough here that a destroy meets them in
# use.
LAMBDA_ENI_RELEASE_SECONDS = 5

# eni id -> (function name, release time or None while in use)
_lambda_enis = {}
_lambda_enis_lock = threading.Lock()


def _ec2_of(backend):
    from moto.ec2.models import ec2_backends

    return ec2_backends[backend.account_id][backend.region_name]


def _settle_lambda_enis(ec2):
    """Released interfaces whose time has come turn `available`."""
    now = time.monotonic()
    with _lambda_enis_lock:
        for eni_id, (_, released) in list(_lambda_enis.items()):
            eni = ec2.enis.get(eni_id)
            if eni is None:
                del _lambda_enis[eni_id]
            elif released is not None and now >= released:
                eni.status = "available"


def _release_lambda_enis(function):
    """Releases all of `function`'s interfaces."""
    with _lambda_enis_lock:
        for eni_id, (name, released) in list(_lambda_enis.items()):
            if name == function and released is None:
                _lambda_enis[eni_id] = (name, time.monotonic() + LAMBDA_ENI_RELEASE_SECONDS)


def _attach_lambda_enis(backend, function, vpc_config):
    ec2 = _ec2_of(backend)
    groups = sorted((vpc_config or {}).get("SecurityGroupIds") or [])
    with _lambda_enis_lock:
        have = {
            (ec2.enis[e].subnet.id, tuple(sorted(g.id for g in ec2.enis[e]._group_set)))
            for e, (name, released) in _lambda_enis.items()
            if name == function and released is None and e in ec2.enis
        }
    for subnet in (vpc_config or {}).get("SubnetIds") or []:
        if (subnet, tuple(groups)) in have:
            continue
        eni = ec2.create_network_interface(
            subnet,
            None,
            group_ids=groups,
            description=f"AWS Lambda VPC ENI-{function}-{uuid.uuid4()}",
        )
        eni.interface_type = "lambda"
        eni.requester_managed = True
        eni.status = "in-use"
        with _lambda_enis_lock:
            _lambda_enis[eni.id] = (function, None)


def _lambda_vpc_config_changed(backend, function, vpc_config):
    """The function now runs in `vpc_config`: interfaces of other places are released."""
    ec2 = _ec2_of(backend)
    place = (
        set((vpc_config or {}).get("SubnetIds") or []),
        sorted((vpc_config or {}).get("SecurityGroupIds") or []),
    )
    now = time.monotonic()
    with _lambda_enis_lock:
        for eni_id, (name, released) in list(_lambda_enis.items()):
            eni = ec2.enis.get(eni_id)
            if name != function or released is not None or eni is None:
                continue
            groups = sorted(g.id for g in eni._group_set)
            if eni.subnet.id not in place[0] or groups != place[1]:
                _lambda_enis[eni_id] = (name, now + LAMBDA_ENI_RELEASE_SECONDS)
    _attach_lambda_enis(backend, function, vpc_config)


_released_lambda_create = LambdaBackend.create_function
_released_lambda_delete = LambdaBackend.delete_function
_released_lambda_update_configuration = LambdaBackend.update_function_configuration


def _create_function_with_enis(self, spec):
    fn = _released_lambda_create(self, spec)
    if _strict("LAMBDA_VPC_ENIS"):
        _attach_lambda_enis(self, fn.function_name, spec.get("VpcConfig"))
    return fn


def _delete_function_releasing_enis(self, function_name, qualifier=None):
    fn = self.get_function(function_name)
    _released_lambda_delete(self, function_name, qualifier)
    if _strict("LAMBDA_VPC_ENIS") and not qualifier:
        _release_lambda_enis(fn.function_name)


def _update_configuration_moving_enis(self, function_name, qualifier, body):
    result = _released_lambda_update_configuration(self, function_name, qualifier, body)
    if _strict("LAMBDA_VPC_ENIS") and "VpcConfig" in body:
        fn = self.get_function(function_name)
        _lambda_vpc_config_changed(self, fn.function_name, body["VpcConfig"])
    return result


def _held_by_lambda_enis(ec2, subnet=None, group=None):
    _settle_lambda_enis(ec2)
    with _lambda_enis_lock:
        ids = list(_lambda_enis)
    for eni_id in ids:
        eni = ec2.enis.get(eni_id)
        if eni is None:
            continue
        if subnet and eni.subnet.id == subnet:
            return eni_id
        if group and group in [g.id for g in eni._group_set]:
            return eni_id
    return None


def _refuse_while_lambda_enis(released, holder, message):
    def delete(self, *args, **kwargs):
        key = _deleted_id(args, kwargs)
        if _strict("LAMBDA_VPC_ENIS"):
            subnet, group = (key, None) if holder == "subnet_id" else (None, key)
            eni = _held_by_lambda_enis(self, subnet=subnet, group=group)
            if eni:
                raise DependencyViolationError(message.format(key, eni))
        return released(self, *args, **kwargs)

    return delete


_released_delete_eni = NetworkInterfaceBackend.delete_network_interface
_released_describe_enis = ENIResponse.describe_network_interfaces


def _delete_network_interface(self, eni_id):
    if _strict("LAMBDA_VPC_ENIS"):
        _settle_lambda_enis(self)
        eni = self.enis.get(eni_id)
        if eni is not None and eni_id in _lambda_enis and eni.status == "in-use":
            raise EC2ClientError(
                "InvalidParameterValue", f"Network interface '{eni_id}' is currently in use."
            )
    return _released_delete_eni(self, eni_id)


def _describe_network_interfaces(self):
    _settle_lambda_enis(self.ec2_backend)
    return _released_describe_enis(self)


LambdaBackend.create_function = _create_function_with_enis
LambdaBackend.delete_function = _delete_function_releasing_enis
LambdaBackend.update_function_configuration = _update_configuration_moving_enis
SubnetBackend.delete_subnet = _refuse_while_lambda_enis(
    SubnetBackend.delete_subnet,
    "subnet_id",
    "The subnet '{}' has dependencies and cannot be deleted ({} in use by Lambda).",
)
SecurityGroupBackend.delete_security_group = _refuse_while_lambda_enis(
    SecurityGroupBackend.delete_security_group,
    "group_id",
    "resource {} has a dependent object ({}, a Lambda network interface)",
)
NetworkInterfaceBackend.delete_network_interface = _delete_network_interface
ENIResponse.describe_network_interfaces = _describe_network_interfaces


# MOTO_STRICT_TARGET_HEALTH. AWS needs its healthy threshold of checks (2 x 15 s and more);
# a few seconds meet a client that does not wait.
TARGET_INITIAL_SECONDS = 3

_released_register = FakeTargetGroup.register
_released_health_for = FakeTargetGroup.health_for


def _register_noting_time(self, targets):
    # Registering a registered target again changes nothing in AWS, its health included.
    new = [t["Id"] for t in targets if t["Id"] not in self.targets]
    _released_register(self, targets)
    for target in new:
        _clock.mark(("target", self.arn, target))


def _health_for(self, target, ec2_backend):
    health = _released_health_for(self, target, ec2_backend)
    if (
        _strict("TARGET_HEALTH")
        and health.status == "healthy"
        and _clock.within(("target", self.arn, target["Id"]), TARGET_INITIAL_SECONDS)
    ):
        return FakeHealthStatus(
            target["Id"],
            health.port,
            self.health_check_port,
            "initial",
            "Elb.RegistrationInProgress",
            "Target registration is in progress",
        )
    return health


# ECS registers a service's running tasks in its target groups (item 3 above).
def _task_addresses(ec2, service):
    """One address per running task in the service's first subnet."""
    subnets = (service.network_configuration or {}).get("awsvpcConfiguration", {}).get("subnets")
    if not subnets:
        return []
    network = ipaddress.ip_network(ec2.get_subnet(subnets[0]).cidr_block)
    return [str(network.network_address + 100 + i) for i in range(service.running_count)]


def _service_targets(backend, service, register, load_balancers=None):
    from moto.elbv2.models import elbv2_backends

    elb = elbv2_backends[backend.account_id][backend.region_name]
    addresses = _task_addresses(_ec2_of(backend), service)
    for lb in (service.load_balancers if load_balancers is None else load_balancers) or []:
        group = elb.target_groups.get(lb.get("targetGroupArn"))
        if group is None or not addresses:
            continue
        targets = [{"Id": a, "Port": lb.get("containerPort")} for a in addresses]
        (group.register if register else group.deregister)(targets)


_released_create_service_targets = EC2ContainerServiceBackend.create_service
_released_delete_service_targets = EC2ContainerServiceBackend.delete_service
_released_update_service_targets = EC2ContainerServiceBackend.update_service


def _create_service_registering(self, *args, **kwargs):
    service = _released_create_service_targets(self, *args, **kwargs)
    _service_targets(self, service, register=True)
    return service


def _update_service_moving_targets(self, service_properties):
    """A new load balancer: ECS's deployment registers its tasks in the new target group and
    deregisters the old tasks from the old one as they stop (moto moves nothing)."""
    cluster = service_properties.get("cluster", "default")
    before = self._get_service(cluster, service_properties["service"].split("/")[-1])
    old = copy.deepcopy(before.load_balancers or [])
    service = _released_update_service_targets(self, service_properties)
    if (service.load_balancers or []) != old:
        _service_targets(self, service, register=True)
        try:
            _service_targets(self, service, register=False, load_balancers=old)
        except InvalidTargetError:
            pass
    return service


def _delete_service_deregistering(self, cluster_name, service_name, force):
    service = self._get_service(cluster_name, service_name)
    _service_targets(self, service, register=False)
    return _released_delete_service_targets(self, cluster_name, service_name, force)


FakeTargetGroup.register = _register_noting_time
FakeTargetGroup.health_for = _health_for
EC2ContainerServiceBackend.create_service = _create_service_registering
EC2ContainerServiceBackend.delete_service = _delete_service_deregistering
EC2ContainerServiceBackend.update_service = _update_service_moving_targets


# MOTO_STRICT_NAT_GATEWAY. Long enough that a create or delete that does not wait meets the
# transition, short enough for the test suite.
NAT_PENDING_SECONDS = 2
NAT_DELETING_SECONDS = 3
_nat_tokens = {}

_released_create_nat_gateway = NatGatewayBackend.create_nat_gateway
_released_delete_nat_gateway = NatGatewayBackend.delete_nat_gateway
_released_describe_nat_gateways = NatGatewayBackend.describe_nat_gateways
_released_release_address = ElasticAddressBackend.release_address
_released_detach_internet_gateway = InternetGatewayBackend.detach_internet_gateway
_released_create_nat_gateway_response = NatGatewayResponse.create_nat_gateway


def _settle_nat_gateways(ec2):
    """Moves each gateway on once its transition's time is up; a deleted one lets its address
    and interface go (fix 7)."""
    for nat in list(ec2.nat_gateways.values()):
        if nat.state == "pending" and not _clock.within(("nat", nat.id), NAT_PENDING_SECONDS):
            nat.state = "available"
        if nat.state == "deleting" and not _clock.within(("nat", nat.id), NAT_DELETING_SECONDS):
            nat.state = "deleted"
        if nat.state in ("deleted", "failed") and not getattr(nat, "_wx_released", False):
            nat._wx_released = True
            for address in nat.address_set:
                eips = ec2.address_by_allocation([address.get("allocationId")]) if address.get("allocationId") else []
                for eip in eips:
                    ec2.disassociate_address(address=eip.public_ip)
            ec2.delete_network_interface(nat._eni.id)


def _create_nat_gateway(self, *args, **kwargs):
    nat = _released_create_nat_gateway(self, *args, **kwargs)
    if _strict("NAT_GATEWAY"):
        _clock.mark(("nat", nat.id))
        gateways = self.describe_internet_gateways(filters={"attachment.vpc-id": [nat.vpc_id]})
        if gateways:
            nat.state = "pending"
        else:
            nat.state = "failed"
            nat.failure_code = "Gateway.NotAttached"
            nat.failure_message = f"Network {nat.vpc_id} has no Internet gateway attached"
    return nat


def _delete_nat_gateway(self, nat_gateway_id):
    nat = self.nat_gateways.get(nat_gateway_id)
    if nat is None:
        raise EC2ClientError(
            "NatGatewayNotFound", f"NAT gateway {nat_gateway_id} was not found"
        )
    if not _strict("NAT_GATEWAY"):
        _released_delete_nat_gateway(self, nat_gateway_id)
        _settle_nat_gateways(self)
        return nat
    if nat.state in ("pending", "available"):
        nat.state = "deleting"
        _clock.mark(("nat", nat.id))
    return nat


def _describe_nat_gateways(self, *args, **kwargs):
    _settle_nat_gateways(self)
    return _released_describe_nat_gateways(self, *args, **kwargs)


def _release_address(self, address=None, allocation_id=None):
    _settle_nat_gateways(self)
    if _strict("NAT_GATEWAY"):
        for nat in self.nat_gateways.values():
            held = any(a.get("allocationId") == allocation_id for a in nat.address_set)
            if held and nat.state not in ("deleted", "failed"):
                raise EC2ClientError(
                    "AuthFailure", "You do not have permission to access the specified resource."
                )
    return _released_release_address(self, address=address, allocation_id=allocation_id)


def _detach_internet_gateway(self, internet_gateway_id, vpc_id):
    _settle_nat_gateways(self)
    if _strict("NAT_GATEWAY") and any(
        n.vpc_id == vpc_id and n.state not in ("deleted", "failed")
        for n in self.nat_gateways.values()
    ):
        raise DependencyViolationError(
            f"Network {vpc_id} has some mapped public address(es). Please unmap those public"
            " address(es) before detaching the gateway."
        )
    return _released_detach_internet_gateway(self, internet_gateway_id, vpc_id)


def _nat_gateway_with_token(self, token):
    nat_id = _nat_tokens.get(token)
    nat = self.ec2_backend.nat_gateways.get(nat_id) if nat_id else None
    return nat if nat is not None and nat.state != "deleted" else None


def _create_nat_gateway_noting_token(self):
    answer = _released_create_nat_gateway_response(self)
    token = self._get_param("ClientToken")
    if token:
        _nat_tokens[token] = answer.result["NatGateway"].id
    return answer


NatGatewayBackend.create_nat_gateway = _create_nat_gateway
NatGatewayBackend.delete_nat_gateway = _delete_nat_gateway
NatGatewayBackend.describe_nat_gateways = _describe_nat_gateways
ElasticAddressBackend.release_address = _release_address
InternetGatewayBackend.detach_internet_gateway = _detach_internet_gateway
NatGatewayResponse.create_nat_gateway = _same_token_returns_existing(
    _create_nat_gateway_noting_token,
    _nat_gateway_with_token,
    lambda nat: ActionResult({"NatGateway": nat}),
)


# MOTO_STRICT_LAMBDA_CONCURRENCY: moto reads its quota from the environment at each call.
if _strict("LAMBDA_CONCURRENCY"):
    os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000")


# MOTO_STRICT_DYNAMODB_STATUS. Seconds to minutes in AWS; long enough here that a create or
# delete that does not wait meets the transition.
DYNAMODB_CREATING_SECONDS = 2
DYNAMODB_DELETING_SECONDS = 8
_deleting_tables = {}

_released_table_describe = DynamoTable.describe
_released_create_table = DynamoDBBackend.create_table
_released_delete_table = DynamoDBBackend.delete_table
_released_describe_table = DynamoDBBackend.describe_table


def _table_describe(self, base_key="TableDescription"):
    out = _released_table_describe(self, base_key)
    if _strict("DYNAMODB_STATUS"):
        if getattr(self, "_wx_deleting", False):
            out[base_key]["TableStatus"] = "DELETING"
        elif _clock.within(("ddb", self.table_arn), DYNAMODB_CREATING_SECONDS):
            out[base_key]["TableStatus"] = "CREATING"
    return out


def _still_deleting(name):
    table = _deleting_tables.get(name)
    if table is not None and _clock.within(("ddb-delete", table.table_arn), DYNAMODB_DELETING_SECONDS):
        return table
    _deleting_tables.pop(name, None)
    return None


def _create_table(self, name, *args, **kwargs):
    if _strict("DYNAMODB_STATUS") and _still_deleting(name) is not None:
        raise DynamoResourceInUse(f"Table is being deleted: {name}")
    table = _released_create_table(self, name, *args, **kwargs)
    _clock.mark(("ddb", table.table_arn))
    return table


def _delete_table(self, name):
    table = _released_delete_table(self, name)
    if _strict("DYNAMODB_STATUS"):
        table._wx_deleting = True
        _clock.mark(("ddb-delete", table.table_arn))
        _deleting_tables[table.name] = table
    return table


def _describe_table(self, name):
    table = _still_deleting(name) if _strict("DYNAMODB_STATUS") else None
    if table is not None:
        return table.describe(base_key="Table")
    return _released_describe_table(self, name)


DynamoTable.describe = _table_describe
DynamoDBBackend.create_table = _create_table
DynamoDBBackend.delete_table = _delete_table
DynamoDBBackend.describe_table = _describe_table


# MOTO_STRICT_ACM. AWS names the record within seconds and notices a deleted listener within
# about ten.
ACM_RECORD_SECONDS = 2
ACM_IN_USE_SECONDS = 5

_released_cert_describe = CertBundle.describe
_released_cert_check = CertBundle.check
_released_request_certificate = AWSCertificateManagerBackend.request_certificate
_released_delete_certificate = AWSCertificateManagerBackend.delete_certificate
_released_create_listener = ELBv2Backend.create_listener
_released_modify_listener = ELBv2Backend.modify_listener


def _account_of(arn):
    return arn.split(":")[4]


def _record_value(v):
    """A record set's value as moto keeps it: a string, or {'Value': ...} as sent."""
    return v.get("Value", "") if isinstance(v, dict) else str(v)


def _validation_record_exists(bundle):
    """Whether every validation CNAME ACM named for `bundle` is in one of the account's
    hosted zones."""
    wanted = [
        o["ResourceRecord"]
        for o in _released_cert_describe(bundle)["Certificate"].get("DomainValidationOptions", [])
    ]
    backend = route53_backends[_account_of(bundle.arn)]["aws"]
    present = {
        (r.name.rstrip(".").lower(), r.type, _record_value(v).rstrip(".").lower())
        for zone in backend.zones.values()
        for r in zone.rrsets
        for v in r.records or []
    }
    return bool(wanted) and all(
        (w["Name"].rstrip(".").lower(), w["Type"], w["Value"].rstrip(".").lower()) in present
        for w in wanted
    )


def _cert_check(self):
    if not (_strict("ACM") and self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION"):
        return _released_cert_check(self)
    if _validation_record_exists(self):
        self.status = "ISSUED"


def _cert_describe(self):
    described = _released_cert_describe(self)
    if _strict("ACM") and _clock.within(("acm-requested", self.arn), ACM_RECORD_SECONDS):
        for option in described["Certificate"].get("DomainValidationOptions", []):
            option.pop("ResourceRecord", None)
    return described


def _request_certificate(self, *args, **kwargs):
    arn = _released_request_certificate(self, *args, **kwargs)
    _clock.mark_first(("acm-requested", arn))
    return arn


def _listeners_using(account_id, arn):
    return [
        listener
        for backend in elbv2_backends[account_id].values()
        for lb in backend.load_balancers.values()
        for listener in lb.listeners.values()
        if arn in (listener.certificates or [])
    ]


def _certificates_released(listener):
    for arn in listener.certificates or []:
        _clock.mark(("acm-in-use", arn))


def _delete_certificate(self, arn):
    if _strict("ACM") and (
        _listeners_using(self.account_id, arn)
        or _clock.within(("acm-in-use", arn), ACM_IN_USE_SECONDS)
    ):
        raise AWSError(
            f"Certificate {arn} in account {self.account_id} is in use.",
            exception_type="ResourceInUseException",
        )
    return _released_delete_certificate(self, arn)


def _refuse_unissued(account_id, region, arns):
    if not _strict("ACM"):
        return
    for arn in arns:
        if ":acm:" not in (arn or ""):
            continue
        bundle = acm_backends[account_id][region].get_certificate(arn)
        if bundle.status != "ISSUED":
            raise ELBClientError(
                "UnsupportedCertificate",
                f"The certificate '{arn}' must have a fully-qualified domain name, a supported"
                " signature, and a supported key size.",
            )


def _create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, *args, **kwargs):
    _refuse_unissued(self.account_id, self.region_name, [certificate])
    return _released_create_listener(
        self, load_balancer_arn, protocol, port, ssl_policy, certificate, *args, **kwargs
    )


def _modify_listener(self, arn, port=None, protocol=None, ssl_policy=None, certificates=None, actions=None):
    _refuse_unissued(
        self.account_id, self.region_name, [c["CertificateArn"] for c in certificates or []]
    )
    return _released_modify_listener(self, arn, port, protocol, ssl_policy, certificates, actions)


CertBundle.check = _cert_check
CertBundle.describe = _cert_describe
AWSCertificateManagerBackend.request_certificate = _request_certificate
AWSCertificateManagerBackend.delete_certificate = _delete_certificate
ELBv2Backend.create_listener = _create_listener
ELBv2Backend.modify_listener = _modify_listener

# 8. Application Auto Scaling: policies go with their target, AWS's not-found error, tags.
_released_deregister_target = ApplicationAutoscalingBackend.deregister_scalable_target
_released_delete_scaling_policy = ApplicationAutoscalingBackend.delete_scaling_policy
_released_register_target_response = ApplicationAutoScalingResponse.register_scalable_target
_target_tags = {}


def _object_not_found(message):
    return JsonRESTError("ObjectNotFoundException", message)


def _deregister_scalable_target(self, namespace, r_id, dimension):
    if not self._scalable_target_exists(r_id, dimension):
        raise _object_not_found(
            f"No scalable target registered for service namespace: {namespace}, resource ID:"
            f" {r_id}, scalable dimension: {dimension}"
        )
    _target_tags.pop(self.targets[dimension][r_id].arn, None)
    for key, policy in list(self.policies.items()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
            namespace,
            r_id,
            dimension,
        ):
            policy.delete_alarms(self.account_id, self.region_name)
            del self.policies[key]
    return _released_deregister_target(self, namespace, r_id, dimension)


def _delete_scaling_policy(self, policy_name, service_namespace, resource_id, scalable_dimension):
    try:
        return _released_delete_scaling_policy(
            self, policy_name, service_namespace, resource_id, scalable_dimension
        )
    except JsonRESTError as e:
        raise _object_not_found(f"No scaling policy found for policy name: {policy_name}") from e


def _register_scalable_target_response(self):
    out = _released_register_target_response(self)
    tags = self._get_param("Tags")
    if tags:
        _target_tags.setdefault(json.loads(out)["ScalableTargetARN"], {}).update(tags)
    return out


def _known_target(arn):
    registered = (
        t.arn
        for backends in applicationautoscaling_backends.values()
        for b in backends.values()
        for by_id in b.targets.values()
        for t in by_id.values()
    )
    if arn not in registered:
        raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for {arn}")


def _list_tags_for_resource(self):
    arn = self._get_param("ResourceARN")
    _known_target(arn)
    return json.dumps({"Tags": _target_tags.get(arn, {})})


def _tag_resource(self):
    arn = self._get_param("ResourceARN")
    _known_target(arn)
    _target_tags.setdefault(arn, {}).update(self._get_param("Tags") or {})
    return "{}"


def _untag_resource(self):
    arn = self._get_param("ResourceARN")
    _known_target(arn)
    for key in self._get_param("TagKeys") or []:
        _target_tags.get(arn, {}).pop(key, None)
    return "{}"


ApplicationAutoscalingBackend.deregister_scalable_target = _deregister_scalable_target
ApplicationAutoscalingBackend.delete_scaling_policy = _delete_scaling_policy
ApplicationAutoScalingResponse.register_scalable_target = _register_scalable_target_response
ApplicationAutoScalingResponse.list_tags_for_resource = _list_tags_for_resource
ApplicationAutoScalingResponse.tag_resource = _tag_resource
ApplicationAutoScalingResponse.untag_resource = _untag_resource

# 9. EC2 Auto Scaling: instance refreshes, each instance's template version, deregistration on
# termination, DefaultInstanceWarmup; MOTO_STRICT_ASG_DELETE.
REFRESH_STEP_SECONDS = 1
ASG_DELETE_SECONDS = 4

_asg_lock = threading.RLock()
_refreshes = {}  # group name -> refreshes, newest first
_deleting = {}  # group name -> when its deletion finishes

_released_create_version = LaunchTemplate.create_version
_released_replace_instances = FakeAutoScalingGroup.replace_autoscaling_group_instances
_released_set_capacity = FakeAutoScalingGroup.set_desired_capacity
_released_instance_template = InstanceState.launch_template
_released_describe_groups = AutoScalingBackend.describe_auto_scaling_groups
_released_delete_group = AutoScalingBackend.delete_auto_scaling_group
_released_create_group_response = AutoScalingResponse.create_auto_scaling_group
_released_update_group_response = AutoScalingResponse.update_auto_scaling_group


def _create_version_parsing_user_data(self, data, description):
    if isinstance(data.get("UserData"), str):
        data = dict(data, UserData=ec2_utils.parse_user_data(data["UserData"]))
    return _released_create_version(self, data, description)


def _group_version(group):
    if group.ec2_launch_template is None:
        return None
    return str(group.ec2_launch_template.get_version(group.launch_template_version).number)


def _replace_instances_noting_version(self, count_needed, propagated_tags):
    _released_replace_instances(self, count_needed, propagated_tags)
    version = _group_version(self)
    for state in self.instance_states:
        if not hasattr(state.instance, "_lt_version"):
            state.instance._lt_version = version


def _instance_launch_template(self):
    lt = _released_instance_template.fget(self)
    version = getattr(self.instance, "_lt_version", None)
    if lt is not None and version is not None:
        lt = dict(lt, Version=version)
    return lt


def _deregister(group, instance_ids):
    backend = group.autoscaling_backend.elbv2_backend
    for arn in group.target_group_arns:
        if arn in backend.target_groups:
            backend.target_groups[arn].deregister([{"Id": i} for i in instance_ids])


def _set_capacity_deregistering(self, new_capacity):
    before = {s.instance.id for s in self.instance_states}
    _released_set_capacity(self, new_capacity)
    gone = before - {s.instance.id for s in self.instance_states}
    if gone:
        _deregister(self, sorted(gone))


def _terminate(group, state):
    _deregister(group, [state.instance.id])
    group.autoscaling_backend.ec2_backend.terminate_instances([state.instance.id])
    group.instance_states.remove(state)


def _launch(group):
    group.replace_autoscaling_group_instances(1, group.get_propagated_tags())
    group.autoscaling_backend.update_attached_target_groups(group.name)


def _warming(group, states):
    return _strict("TARGET_HEALTH") and any(
        _clock.within(("target", arn, s.instance.id), TARGET_INITIAL_SECONDS)
        for arn in group.target_group_arns
        for s in states
    )


def _refresh_step(group, r):
    """One step of refresh `r`: launch or terminate one instance, or finish."""
    version = _group_version(group)
    active = group.active_instances()
    old = [s for s in active if getattr(s.instance, "_lt_version", None) != version]
    desired = group.desired_capacity or 0
    if r["Status"] == "Pending":
        r["Status"] = "InProgress"
        r["_total"] = len(old)
        return
    done = r["_total"] - len(old)
    r["PercentageComplete"] = 100 if r["_total"] == 0 else int(100 * done / r["_total"])
    r["InstancesToUpdate"] = len(old)
    most = desired * r["Preferences"]["MaxHealthyPercentage"] // 100
    if _warming(group, [s for s in active if s not in old]):
        # AWS counts a new instance once it passes its health checks and warmup.
        return
    if len(active) < desired:
        _launch(group)
    elif not old:
        r.update(Status="Successful", PercentageComplete=100, EndTime=datetime.datetime.now(datetime.timezone.utc))
    elif len(active) > desired or len(active) + 1 > most:
        # The surplus a launch made goes, or, with no room above the desired capacity, an old
        # instance goes first (AWS replaces at least one at a time).
        _terminate(group, old[0])
    else:
        _launch(group)


def _advance(backend):
    """Runs every refresh and pending deletion up to now."""
    with _asg_lock:
        now = time.monotonic()
        for name, at in list(_deleting.items()):
            if now >= at:
                del _deleting[name]
                _refreshes.pop(name, None)
                if name in backend.autoscaling_groups:
                    _released_delete_group(backend, name)
        for name, refreshes in _refreshes.items():
            group = backend.autoscaling_groups.get(name)
            for r in refreshes:
                while group and r["Status"] in ("Pending", "InProgress") and now >= r["_next"]:
                    _refresh_step(group, r)
                    r["_next"] += REFRESH_STEP_SECONDS


def _describe_groups_advancing(self, *args, **kwargs):
    _advance(self)
    return _released_describe_groups(self, *args, **kwargs)


def _delete_group_in_progress(self, group_name):
    if not _strict("ASG_DELETE"):
        return _released_delete_group(self, group_name)
    with _asg_lock:
        group = self.autoscaling_groups.get(group_name)
        if group is None or group_name in _deleting:
            return _released_delete_group(self, group_name)
        group.status = "Delete in progress"
        _deleting[group_name] = time.monotonic() + ASG_DELETE_SECONDS


def _asg_backend(response):
    return autoscaling_backends[response.current_account][response.region]


def _create_group_keeping_warmup(self):
    out = _released_create_group_response(self)
    group = _asg_backend(self).autoscaling_groups[self._get_param("AutoScalingGroupName")]
    group.default_instance_warmup = self._get_int_param("DefaultInstanceWarmup")
    return out


def _update_group_keeping_warmup(self):
    out = _released_update_group_response(self)
    warmup = self._get_int_param("DefaultInstanceWarmup")
    if warmup is not None:
        group = _asg_backend(self).autoscaling_groups[self._get_param("AutoScalingGroupName")]
        group.default_instance_warmup = warmup
    return out


def _start_instance_refresh(self):
    backend = _asg_backend(self)
    name = self._get_param("AutoScalingGroupName")
    _advance(backend)
    with _asg_lock:
        if name not in backend.autoscaling_groups or name in _deleting:
            raise AutoscalingClientError(
                "ValidationError", f"AutoScalingGroup name not found - {name}"
            )
        running = [
            r for r in _refreshes.get(name, []) if r["Status"] in ("Pending", "InProgress")
        ]
        if running:
            raise AutoscalingClientError(
                "InstanceRefreshInProgress",
                f"An Instance Refresh is already in progress and blocks the execution of this"
                f" Instance Refresh. ({running[0]['InstanceRefreshId']})",
            )
        given = self._get_param("Preferences") or {}
        least = int(given.get("MinHealthyPercentage", 90))
        prefs = {
            "MinHealthyPercentage": least,
            "MaxHealthyPercentage": int(given.get("MaxHealthyPercentage", 100)),
            "SkipMatching": str(given.get("SkipMatching", "false")).lower() == "true",
        }
        if prefs["MaxHealthyPercentage"] - least > 100 or prefs["MaxHealthyPercentage"] < 100:
            raise AutoscalingClientError(
                "ValidationError",
                "The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be"
                " greater than 100, and MaxHealthyPercentage must be at least 100.",
            )
        r = {
            "InstanceRefreshId": str(uuid.uuid4()),
            "AutoScalingGroupName": name,
            "Status": "Pending",
            "StatusReason": "Waiting for instances to warm up before continuing.",
            "StartTime": datetime.datetime.now(datetime.timezone.utc),
            "PercentageComplete": 0,
            "InstancesToUpdate": 0,
            "Preferences": prefs,
            "_next": time.monotonic(),
        }
        _refreshes.setdefault(name, []).insert(0, r)
    return ActionResult({"InstanceRefreshId": r["InstanceRefreshId"]})


def _public(r):
    return {k: v for k, v in r.items() if not k.startswith("_")}


def _describe_instance_refreshes(self):
    backend = _asg_backend(self)
    _advance(backend)
    name = self._get_param("AutoScalingGroupName")
    ids = self._get_param("InstanceRefreshIds") or []
    with _asg_lock:
        found = [
            _public(r)
            for r in _refreshes.get(name, [])
            if not ids or r["InstanceRefreshId"] in ids
        ]
    return ActionResult({"InstanceRefreshes": found})


def _cancel_instance_refresh(self):
    backend = _asg_backend(self)
    _advance(backend)
    name = self._get_param("AutoScalingGroupName")
    with _asg_lock:
        for r in _refreshes.get(name, []):
            if r["Status"] in ("Pending", "InProgress"):
                r.update(Status="Cancelled", EndTime=datetime.datetime.now(datetime.timezone.utc))
                return ActionResult({"InstanceRefreshId": r["InstanceRefreshId"]})
    raise AutoscalingClientError(
        "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found"
    )


LaunchTemplate.create_version = _create_version_parsing_user_data
FakeAutoScalingGroup.replace_autoscaling_group_instances = _replace_instances_noting_version
FakeAutoScalingGroup.set_desired_capacity = _set_capacity_deregistering
InstanceState.launch_template = property(_instance_launch_template)
AutoScalingBackend.describe_auto_scaling_groups = _describe_groups_advancing
AutoScalingBackend.delete_auto_scaling_group = _delete_group_in_progress
AutoScalingResponse.create_auto_scaling_group = _create_group_keeping_warmup
AutoScalingResponse.update_auto_scaling_group = _update_group_keeping_warmup
AutoScalingResponse.start_instance_refresh = _start_instance_refresh
AutoScalingResponse.describe_instance_refreshes = _describe_instance_refreshes
AutoScalingResponse.cancel_instance_refresh = _cancel_instance_refresh



# 10. Lambda aliases and provisioned concurrency.
# moto 5.2.5 has no provisioned concurrency. Here PutProvisionedConcurrencyConfig,
# GetProvisionedConcurrencyConfig and DeleteProvisionedConcurrencyConfig work on an alias or
# a published version as the API reference describes them
# (https://docs.aws.amazon.com/lambda/latest/api/API_PutProvisionedConcurrencyConfig.html):
# IN_PROGRESS for PROVISIONING_SECONDS, then READY; $LATEST is refused. Moving an alias that
# has provisioned concurrency to another version keeps the old version on the alias as an
# additional version with all the weight until the new one's concurrency is allocated, and a
# Put meanwhile answers "Alias with weights can not be used with Provisioned Concurrency"
# (terraform-provider-aws #48116, hashicorp/terraform #24957). An alias has its own resource
# policy in AWS ("you can grant permission on an alias": AddPermission's Qualifier); moto
# resolves the alias to its version and stores the statement there, where it is lost when the
# alias moves, and its RemovePermission ignores the Qualifier. Here alias statements live
# with the alias. moto numbers a new version by how many versions remain, so once a version is
# deleted it issues a number again; Lambda never reuses one ("Lambda increments the version
# number", https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html).
PROVISIONING_SECONDS = 2

_provisioned = {}
_alias_policies = {}
_shifting = {}
_highest_version = {}
_lambda_lock = threading.Lock()


class _ProvisionedConcurrencyNotFound(LambdaClientError):
    code = 404

    def __init__(self):
        super().__init__(
            "ProvisionedConcurrencyConfigNotFoundException",
            "No Provisioned Concurrency Config found for this function",
        )


def _qualified(storage, name, qualifier):
    """(function name, qualifier) of a name, `name:qualifier` or a function ARN."""
    if name.startswith("arn:"):
        _, fn, in_arn = storage.split_function_arn(name)
        return fn, in_arn or qualifier
    if ":" in name:
        fn, q = name.split(":", 1)
        return fn, q
    return name, qualifier


def _alias_named(storage, fn, qualifier):
    if not qualifier:
        return None
    try:
        return storage.get_alias(qualifier, fn)
    except (UnknownAliasException, UnknownFunctionException):
        return None


def _settle_aliases():
    """Clears the weights of aliases whose new version's concurrency is now allocated."""
    now = time.monotonic()
    with _lambda_lock:
        for key, (alias, ready) in list(_shifting.items()):
            if now >= ready:
                alias.routing_config = None
                del _shifting[key]


def _key(storage, fn, qualifier):
    return (storage.account_id, storage.region_name, fn, qualifier)


def _alias_policy(backend, fn, alias, create=False):
    key = _key(backend._lambdas, fn, alias)
    with _lambda_lock:
        if create and key not in _alias_policies:
            _alias_policies[key] = LambdaPolicy(backend.get_function(fn))
        return _alias_policies.get(key)


_released_add_permission = LambdaBackend.add_permission
_released_get_policy = LambdaBackend.get_policy
_released_remove_permission_response = LambdaResponse.remove_permission
_released_storage_get_alias = LambdaStorage.get_alias
_released_storage_update_alias = LambdaStorage.update_alias
_released_storage_delete_alias = LambdaStorage.delete_alias
_released_publish_version = LambdaStorage.publish_version


def _publish_version_never_reusing(self, name_or_arn, description=""):
    name = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn).function_name
    before = len(self._functions[name]["versions"])
    fn = _released_publish_version(self, name_or_arn, description)
    if fn is None:
        return fn
    key = (self.account_id, self.region_name, name)
    with _lambda_lock:
        highest = _highest_version.get(key, 0)
        if len(self._functions[name]["versions"]) > before and int(fn.version) <= highest:
            del self._arns[fn.function_arn]
            fn.set_version(highest + 1)
            self._arns[fn.function_arn] = fn
        _highest_version[key] = max(highest, int(fn.version))
    return fn


def _add_permission_to_alias(self, function_name, qualifier, raw):
    fn, q = _qualified(self._lambdas, function_name, qualifier)
    if _alias_named(self._lambdas, fn, q) is None:
        return _released_add_permission(self, function_name, qualifier, raw)
    statement, _ = _alias_policy(self, fn, q, create=True).add_statement(raw, q)
    return statement


def _get_alias_policy(self, function_name, qualifier=None):
    fn, q = _qualified(self._lambdas, function_name, qualifier)
    if _alias_named(self._lambdas, fn, q) is None:
        return _released_get_policy(self, function_name, qualifier)
    policy = _alias_policy(self, fn, q)
    if policy is None:
        raise GenericResourcNotFound()
    return policy.wire_format()


def _remove_alias_permission(self):
    path = self.path.split("?")[0]
    function_name = unquote(path.split("/")[-3])
    sid = path.split("/")[-1]
    qualifier = self.querystring.get("Qualifier", [None])[0]
    fn, q = _qualified(self.backend._lambdas, function_name, qualifier)
    if _alias_named(self.backend._lambdas, fn, q) is None:
        return _released_remove_permission_response(self)
    policy = _alias_policy(self.backend, fn, q)
    if policy is None:
        raise UnknownPolicyException()
    policy.del_statement(sid)
    return 204, {"status": 204}, "{}"


def _get_alias_settling(self, name, function_name):
    _settle_aliases()
    return _released_storage_get_alias(self, name, function_name)


def _update_alias_shifting(self, name, function_name, function_version, description, routing_config):
    alias = self.get_alias(name, function_name)
    old = alias.function_version
    out = _released_storage_update_alias(
        self, name, function_name, function_version, description, routing_config
    )
    fn, _ = _qualified(self, alias.arn, None)
    key = _key(self, fn, name)
    with _lambda_lock:
        config = _provisioned.get(key)
        if config and function_version and function_version != old:
            config["_ready"] = time.monotonic() + PROVISIONING_SECONDS
            alias.routing_config = {"AdditionalVersionWeights": {old: 1.0}}
            _shifting[key] = (alias, config["_ready"])
    return out


def _forget(storage, fn, alias=None):
    """Drops what belongs to an alias (or, with none, to every alias of the function)."""
    with _lambda_lock:
        for table in (_provisioned, _alias_policies, _shifting):
            for key in list(table):
                if key[:3] == _key(storage, fn, None)[:3] and alias in (None, key[3]):
                    del table[key]


def _delete_alias_forgetting(self, name, function_name):
    _released_storage_delete_alias(self, name, function_name)
    _forget(self, _qualified(self, function_name, None)[0], name)


def _delete_function_forgetting(self, function_name, qualifier=None):
    _delete_function_releasing_enis(self, function_name, qualifier)
    if qualifier is None:
        fn = _qualified(self._lambdas, function_name, None)[0]
        _forget(self._lambdas, fn)
        with _lambda_lock:
            _highest_version.pop(_key(self._lambdas, fn, None)[:3], None)


def _provisioning_target(self):
    """(function, qualifier, alias or None) of a provisioned concurrency call, checked."""
    name = unquote(self.path.split("?")[0].rstrip("/").split("/")[-2])
    qualifier = self.querystring.get("Qualifier", [None])[0]
    storage = self.backend._lambdas
    fn, q = _qualified(storage, name, qualifier)
    self.backend.get_function(fn)
    if not q or q == "$LATEST":
        raise InvalidParameterValueException(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
        )
    alias = _alias_named(storage, fn, q)
    if alias is None and storage._get_version(fn, q) is None:
        raise storage.construct_unknown_function_exception(fn, q)
    return fn, q, alias


def _provisioning_view(config):
    ready = time.monotonic() >= config["_ready"]
    n = config["Requested"]
    return {
        "RequestedProvisionedConcurrentExecutions": n,
        "AvailableProvisionedConcurrentExecutions": n if ready else 0,
        "AllocatedProvisionedConcurrentExecutions": n if ready else 0,
        "Status": "READY" if ready else "IN_PROGRESS",
        "LastModified": config["LastModified"],
    }


def _put_provisioned_concurrency_config(self):
    _settle_aliases()
    fn, q, alias = _provisioning_target(self)
    if alias is not None and alias.routing_config:
        raise InvalidParameterValueException(
            "Alias with weights can not be used with Provisioned Concurrency"
        )
    config = {
        "Requested": int(self.json_body["ProvisionedConcurrentExecutions"]),
        "LastModified": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "_ready": time.monotonic() + PROVISIONING_SECONDS,
    }
    with _lambda_lock:
        _provisioned[_key(self.backend._lambdas, fn, q)] = config
    return 202, {"status": 202}, json.dumps(_provisioning_view(config))


def _get_provisioned_concurrency_config(self):
    fn, q, _ = _provisioning_target(self)
    with _lambda_lock:
        config = _provisioned.get(_key(self.backend._lambdas, fn, q))
    if config is None:
        raise _ProvisionedConcurrencyNotFound()
    return 200, {"status": 200}, json.dumps(_provisioning_view(config))


def _delete_provisioned_concurrency_config(self):
    fn, q, _ = _provisioning_target(self)
    with _lambda_lock:
        if _provisioned.pop(_key(self.backend._lambdas, fn, q), None) is None:
            # DeleteProvisionedConcurrencyConfig's errors have no ...ConfigNotFound.
            raise GenericResourcNotFound()
    return 204, {"status": 204}, ""


lambda_urls.url_paths[
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
] = LambdaResponse.dispatch
LambdaBackend.add_permission = _add_permission_to_alias
LambdaBackend.get_policy = _get_alias_policy
LambdaBackend.delete_function = _delete_function_forgetting
LambdaResponse.remove_permission = _remove_alias_permission
LambdaResponse.put_provisioned_concurrency_config = _put_provisioned_concurrency_config
LambdaResponse.get_provisioned_concurrency_config = _get_provisioned_concurrency_config
LambdaResponse.delete_provisioned_concurrency_config = _delete_provisioned_concurrency_config
LambdaStorage.get_alias = _get_alias_settling
LambdaStorage.update_alias = _update_alias_shifting
LambdaStorage.delete_alias = _delete_alias_forgetting
LambdaStorage.publish_version = _publish_version_never_reusing


# MOTO_STRICT_LAMBDA_TARGET_PERMISSION: ELB registers a function only if the function's
# resource policy (its alias's, for an alias ARN) lets elasticloadbalancing.amazonaws.com
# invoke it from that target group; otherwise RegisterTargets answers "AccessDenied:
# elasticloadbalancing principal does not have permission to invoke <function> from target
# group <arn>" (aws-cdk #4663, ansible #52253). moto registers anything.
def _may_invoke(statement, target_group_arn):
    principal = statement.get("Principal")
    service = principal.get("Service") if isinstance(principal, dict) else principal
    source = (statement.get("Condition") or {}).get("ArnLike", {}).get("AWS:SourceArn")
    return (
        statement.get("Effect", "Allow") == "Allow"
        and service == "elasticloadbalancing.amazonaws.com"
        and statement.get("Action") in ("lambda:InvokeFunction", "lambda:*")
        and source in (None, target_group_arn)
    )


def _check_invoke_permission(target_group_arn, function_arn):
    parts = function_arn.split(":")
    region, account, name = parts[3], parts[4], parts[6]
    qualifier = parts[7] if len(parts) > 7 else None
    try:
        policy = json.loads(lambda_backends[account][region].get_policy(name, qualifier))
        statements = json.loads(policy["Policy"])["Statement"]
    except LambdaClientError:
        statements = []
    if not any(_may_invoke(s, target_group_arn) for s in statements):
        raise ELBClientError(
            "AccessDenied",
            f"elasticloadbalancing principal does not have permission to invoke {function_arn}"
            f" from target group {target_group_arn}",
        )


def _register_checking_invoke_permission(self, targets):
    if self.target_type == "lambda" and _strict("LAMBDA_TARGET_PERMISSION"):
        for target in targets:
            _check_invoke_permission(self.arn, target["Id"])
    return _register_noting_time(self, targets)


FakeTargetGroup.register = _register_checking_invoke_permission

if __name__ == "__main__":
    main()
