//! `aws.launch_template`: what each instance of the EC2 Auto Scaling group is launched from.
//! The template holds everything a bare instance had: the latest Amazon Linux 2023 AMI for
//! the architecture (from AWS's public SSM parameter, resolved when a version is made), the
//! instance type, IMDSv2 required, the instance profile, the user data, the security groups
//! and the tags the instances and their volumes carry.
//!
//! A change makes a new template version and makes it the default (templates are versioned,
//! so only the name forces a new template). The new version number is the `version` output,
//! which the group follows: an in-place update here gives that output a new value, so plan
//! shows the group's change as known after apply, and the group starts an instance refresh.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    LaunchTemplate, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateTagSpecificationRequest, LaunchTemplateVersion, RequestLaunchTemplateData,
    ResourceType,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::props::{Typed, typed};

use super::errors::{accepted, classify, ec2_not_found, ec2_one};
use super::instance::latest_ami;
use super::props::ordered_like;
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct Ec2LaunchTemplate(pub std::sync::Arc<AwsContext>);

const VISIBLE: std::time::Duration = std::time::Duration::from_secs(60);

/// The template's properties: one version's launch data plus the template's name and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchTemplateProps {
    /// The template name, unique in the account and region.
    pub name: String,
    /// The EC2 instance type, e.g. `t3.small`.
    pub instance_type: String,
    /// `x86_64` or `arm64`: picks the Amazon Linux 2023 AMI's SSM parameter.
    pub arch: String,
    /// Security groups of the instances' primary network interface.
    pub security_group_ids: Vec<String>,
    /// The instance profile the instances run with (its role is what `wxrun` may do).
    pub instance_profile_arn: String,
    /// The cloud-init script each instance runs on first boot (plain text; base64 on the wire).
    pub user_data: String,
    /// Instance metadata service options.
    pub metadata: Metadata,
    /// Tags of the template, and of the instances and volumes launched from it.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Instance metadata (IMDS) options of the instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// `required` for IMDSv2 only (session tokens).
    pub http_tokens: String,
    /// Network hops a metadata response may travel: 1 keeps it on the host.
    pub hop_limit: i32,
}

typed!(
    LaunchTemplateProps,
    "aws.launch_template",
    "launch template"
);

impl LaunchTemplateProps {
    fn tag_pairs(&self) -> Vec<aws_sdk_ec2::types::Tag> {
        self.tags
            .iter()
            .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
            .collect()
    }

    /// One version's launch data, with `ami` as its image.
    fn data(&self, ami: String) -> RequestLaunchTemplateData {
        let spec = |r: ResourceType| {
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(r)
                .set_tags(Some(self.tag_pairs()))
                .build()
        };
        RequestLaunchTemplateData::builder()
            .image_id(ami)
            .instance_type(self.instance_type.as_str().into())
            .set_security_group_ids(Some(self.security_group_ids.clone()))
            .iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                    .arn(&self.instance_profile_arn)
                    .build(),
            )
            .user_data(aws_smithy_types::base64::encode(&self.user_data))
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                    .http_tokens(LaunchTemplateHttpTokensState::from(
                        self.metadata.http_tokens.as_str(),
                    ))
                    .http_put_response_hop_limit(self.metadata.hop_limit)
                    .build(),
            )
            .tag_specifications(spec(ResourceType::Instance))
            .tag_specifications(spec(ResourceType::Volume))
            .build()
    }
}

fn outputs(id: &str, name: &str, version: i64, ami: Option<&str>) -> Outputs {
    let mut o = Outputs::new();
    o.insert("name".into(), json!(name));
    // A string, as Auto Scaling takes it (`LaunchTemplateSpecification.Version`).
    o.insert("version".into(), json!(version.to_string()));
    o.insert("image_id".into(), json!(ami));
    o.insert("id".into(), json!(id));
    o
}

impl Ec2LaunchTemplate {
    async fn describe(&self, id: &str) -> Result<Option<LaunchTemplate>, ProviderError> {
        Ok(ec2_one!(
            self.0
                .ec2
                .describe_launch_templates()
                .launch_template_ids(id),
            launch_templates
        ))
    }

    async fn latest(&self, id: &str) -> Result<Option<LaunchTemplateVersion>, ProviderError> {
        let latest = self.0.ec2.describe_launch_template_versions();
        Ok(ec2_one!(
            latest.launch_template_id(id).versions("$Latest"),
            launch_template_versions
        ))
    }

    async fn current_outputs(&self, id: &str) -> Result<Outputs, ProviderError> {
        // Read after write: a template made moments ago may not be listed yet.
        let v = wait::until("launch template to be visible", VISIBLE, || self.latest(id)).await?;
        let data = v.launch_template_data();
        Ok(outputs(
            id,
            v.launch_template_name().unwrap_or_default(),
            v.version_number().unwrap_or_default(),
            data.and_then(|d| d.image_id()),
        ))
    }
}

#[async_trait]
impl Resource for Ec2LaunchTemplate {
    fn kind(&self) -> &'static str {
        "aws.launch_template"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "name"
    }

    fn updates_output(&self, output: &str, _changed: &[String]) -> bool {
        matches!(output, "version" | "image_id")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(t) = self.describe(id).await? else {
            return Ok(None);
        };
        let Some(v) = self.latest(id).await? else {
            return Ok(None);
        };
        let applied = LaunchTemplateProps::from_value(applied)?;
        let d = v.launch_template_data();
        let md = d.and_then(|d| d.metadata_options());
        let user_data = d
            .and_then(|d| d.user_data())
            .and_then(|b| aws_smithy_types::base64::decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let groups: Vec<String> = d
            .map(|d| d.security_group_ids().to_vec())
            .unwrap_or_default();
        let live = json!({
            "name": t.launch_template_name(),
            "instance_type": d.and_then(|d| d.instance_type()).map(|t| t.as_str()),
            // The image comes from the architecture's parameter; the template keeps only the AMI.
            "arch": applied.arch,
            "security_group_ids": ordered_like(groups, &json!(applied), "security_group_ids"),
            "instance_profile_arn": d.and_then(|d| d.iam_instance_profile()).and_then(|p| p.arn()),
            "user_data": user_data,
            "metadata": {
                "http_tokens": md.and_then(|m| m.http_tokens()).map(|t| t.as_str()),
                "hop_limit": md.and_then(|m| m.http_put_response_hop_limit()),
            },
            "tags": tags::from_ec2(t.tags()),
        });
        Ok(Some(Live {
            props: live,
            outputs: outputs(
                id,
                t.launch_template_name().unwrap_or_default(),
                v.version_number().unwrap_or_default(),
                d.and_then(|d| d.image_id()),
            ),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LaunchTemplateProps::from_value(req.props)?;
        let ami = latest_ami(&self.0, &p.arch).await?;
        let out = self
            .0
            .ec2
            .create_launch_template()
            .launch_template_name(&p.name)
            .launch_template_data(p.data(ami))
            // The engine's token: a resent create returns the template it made.
            .client_token(req.token)
            .tag_specifications(tags::ec2_spec(ResourceType::LaunchTemplate, req.props))
            .send()
            .await
            .map_err(classify)?;
        let id = out
            .launch_template()
            .and_then(|t| t.launch_template_id())
            .ok_or_else(|| ProviderError::Api("CreateLaunchTemplate returned no id".into()))?
            .to_string();
        Ok(Created {
            outputs: self.current_outputs(&id).await?,
            id,
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let p = LaunchTemplateProps::from_value(new)?;
        if changed.iter().any(|f| f != "tags") {
            let ami = latest_ami(&self.0, &p.arch).await?;
            let out = self
                .0
                .ec2
                .create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(p.data(ami))
                .send()
                .await
                .map_err(classify)?;
            let version = out
                .launch_template_version()
                .and_then(|v| v.version_number())
                .ok_or_else(|| {
                    ProviderError::Api("CreateLaunchTemplateVersion returned no version".into())
                })?;
            // The default version is what the console and a bare RunInstances launch.
            self.0
                .ec2
                .modify_launch_template()
                .launch_template_id(id)
                .default_version(version.to_string())
                .send()
                .await
                .map_err(classify)?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::ec2_update(&self.0.ec2, id, old, new).await?;
        }
        self.current_outputs(id).await
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        accepted(
            self.0
                .ec2
                .delete_launch_template()
                .launch_template_id(id)
                .send()
                .await,
            ec2_not_found,
        )?;
        Ok(())
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tags::ec2_tagged!(
            self.0.ec2.describe_launch_templates(),
            set_filters,
            launch_templates,
            stack,
            address
        );
        let Some(id) = found.first().and_then(|t| t.launch_template_id()) else {
            return Ok(None);
        };
        Ok(Some(Created {
            id: id.to_string(),
            outputs: self.current_outputs(id).await?,
        }))
    }
}

/// The stack's launch templates, found by their stack tag: what the sweep removes.
pub async fn stack_templates(ctx: &AwsContext, stack: &str) -> Result<Vec<String>, ProviderError> {
    let out = ctx
        .ec2
        .describe_launch_templates()
        .filters(tags::ec2_stack_filter(stack))
        .send()
        .await
        .map_err(classify)?;
    Ok(out
        .launch_templates()
        .iter()
        .filter_map(|t| t.launch_template_id().map(str::to_string))
        .collect())
}
