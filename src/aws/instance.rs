//! `aws.instance`: one EC2 instance running `wxrun` as a systemd service (user data from
//! `userdata/`). Stacks now run EC2 in an Auto Scaling group (`aws.autoscaling_group`); this
//! kind stays so states made before can still be read, replaced create before destroy and
//! swept. The AMI is the latest Amazon Linux 2023 for the architecture, resolved from
//! AWS's public SSM parameter at create time (so a newer AMI never replaces a running
//! instance). IMDSv2 is required. Instance type, architecture, subnet, instance profile and
//! user data force a new instance (user data only runs on first boot); security groups,
//! metadata options and tags change in place. Target registration is the separate
//! `aws.lb_target_attachment` kind.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, HttpTokensState, IamInstanceProfileSpecification, Instance, InstanceAttributeName,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName, InstanceType,
    ResourceType,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, ec2_not_found, found};
use super::launch_template::Metadata;
use super::props::{Typed, ordered_like, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The instance's properties, as the states that still hold instances have them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceProps {
    /// The EC2 instance type, e.g. `t4g.small`.
    pub instance_type: String,
    /// `x86_64` or `arm64`: picks the Amazon Linux 2023 AMI's SSM parameter.
    pub arch: String,
    /// The stack's compute subnets; the instance lands in the `subnet_index`-th.
    pub subnet_ids: Vec<String>,
    /// Which of `subnet_ids` (wrapping), so a stack's instances spread across them.
    pub subnet_index: usize,
    /// Security groups of the instance's primary network interface.
    pub security_group_ids: Vec<String>,
    /// The instance profile the instance runs with (its role is what `wxrun` may do).
    pub instance_profile_arn: String,
    /// The cloud-init script the instance runs on first boot (plain text; base64 on the wire).
    pub user_data: String,
    /// Instance metadata service options.
    pub metadata: Metadata,
}

typed!(InstanceProps, "aws.instance", "EC2 instance");

pub struct Ec2Instance(pub std::sync::Arc<AwsContext>);

const RUNNING: Duration = Duration::from_secs(600);
const TERMINATED: Duration = Duration::from_secs(600);

/// The public SSM parameter naming the latest Amazon Linux 2023 AMI for `arch`.
pub fn ami_parameter(arch: &str) -> String {
    format!("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}")
}

/// The latest Amazon Linux 2023 AMI for `arch`, read from AWS's public SSM parameter.
pub async fn latest_ami(ctx: &AwsContext, arch: &str) -> Result<String, ProviderError> {
    let name = ami_parameter(arch);
    let out = ctx
        .ssm
        .get_parameter()
        .name(&name)
        .send()
        .await
        .map_err(classify)?;
    out.parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Api(format!("{name} has no value")))
}

/// The subnet the instance lands in: the `subnet_index`-th of `subnet_ids`, wrapping.
pub fn subnet(p: &InstanceProps) -> Result<String, ProviderError> {
    let subnets = &p.subnet_ids;
    if subnets.is_empty() {
        return Err(ProviderError::Validation("`subnet_ids` is empty".into()));
    }
    Ok(subnets[p.subnet_index % subnets.len()].clone())
}

/// IMDSv2 only (session tokens required), with the hop limit from the properties.
pub fn metadata_options(m: &Metadata) -> InstanceMetadataOptionsRequest {
    InstanceMetadataOptionsRequest::builder()
        .http_endpoint(InstanceMetadataEndpointState::Enabled)
        .http_tokens(HttpTokensState::from(m.http_tokens.as_str()))
        .http_put_response_hop_limit(m.hop_limit)
        .build()
}

fn outputs(i: &Instance) -> Outputs {
    let mut o = Outputs::new();
    o.insert("private_ip".into(), json!(i.private_ip_address()));
    o.insert("public_ip".into(), json!(i.public_ip_address()));
    o
}

impl Ec2Instance {
    async fn describe(&self, id: &str) -> Result<Option<Instance>, ProviderError> {
        let described = self.0.ec2.describe_instances().instance_ids(id);
        Ok(found(described.send().await, ec2_not_found)?.and_then(|o| {
            o.reservations()
                .iter()
                .flat_map(|r| r.instances())
                .next()
                .cloned()
        }))
    }

    async fn user_data(&self, id: &str) -> Result<Option<String>, ProviderError> {
        let out = self
            .0
            .ec2
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(InstanceAttributeName::UserData)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .user_data()
            .and_then(|u| u.value())
            .and_then(|b| aws_smithy_types::base64::decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    async fn running(&self, id: &str) -> Result<Instance, ProviderError> {
        wait::until("instance to be running", RUNNING, || async {
            match self.describe(id).await? {
                Some(i) => match i.state().and_then(|s| s.name()) {
                    Some(InstanceStateName::Running) => Ok(Some(i)),
                    Some(InstanceStateName::Pending) | None => Ok(None),
                    Some(other) => Err(ProviderError::Api(format!(
                        "instance {id} is {} instead of running",
                        other.as_str()
                    ))),
                },
                // Eventual consistency right after RunInstances.
                None => Ok(None),
            }
        })
        .await
    }
}

#[async_trait]
impl Resource for Ec2Instance {
    fn kind(&self) -> &'static str {
        InstanceProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(
            field,
            "instance_type"
                | "arch"
                | "subnet_ids"
                | "subnet_index"
                | "instance_profile_arn"
                | "user_data"
        )
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(i) = self.describe(id).await? else {
            return Ok(None);
        };
        if matches!(
            i.state().and_then(|s| s.name()),
            Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
        ) {
            return Ok(None);
        }
        // The subnet list is the stack's, not the instance's: it holds when the instance sits
        // in the subnet the list and index pick.
        let a = InstanceProps::from_value(applied)?;
        let live_subnet = i.subnet_id().unwrap_or_default();
        let (subnet_ids, subnet_index) = if subnet(&a).ok().as_deref() == Some(live_subnet) {
            (json!(a.subnet_ids), json!(a.subnet_index))
        } else {
            (json!([live_subnet]), json!(0))
        };
        let groups = i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect();
        let md = i.metadata_options();
        let props = json!({
            "instance_type": i.instance_type().map(|t| t.as_str()),
            "arch": i.architecture().map(|a| a.as_str()),
            "subnet_ids": subnet_ids,
            "subnet_index": subnet_index,
            "security_group_ids": ordered_like(groups, applied, "security_group_ids"),
            "instance_profile_arn": i.iam_instance_profile().and_then(|p| p.arn()),
            "user_data": self.user_data(id).await?,
            "metadata": {
                "http_tokens": md.and_then(|m| m.http_tokens()).map(|t| t.as_str()),
                "hop_limit": md.and_then(|m| m.http_put_response_hop_limit()),
            },
            "tags": tags::from_ec2(i.tags()),
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&i),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = InstanceProps::from_value(req.props)?;
        let ami = latest_ami(&self.0, &p.arch).await?;
        let user_data = aws_smithy_types::base64::encode(&p.user_data);
        let call = self
            .0
            .ec2
            .run_instances()
            .image_id(ami)
            .instance_type(InstanceType::from(p.instance_type.as_str()))
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet(&p)?)
            .set_security_group_ids(Some(p.security_group_ids.clone()))
            .iam_instance_profile(
                IamInstanceProfileSpecification::builder()
                    .arn(&p.instance_profile_arn)
                    .build(),
            )
            .user_data(user_data)
            .metadata_options(metadata_options(&p.metadata))
            // The engine's token: a RunInstances retried after a crash starts no second one.
            .client_token(req.token)
            .tag_specifications(tags::ec2_spec(ResourceType::Instance, req.props))
            .tag_specifications(tags::ec2_spec(ResourceType::Volume, req.props));
        // An instance profile created moments ago may not have reached EC2 yet.
        let out = wait::while_iam_propagates(|| call.clone().send())
            .await
            .map_err(classify)?;
        let id = out
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .ok_or_else(|| ProviderError::Api("RunInstances returned no instance".into()))?
            .to_string();
        let i = self.running(&id).await?;
        Ok(Created {
            id,
            outputs: outputs(&i),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let p = InstanceProps::from_value(new)?;
        if changed.iter().any(|f| f == "security_group_ids") {
            self.0
                .ec2
                .modify_instance_attribute()
                .instance_id(id)
                .set_groups(Some(p.security_group_ids))
                .send()
                .await
                .map_err(classify)?;
        }
        if changed.iter().any(|f| f == "metadata") {
            let m = metadata_options(&p.metadata);
            self.0
                .ec2
                .modify_instance_metadata_options()
                .instance_id(id)
                .set_http_tokens(m.http_tokens().cloned())
                .set_http_put_response_hop_limit(m.http_put_response_hop_limit())
                .send()
                .await
                .map_err(classify)?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        let i = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::NotFound { what: id.into() })?;
        Ok(outputs(&i))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let terminate = self.0.ec2.terminate_instances().instance_ids(id);
        if found(terminate.send().await, ec2_not_found)?.is_none() {
            return Ok(());
        }
        wait::until("instance to terminate", TERMINATED, || async {
            Ok(self
                .describe(id)
                .await?
                .is_none_or(|i| {
                    i.state().and_then(|s| s.name()) == Some(&InstanceStateName::Terminated)
                })
                .then_some(()))
        })
        .await
    }

    async fn find_orphan(
        &self,
        _stack: &str,
        _address: &str,
        token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let out = self
            .0
            .ec2
            .describe_instances()
            .filters(Filter::builder().name("client-token").values(token).build())
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| {
                !matches!(
                    i.state().and_then(|s| s.name()),
                    Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
                )
            })
            .map(|i| Created {
                id: i.instance_id().unwrap_or_default().to_string(),
                outputs: outputs(i),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ami_comes_from_the_al2023_parameter_for_the_arch() {
        assert_eq!(
            ami_parameter("arm64"),
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
        );
    }

    #[test]
    fn instances_spread_over_subnets() {
        let p = |i| {
            InstanceProps::from_value(&json!({
                "instance_type": "t4g.small", "arch": "arm64",
                "subnet_ids": ["s-a", "s-b"], "subnet_index": i,
                "security_group_ids": ["sg-1"], "instance_profile_arn": "arn:aws:iam::1:instance-profile/p",
                "user_data": "#!/bin/bash\n", "metadata": {"http_tokens": "required", "hop_limit": 1},
            }))
            .unwrap()
        };
        assert_eq!(subnet(&p(0)).unwrap(), "s-a");
        assert_eq!(subnet(&p(1)).unwrap(), "s-b");
        assert_eq!(subnet(&p(2)).unwrap(), "s-a");
    }

    #[test]
    fn metadata_requires_imdsv2_tokens() {
        let m = metadata_options(&Metadata {
            http_tokens: "required".into(),
            hop_limit: 1,
        });
        assert_eq!(m.http_tokens(), Some(&HttpTokensState::Required));
        assert_eq!(m.http_put_response_hop_limit(), Some(1));
    }
}
