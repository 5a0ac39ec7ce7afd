//! `aws.security_group_rule`: one ingress or egress rule of a security group (id = the
//! `sgr-…` rule id), to a CIDR (`cidr_ipv4`) or another group (`referenced_group_id`). EC2
//! cannot change what a rule matches in place: any change but `description` and `tags`
//! means a new rule.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, ResourceType, SecurityGroupRuleDescription, UserIdGroupPair,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_not_found, ec2_one, found};
use super::props::{Typed, part, typed};
use super::tags;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct SecurityGroupRule(pub std::sync::Arc<AwsContext>);

/// The rule's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupRuleProps {
    /// The group the rule belongs to.
    pub security_group_id: String,
    /// Whether the rule admits traffic into the group or lets it out.
    pub direction: Direction,
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub ip_protocol: String,
    /// First port of the range (`-1` with protocol `-1`).
    pub from_port: i32,
    /// Last port of the range.
    pub to_port: i32,
    /// What the rule is for; the only part EC2 changes in place.
    pub description: String,
    /// Where the traffic comes from or goes to.
    #[serde(flatten)]
    pub peer: Peer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Ingress,
    Egress,
}

/// The other end of a rule: an IPv4 range or a security group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    CidrIpv4(String),
    ReferencedGroupId(String),
}

typed!(
    SecurityGroupRuleProps,
    "aws.security_group_rule",
    "security group rule"
);

/// What revoking a rule needs: its group and direction (also all the sweep knows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleOf {
    pub security_group_id: String,
    pub direction: Direction,
}

/// The one permission a rule's properties describe.
fn permission(props: &SecurityGroupRuleProps) -> IpPermission {
    let description = Some(props.description.clone());
    let p = IpPermission::builder()
        .ip_protocol(&props.ip_protocol)
        .from_port(props.from_port)
        .to_port(props.to_port);
    let p = match &props.peer {
        Peer::CidrIpv4(cidr) => p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description)
                .build(),
        ),
        Peer::ReferencedGroupId(group) => p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(description)
                .build(),
        ),
    };
    p.build()
}

impl SecurityGroupRule {
    async fn describe(
        &self,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::SecurityGroupRule>, ProviderError> {
        Ok(ec2_one!(
            self.0
                .ec2
                .describe_security_group_rules()
                .security_group_rule_ids(id),
            security_group_rules
        ))
    }

    /// The description of a group-referencing rule as the group's permission list shows it.
    /// Both views carry it in AWS; the rule view of some emulators (moto) omits it for
    /// group references, and the permission view is the older, universally supported one.
    async fn pair_description(
        &self,
        r: &aws_sdk_ec2::types::SecurityGroupRule,
        peer: &str,
    ) -> Result<Option<String>, ProviderError> {
        let group = r.group_id().unwrap_or_default();
        let Some(g) = ec2_one!(
            self.0.ec2.describe_security_groups().group_ids(group),
            security_groups
        ) else {
            return Ok(None);
        };
        let perms = if r.is_egress() == Some(true) {
            g.ip_permissions_egress()
        } else {
            g.ip_permissions()
        };
        Ok(perms
            .iter()
            .filter(|p| {
                p.ip_protocol() == r.ip_protocol()
                    && p.from_port() == r.from_port()
                    && p.to_port() == r.to_port()
            })
            .flat_map(|p| p.user_id_group_pairs())
            .find(|pair| pair.group_id() == Some(peer))
            .and_then(|pair| pair.description().map(str::to_string)))
    }
}

#[async_trait]
impl Resource for SecurityGroupRule {
    fn kind(&self) -> &'static str {
        SecurityGroupRuleProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        !matches!(field, "description" | "tags")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(r) = self.describe(id).await? else {
            return Ok(None);
        };
        let mut props = json!({
            "security_group_id": r.group_id(),
            "direction": if r.is_egress() == Some(true) { "egress" } else { "ingress" },
            "ip_protocol": r.ip_protocol(),
            "from_port": r.from_port(),
            "to_port": r.to_port(),
            "description": r.description(),
            "tags": tags::from_ec2(r.tags()),
        });
        if let Some(cidr) = r.cidr_ipv4() {
            props["cidr_ipv4"] = json!(cidr);
        }
        if let Some(peer) = r.referenced_group_info().and_then(|g| g.group_id()) {
            props["referenced_group_id"] = json!(peer);
            if r.description().is_none() {
                props["description"] = json!(self.pair_description(&r, peer).await?);
            }
        }
        Ok(Some(Live {
            props,
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = SecurityGroupRuleProps::from_value(req.props)?;
        let group = p.security_group_id.as_str();
        let spec = tags::ec2_spec(ResourceType::SecurityGroupRule, req.props);
        // Egress and ingress are two calls with the same shape but different builder types.
        macro_rules! authorize {
            ($call:ident) => {
                self.0
                    .ec2
                    .$call()
                    .group_id(group)
                    .ip_permissions(permission(&p))
                    .tag_specifications(spec)
                    .send()
                    .await
                    .map_err(classify)?
                    .security_group_rules
            };
        }
        let rules = if p.direction == Direction::Egress {
            authorize!(authorize_security_group_egress)
        } else {
            authorize!(authorize_security_group_ingress)
        };
        let id = rules
            .unwrap_or_default()
            .first()
            .and_then(|r| r.security_group_rule_id())
            .ok_or_else(|| ProviderError::Api("authorizing the rule returned no rule id".into()))?
            .to_string();
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        if changed.iter().any(|f| f == "description") {
            let p = SecurityGroupRuleProps::from_value(new)?;
            let group = p.security_group_id.as_str();
            let d = SecurityGroupRuleDescription::builder()
                .security_group_rule_id(id)
                .description(&p.description)
                .build();
            if p.direction == Direction::Egress {
                self.0
                    .ec2
                    .update_security_group_rule_descriptions_egress()
                    .group_id(group)
                    .security_group_rule_descriptions(d)
                    .send()
                    .await
                    .map_err(classify)?;
            } else {
                self.0
                    .ec2
                    .update_security_group_rule_descriptions_ingress()
                    .group_id(group)
                    .security_group_rule_descriptions(d)
                    .send()
                    .await
                    .map_err(classify)?;
            }
        }
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        Ok(Outputs::new())
    }

    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError> {
        let rule: RuleOf = part::<SecurityGroupRuleProps, _>(applied)?;
        let group = rule.security_group_id.as_str();
        // The rule or its whole group being gone already is success.
        let ec2 = &self.0.ec2;
        if rule.direction == Direction::Egress {
            let revoke = ec2.revoke_security_group_egress().group_id(group);
            found(
                revoke.security_group_rule_ids(id).send().await,
                ec2_not_found,
            )?;
        } else {
            let revoke = ec2.revoke_security_group_ingress().group_id(group);
            found(
                revoke.security_group_rule_ids(id).send().await,
                ec2_not_found,
            )?;
        }
        Ok(())
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tags::ec2_tagged!(
            self.0.ec2.describe_security_group_rules(),
            set_filters,
            security_group_rules,
            stack,
            address
        );
        Ok(tags::adopted(
            found.first().and_then(|r| r.security_group_rule_id()),
        ))
    }
}

/// Rule properties as the sweep needs them to revoke a rule it found by tag.
pub fn sweep_props(r: &aws_sdk_ec2::types::SecurityGroupRule) -> Value {
    let direction = if r.is_egress() == Some(true) {
        Direction::Egress
    } else {
        Direction::Ingress
    };
    json!(RuleOf {
        security_group_id: r.group_id().unwrap_or_default().to_string(),
        direction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_targets_a_cidr_or_a_group() {
        let props = |peer: Value| {
            let mut p = json!({
                "security_group_id": "sg-0", "direction": "ingress", "ip_protocol": "tcp",
                "from_port": 2049, "to_port": 2049, "description": "d",
            });
            p.as_object_mut()
                .unwrap()
                .extend(peer.as_object().unwrap().clone());
            SecurityGroupRuleProps::from_value(&p).unwrap()
        };
        let p = permission(&props(
            json!({"cidr_ipv4": "10.0.0.0/8", "tags": {"a": "b"}}),
        ));
        assert_eq!(p.ip_ranges()[0].cidr_ip(), Some("10.0.0.0/8"));
        assert_eq!(p.ip_ranges()[0].description(), Some("d"));
        assert!(p.user_id_group_pairs().is_empty());
        let p = permission(&props(json!({"referenced_group_id": "sg-1"})));
        assert_eq!(p.user_id_group_pairs()[0].group_id(), Some("sg-1"));
        assert_eq!(p.from_port(), Some(2049));
    }
}
