//! The AWS provider: one file per resource kind, each implementing [`crate::provider::Resource`],
//! plus shared helpers for clients, errors, tags and waiting — never copied into each kind.

pub mod context;
pub mod ecr_repository;
pub mod ecs_cluster;
pub mod ecs_service;
pub mod ecs_task_definition;
pub mod errors;
pub mod instance;
pub mod internet_gateway;
pub mod lambda_function;
pub mod lambda_permission;
pub mod lb;
pub mod lb_listener;
pub mod lb_target_attachment;
pub mod lb_target_group;
pub mod oci_image;
pub mod props;
pub mod route_table;
pub mod route_table_association;
pub mod security_group;
pub mod security_group_rule;
pub mod subnet;
pub mod sweep;
pub mod tags;
pub mod vpc;
pub mod vpc_lookup;
pub mod wait;

pub use context::AwsContext;

use std::sync::Arc;

use crate::provider::Registry;

/// Every AWS resource kind wxinfra manages.
pub fn provider(ctx: Arc<AwsContext>) -> Registry {
    Registry::default()
        .with(vpc::Vpc(ctx.clone()))
        .with(vpc_lookup::VpcLookup(ctx.clone()))
        .with(subnet::Subnet(ctx.clone()))
        .with(internet_gateway::InternetGateway(ctx.clone()))
        .with(route_table::RouteTable(ctx.clone()))
        .with(route_table_association::RouteTableAssociation(ctx.clone()))
        .with(security_group::SecurityGroup(ctx.clone()))
        .with(security_group_rule::SecurityGroupRule(ctx.clone()))
        .with(lb::Lb(ctx.clone()))
        .with(lb_target_group::LbTargetGroup(ctx.clone()))
        .with(lb_listener::LbListener(ctx.clone()))
        .with(lb_target_attachment::LbTargetAttachment(ctx.clone()))
        .with(lambda_function::LambdaFunction(ctx.clone()))
        .with(lambda_permission::LambdaPermission(ctx.clone()))
        .with(ecs_cluster::EcsCluster(ctx.clone()))
        .with(ecs_task_definition::EcsTaskDefinition(ctx.clone()))
        .with(ecs_service::EcsService(ctx.clone()))
        .with(instance::Ec2Instance(ctx.clone()))
        .with(ecr_repository::EcrRepository(ctx.clone()))
        .with(oci_image::OciImage(ctx.clone()))
}
