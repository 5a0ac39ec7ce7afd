//! `aws.security_group`: a security group with no rules of its own. EC2 gives every new group
//! an allow-all egress rule; it is revoked right after create (least privilege), so the only
//! rules are the `aws.security_group_rule` resources, and read reports a default egress rule
//! that is back (`default_egress: true`) as drift. VPC, name and description cannot
//! change on a live group: a change means a new one. Tags change in place.

use async_trait::async_trait;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, ResourceType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, code, ec2_one};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct SecurityGroup(pub std::sync::Arc<AwsContext>);

/// The group's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupProps {
    /// The VPC the group belongs to.
    pub vpc_id: String,
    /// The group's name, unique in the VPC (`<stack>-<role>`).
    pub group_name: String,
    /// What the group is for (EC2 keeps it; it cannot change).
    pub description: String,
    /// Whether EC2's allow-all egress rule stays: never, the stack's rules are the only ones.
    pub default_egress: bool,
}

typed!(SecurityGroupProps, "aws.security_group", "security group");

/// EC2's default egress rule of a new group: all protocols to `cidr` (`0.0.0.0/0` always,
/// `::/0` too when the VPC has IPv6).
fn default_egress(cidr: &str) -> IpPermission {
    let p = IpPermission::builder().ip_protocol("-1");
    let p = if cidr.contains(':') {
        p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build())
    } else {
        p.ip_ranges(IpRange::builder().cidr_ip(cidr).build())
    };
    p.build()
}

/// Whether a permission is EC2's default allow-all egress (IPv4 or IPv6).
fn is_default_egress(p: &IpPermission) -> bool {
    p.ip_protocol() == Some("-1")
        && (p
            .ip_ranges()
            .iter()
            .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
            || p.ipv6_ranges()
                .iter()
                .any(|r| r.cidr_ipv6() == Some("::/0")))
}

/// EC2's answer to revoking a rule the group does not have.
const NO_SUCH_RULE: &str = "InvalidPermission.NotFound";

impl SecurityGroup {
    /// Revokes the default allow-all egress rules by their known shape, the way Terraform
    /// does: listing the rules first can meet an eventually consistent answer with no egress
    /// rules yet, and then nothing would be revoked. A rule already gone (a resumed create)
    /// is fine; so is `::/0` in a VPC without IPv6, which EC2 refuses as unknown or as an
    /// invalid `remote-ipv6-range`.
    async fn revoke_default_egress(&self, id: &str) -> Result<(), ProviderError> {
        for cidr in ["0.0.0.0/0", "::/0"] {
            let sent = self
                .0
                .ec2
                .revoke_security_group_egress()
                .group_id(id)
                .ip_permissions(default_egress(cidr))
                .send()
                .await;
            match sent {
                Ok(_) => {}
                Err(e) if code(&e) == Some(NO_SUCH_RULE) => {}
                Err(e)
                    if cidr == "::/0"
                        && code(&e) == Some("InvalidParameterValue")
                        && e.as_service_error()
                            .and_then(|s| s.message())
                            .is_some_and(|m| m.contains("remote-ipv6-range")) => {}
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(())
    }

    fn outputs(g: &aws_sdk_ec2::types::SecurityGroup) -> Outputs {
        let mut o = Outputs::new();
        o.insert("arn".into(), json!(g.security_group_arn()));
        o
    }
}

#[async_trait]
impl Resource for SecurityGroup {
    fn kind(&self) -> &'static str {
        SecurityGroupProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "vpc_id" | "group_name" | "description")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(g) = ec2_one!(
            self.0.ec2.describe_security_groups().group_ids(id),
            security_groups
        ) else {
            return Ok(None);
        };
        Ok(Some(Live {
            props: json!({
                "vpc_id": g.vpc_id(),
                "group_name": g.group_name(),
                "description": g.description(),
                "default_egress": g.ip_permissions_egress().iter().any(is_default_egress),
                "tags": tags::from_ec2(g.tags()),
            }),
            outputs: Self::outputs(&g),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = SecurityGroupProps::from_value(req.props)?;
        let out = self
            .0
            .ec2
            .create_security_group()
            .vpc_id(p.vpc_id)
            .group_name(p.group_name)
            .description(p.description)
            .tag_specifications(tags::ec2_spec(ResourceType::SecurityGroup, req.props))
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .group_id()
            .ok_or_else(|| ProviderError::Api("CreateSecurityGroup returned no id".into()))?
            .to_string();
        self.revoke_default_egress(&id).await?;
        let mut outputs = Outputs::new();
        outputs.insert("arn".into(), json!(out.security_group_arn()));
        Ok(Created { id, outputs })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        if changed.iter().any(|f| f == "default_egress") {
            self.revoke_default_egress(id).await?;
        }
        Ok(self
            .read(id, new)
            .await?
            .map(|l| l.outputs)
            .unwrap_or_default())
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let ec2 = &self.0.ec2;
        super::lambda_enis::clear(ec2, super::lambda_enis::Holder::SecurityGroup(id)).await?;
        wait::delete_when_free("security group", wait::DEPENDENCY_DRAIN, || {
            ec2.delete_security_group().group_id(id).send()
        })
        .await
    }

    async fn resume_create(
        &self,
        adopted: Created,
        _props: &Value,
    ) -> Result<Created, ProviderError> {
        // The crash may have come between create and the revoke of the default egress.
        self.revoke_default_egress(&adopted.id).await?;
        Ok(adopted)
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tags::ec2_tagged!(
            self.0.ec2.describe_security_groups(),
            set_filters,
            security_groups,
            stack,
            address
        );
        Ok(found.first().and_then(|g| {
            Some(Created {
                id: g.group_id()?.to_string(),
                outputs: Self::outputs(g),
            })
        }))
    }
}
