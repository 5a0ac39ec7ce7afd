//! The AWS provider: one file per resource kind, each implementing [`crate::provider::Resource`],
//! plus shared helpers for clients, errors, tags, policies and waiting — never copied into
//! each kind.

pub mod acm_certificate;
pub mod acm_certificate_validation;
pub mod appautoscaling_policy;
pub mod appautoscaling_target;
pub mod autoscaling_group;
pub mod autoscaling_policy;
pub mod caller_identity;
pub mod context;
pub mod dynamodb_table;
pub mod ecr_repository;
pub mod ecs_cluster;
pub mod ecs_service;
pub mod ecs_task_definition;
pub mod efs_access_point;
pub mod efs_file_system;
pub mod efs_mount_target;
pub mod eip;
pub mod errors;
pub mod iam_instance_profile;
pub mod iam_role;
pub mod instance;
pub mod internet_gateway;
pub mod lambda_alias;
pub mod lambda_enis;
pub mod lambda_function;
pub mod lambda_permission;
pub mod lambda_provisioned_concurrency;
pub mod launch_template;
pub mod lb;
pub mod lb_listener;
pub mod lb_target_attachment;
pub mod lb_target_group;
pub mod log_group;
pub mod nat_gateway;
pub mod oci_image;
pub mod policy;
pub mod props;
pub mod release;
pub mod route53_record;
pub mod route53_zone_lookup;
pub mod route_table;
pub mod route_table_association;
pub mod s3_bucket;
pub mod s3_object;
pub mod security_group;
pub mod security_group_rule;
pub mod subnet;
pub mod sweep;
pub mod tags;
pub mod target_health;
pub mod vpc;
pub mod vpc_endpoint;
pub mod vpc_lookup;
pub mod wait;

pub use context::AwsContext;

use std::sync::Arc;

use crate::provider::Registry;

/// Every AWS resource kind wxinfra manages.
pub fn provider(ctx: Arc<AwsContext>) -> Registry {
    Registry::default()
        .with(vpc::Vpc(ctx.clone()))
        .with(caller_identity::CallerIdentity(ctx.clone()))
        .with(efs_file_system::EfsFileSystem(ctx.clone()))
        .with(efs_mount_target::EfsMountTarget(ctx.clone()))
        .with(efs_access_point::EfsAccessPoint(ctx.clone()))
        .with(s3_bucket::S3Bucket(ctx.clone()))
        .with(s3_object::S3Object(ctx.clone()))
        .with(release::Release(ctx.clone()))
        .with(vpc_endpoint::VpcEndpoint(ctx.clone()))
        .with(iam_role::IamRole(ctx.clone()))
        .with(iam_instance_profile::IamInstanceProfile(ctx.clone()))
        .with(log_group::LogGroup(ctx.clone()))
        .with(dynamodb_table::DynamodbTable(ctx.clone()))
        .with(vpc_lookup::VpcLookup(ctx.clone()))
        .with(subnet::Subnet::new(ctx.clone()))
        .with(internet_gateway::InternetGateway(ctx.clone()))
        .with(route_table::RouteTable(ctx.clone()))
        .with(route_table_association::RouteTableAssociation(ctx.clone()))
        .with(eip::Eip(ctx.clone()))
        .with(nat_gateway::NatGateway(ctx.clone()))
        .with(route53_zone_lookup::Route53ZoneLookup(ctx.clone()))
        .with(route53_record::Route53Record(ctx.clone()))
        .with(acm_certificate::AcmCertificate(ctx.clone()))
        .with(acm_certificate_validation::AcmCertificateValidation(
            ctx.clone(),
        ))
        .with(security_group::SecurityGroup(ctx.clone()))
        .with(security_group_rule::SecurityGroupRule(ctx.clone()))
        .with(lb::Lb(ctx.clone()))
        .with(lb_target_group::LbTargetGroup(ctx.clone()))
        .with(lb_listener::LbListener(ctx.clone()))
        .with(lb_target_attachment::LbTargetAttachment(ctx.clone()))
        .with(lambda_function::LambdaFunction(ctx.clone()))
        .with(lambda_permission::LambdaPermission(ctx.clone()))
        .with(lambda_alias::LambdaAlias(ctx.clone()))
        .with(lambda_provisioned_concurrency::LambdaProvisionedConcurrency(ctx.clone()))
        .with(ecs_cluster::EcsCluster(ctx.clone()))
        .with(ecs_task_definition::EcsTaskDefinition(ctx.clone()))
        .with(ecs_service::EcsService(ctx.clone()))
        .with(appautoscaling_target::AppautoscalingTarget(ctx.clone()))
        .with(appautoscaling_policy::AppautoscalingPolicy(ctx.clone()))
        .with(instance::Ec2Instance(ctx.clone()))
        .with(launch_template::Ec2LaunchTemplate(ctx.clone()))
        .with(autoscaling_group::AutoscalingGroup(ctx.clone()))
        .with(autoscaling_policy::AutoscalingPolicy(ctx.clone()))
        .with(ecr_repository::EcrRepository(ctx.clone()))
        .with(oci_image::OciImage(ctx))
}
