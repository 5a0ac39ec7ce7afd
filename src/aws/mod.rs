//! The AWS provider: one file per resource kind, each implementing [`crate::provider::Resource`],
//! plus shared helpers for clients, errors, tags and waiting — never copied into each kind.

pub mod context;
pub mod errors;
pub mod internet_gateway;
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
}
