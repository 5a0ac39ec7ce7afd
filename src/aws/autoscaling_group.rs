//! `aws.autoscaling_group`: the EC2 Auto Scaling group that runs the stack's `wxrun`
//! instances from the launch template, across the stack's compute subnets, registered in the
//! EC2 target group, replaced when the load balancer finds them unhealthy (ELB health checks
//! after a grace period).
//!
//! Create waits until the desired number of instances is in service and healthy in every
//! target group (Terraform's `wait_for_elb_capacity`), so anything ordered after the group
//! (the removal of bare instances it replaces) meets a serving fleet.
//!
//! A new launch template version is rolled out by an **instance refresh**: the group is
//! pointed at the version, then `StartInstanceRefresh` replaces the instances that run an
//! older one, keeping at least `min_healthy_percentage` of the desired capacity in service
//! (at 100 %, new instances are launched and warmed before old ones stop, so the target group
//! never runs empty). Apply waits for the refresh, bounded, reporting its progress; a failed
//! or cancelled refresh fails the update. The group's `launch_template_version` is read as
//! the oldest version an in-service instance runs, so an interrupted or failed refresh shows
//! as a change and the next apply refreshes again.
//!
//! Delete forces the group's instances to terminate with it and waits until the group is gone
//! (AWS shows it "Delete in progress" meanwhile), so the security groups and subnets can go.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{
    Activity, AutoScalingGroup, Filter, InstanceRefresh, InstanceRefreshStatus,
    LaunchTemplateSpecification, RefreshPreferences, RefreshStrategy, ScalingActivityStatusCode,
    Tag,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::classify;
use super::props::ordered_like;
use super::props::{Typed, Val, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct AutoscalingGroup(pub std::sync::Arc<AwsContext>);

/// How long create waits for the first instances to serve, and delete for them to stop.
const CAPACITY: Duration = Duration::from_secs(900);
const GONE: Duration = Duration::from_secs(900);
/// How long an instance refresh may take before apply gives up waiting (the refresh goes on).
pub const REFRESH: Duration = Duration::from_secs(3600);

/// The group's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscalingGroupProps {
    /// The group's name, unique in the account and region.
    pub name: String,
    /// The launch template the group launches instances from.
    pub launch_template_id: String,
    /// The template version new instances get (a number, as a string).
    pub launch_template_version: String,
    /// The group never runs fewer instances than this, nor more than `max_size`.
    pub min_size: i32,
    pub max_size: i32,
    /// Instances wanted now; a scaling policy moves it between the bounds.
    pub desired_capacity: i32,
    /// Subnets the instances are spread across (`VPCZoneIdentifier`); a looked-up VPC's
    /// are a reference until apply.
    pub subnet_ids: Val<Vec<String>>,
    /// Target groups every in-service instance is registered in.
    pub target_group_arns: Vec<String>,
    /// Seconds after launch before a failing ELB health check replaces an instance.
    pub health_check_grace_period: i32,
    /// Seconds a new instance takes to serve: scaling and refreshes wait this long before
    /// counting it (`DefaultInstanceWarmup`).
    pub instance_warmup: i32,
    /// Share of the desired capacity an instance refresh keeps in service, in percent.
    pub min_healthy_percentage: i32,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

typed!(
    AutoscalingGroupProps,
    "aws.autoscaling_group",
    "Auto Scaling group"
);

impl AutoscalingGroupProps {
    /// The subnets as the API takes them: comma-separated.
    fn zones(&self) -> Result<String, ProviderError> {
        Ok(self.subnet_ids.known("subnet_ids")?.join(","))
    }

    fn template(&self) -> LaunchTemplateSpecification {
        LaunchTemplateSpecification::builder()
            .launch_template_id(&self.launch_template_id)
            .version(&self.launch_template_version)
            .build()
    }

    fn tags(&self) -> Vec<Tag> {
        self.tags
            .iter()
            .map(|(k, v)| self.tag(k, Some(v)))
            .collect()
    }

    /// A group tag; instances take theirs from the launch template, so none propagates.
    fn tag(&self, key: &str, value: Option<&str>) -> Tag {
        Tag::builder()
            .resource_id(&self.name)
            .resource_type("auto-scaling-group")
            .key(key)
            .set_value(value.map(str::to_string))
            .propagate_at_launch(false)
            .build()
    }

    /// Refresh preferences: keep `min_healthy_percentage` in service and allow up to 100
    /// points above it (at most 200 %), so at 100 % replacements launch before old instances
    /// stop; instances already on the version are skipped.
    fn refresh_preferences(&self) -> RefreshPreferences {
        RefreshPreferences::builder()
            .min_healthy_percentage(self.min_healthy_percentage)
            .max_healthy_percentage((self.min_healthy_percentage + 100).min(200))
            .instance_warmup(self.instance_warmup)
            .skip_matching(true)
            .build()
    }
}

fn outputs(g: &AutoScalingGroup) -> Outputs {
    let mut o = Outputs::new();
    o.insert("name".into(), json!(g.auto_scaling_group_name()));
    o.insert("arn".into(), json!(g.auto_scaling_group_arn()));
    o
}

/// The oldest launch template version an in-service instance runs, or the group's own when
/// every instance runs it (or there is none).
pub fn fleet_version(g: &AutoScalingGroup) -> Option<String> {
    let group = g.launch_template().and_then(|t| t.version())?;
    let oldest = g
        .instances()
        .iter()
        .filter(|i| {
            i.lifecycle_state()
                .is_some_and(|s| s.as_str() == "InService")
        })
        .filter_map(|i| i.launch_template().and_then(|t| t.version()))
        .filter(|v| *v != group)
        .min_by_key(|v| v.parse::<u64>().unwrap_or(0));
    Some(oldest.unwrap_or(group).to_string())
}

/// Where a refresh stands: `Ok(None)` while it runs (with a line of progress), `Ok(Some)`
/// when it succeeded, an error when it ended any other way.
pub fn refresh_outcome(r: &InstanceRefresh) -> Result<Option<()>, ProviderError> {
    use InstanceRefreshStatus as S;
    let reason = r.status_reason().unwrap_or("no reason given");
    match r.status() {
        Some(S::Successful) => Ok(Some(())),
        Some(S::Pending | S::InProgress | S::Baking | S::Cancelling | S::RollbackInProgress)
        | None => Ok(None),
        Some(other) => Err(ProviderError::Api(format!(
            "instance refresh {} ended {}: {reason}",
            r.instance_refresh_id().unwrap_or("?"),
            other.as_str()
        ))),
    }
}

/// The newest failed scaling activity (Auto Scaling lists the newest first), as its
/// description and AWS's status message.
pub fn last_failure(activities: &[Activity]) -> Option<String> {
    let a = activities
        .iter()
        .find(|a| a.status_code() == Some(&ScalingActivityStatusCode::Failed))?;
    Some(format!(
        "{}: {}",
        a.description().unwrap_or("an activity"),
        a.status_message().unwrap_or("no message given")
    ))
}

/// A line of a refresh's progress.
pub fn refresh_progress(r: &InstanceRefresh) -> String {
    format!(
        "instance refresh {}: {} ({} % done, {} instances to update)",
        r.instance_refresh_id().unwrap_or("?"),
        r.status().map_or("Pending", |s| s.as_str()),
        r.percentage_complete().unwrap_or(0),
        r.instances_to_update().unwrap_or(0),
    )
}

impl AutoscalingGroup {
    async fn describe(&self, name: &str) -> Result<Option<AutoScalingGroup>, ProviderError> {
        let out = self
            .0
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.auto_scaling_groups().first().cloned())
    }

    async fn existing(&self, name: &str) -> Result<AutoScalingGroup, ProviderError> {
        // Read after write: a group made moments ago may not be listed yet.
        wait::until(
            "Auto Scaling group to be visible",
            Duration::from_secs(60),
            || self.describe(name),
        )
        .await
    }

    /// Instance ids of the group that every target group reports healthy.
    async fn healthy_in_target_groups(
        &self,
        p: &AutoscalingGroupProps,
        ids: &[String],
    ) -> Result<usize, ProviderError> {
        let mut healthy: Option<std::collections::BTreeSet<String>> = None;
        for tg in &p.target_group_arns {
            let out = self
                .0
                .elb
                .describe_target_health()
                .target_group_arn(tg)
                .send()
                .await
                .map_err(classify)?;
            let here: std::collections::BTreeSet<String> = out
                .target_health_descriptions()
                .iter()
                .filter(|d| {
                    d.target_health()
                        .and_then(|h| h.state())
                        .map(|s| s.as_str())
                        == Some("healthy")
                })
                .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_string))
                .collect();
            healthy = Some(match healthy {
                None => here,
                Some(h) => h.intersection(&here).cloned().collect(),
            });
        }
        Ok(ids
            .iter()
            .filter(|i| healthy.as_ref().is_none_or(|h| h.contains(*i)))
            .count())
    }

    /// Waits until `desired` instances are in service and healthy behind the load balancer;
    /// a wait that runs out says why the group's last launch failed, when one did (Auto
    /// Scaling retries failed launches, so a failure alone ends nothing).
    async fn serving(&self, p: &AutoscalingGroupProps) -> Result<AutoScalingGroup, ProviderError> {
        match self.until_serving(p).await {
            Err(ProviderError::Timeout { what, seconds }) => {
                let activities = self
                    .0
                    .autoscaling
                    .describe_scaling_activities()
                    .auto_scaling_group_name(&p.name)
                    .max_records(10)
                    .send()
                    .await
                    .map_err(classify)?;
                Err(match last_failure(activities.activities()) {
                    Some(why) => ProviderError::Api(format!(
                        "timed out after {seconds}s waiting for {what}; the group's last failed activity: {why}"
                    )),
                    None => ProviderError::Timeout { what, seconds },
                })
            }
            other => other,
        }
    }

    async fn until_serving(
        &self,
        p: &AutoscalingGroupProps,
    ) -> Result<AutoScalingGroup, ProviderError> {
        let what = format!(
            "{} instance(s) of {} to be in service and healthy",
            p.desired_capacity, p.name
        );
        wait::until(&what, CAPACITY, || async {
            let Some(g) = self.describe(&p.name).await? else {
                return Ok(None);
            };
            let in_service: Vec<String> = g
                .instances()
                .iter()
                .filter(|i| {
                    i.lifecycle_state()
                        .is_some_and(|s| s.as_str() == "InService")
                })
                .filter_map(|i| i.instance_id().map(str::to_string))
                .collect();
            // The group's own count: under a scaling policy it is the policy's, not the stack's.
            let want =
                usize::try_from(g.desired_capacity().unwrap_or(p.desired_capacity)).unwrap_or(0);
            if in_service.len() < want {
                return Ok(None);
            }
            let healthy = self.healthy_in_target_groups(p, &in_service).await?;
            crate::provider::progress(format!("{healthy} of {want} instances serving"));
            Ok((healthy >= want).then_some(g))
        })
        .await
    }

    /// Rolls the group's instances onto its launch template version and waits for it.
    async fn refresh(&self, p: &AutoscalingGroupProps) -> Result<(), ProviderError> {
        let started = self
            .0
            .autoscaling
            .start_instance_refresh()
            .auto_scaling_group_name(&p.name)
            .strategy(RefreshStrategy::Rolling)
            .preferences(p.refresh_preferences())
            .send()
            .await;
        let id = match started {
            Ok(o) => o.instance_refresh_id().map(str::to_string),
            // One refresh at a time: one an interrupted apply started is waited for, then
            // ours is started (it skips instances that refresh already moved).
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_instance_refresh_in_progress_fault()) =>
            {
                self.wait_refresh(p, None).await?;
                return Box::pin(self.refresh(p)).await;
            }
            Err(e) => return Err(classify(e)),
        };
        self.wait_refresh(p, id).await
    }

    /// Waits for refresh `id` (or the group's latest) to succeed.
    async fn wait_refresh(
        &self,
        p: &AutoscalingGroupProps,
        id: Option<String>,
    ) -> Result<(), ProviderError> {
        let what = format!("instance refresh of {}", p.name);
        wait::until(&what, REFRESH, || async {
            let out = self
                .0
                .autoscaling
                .describe_instance_refreshes()
                .auto_scaling_group_name(&p.name)
                .set_instance_refresh_ids(id.clone().map(|i| vec![i]))
                .send()
                .await
                .map_err(classify)?;
            // Newest first, as AWS lists them.
            let Some(r) = out.instance_refreshes().first() else {
                return Ok(Some(()));
            };
            crate::provider::progress(refresh_progress(r));
            refresh_outcome(r)
        })
        .await
    }

    async fn update_group(
        &self,
        p: &AutoscalingGroupProps,
        changed: &[String],
    ) -> Result<(), ProviderError> {
        let has = |f: &str| changed.iter().any(|c| c == f);
        let template = has("launch_template_id") || has("launch_template_version");
        self.0
            .autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(&p.name)
            .set_launch_template(template.then(|| p.template()))
            .set_min_size(has("min_size").then_some(p.min_size))
            .set_max_size(has("max_size").then_some(p.max_size))
            // Only when the stack changed it: with scaling on, the count is the policy's.
            .set_desired_capacity(has("desired_capacity").then_some(p.desired_capacity))
            .set_vpc_zone_identifier(has("subnet_ids").then_some(p.zones()?))
            .set_health_check_grace_period(
                has("health_check_grace_period").then_some(p.health_check_grace_period),
            )
            .set_default_instance_warmup(has("instance_warmup").then_some(p.instance_warmup))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Attaches the target groups `new` adds (`attach`), or detaches those it drops, which
    /// deregisters the instances from them.
    async fn move_target_groups(
        &self,
        old: &AutoscalingGroupProps,
        new: &AutoscalingGroupProps,
        attach: bool,
    ) -> Result<(), ProviderError> {
        let (from, to) = if attach { (new, old) } else { (old, new) };
        let arns: Vec<String> = (from.target_group_arns.iter())
            .filter(|a| !to.target_group_arns.contains(a))
            .cloned()
            .collect();
        if arns.is_empty() {
            return Ok(());
        }
        // Attach and detach are two calls with the same shape but different builder types.
        macro_rules! target_groups {
            ($call:ident) => {
                self.0
                    .autoscaling
                    .$call()
                    .auto_scaling_group_name(&new.name)
                    .set_target_group_arns(Some(arns))
                    .send()
                    .await
                    .map(drop)
                    .map_err(classify)
            };
        }
        if attach {
            target_groups!(attach_load_balancer_target_groups)
        } else {
            target_groups!(detach_load_balancer_target_groups)
        }
    }

    async fn retag(
        &self,
        old: &AutoscalingGroupProps,
        new: &AutoscalingGroupProps,
    ) -> Result<(), ProviderError> {
        self.0
            .autoscaling
            .create_or_update_tags()
            .set_tags(Some(new.tags()))
            .send()
            .await
            .map_err(classify)?;
        let gone: Vec<Tag> = (old.tags.keys())
            .filter(|k| !new.tags.contains_key(*k))
            .map(|k| new.tag(k, None))
            .collect();
        if !gone.is_empty() {
            self.0
                .autoscaling
                .delete_tags()
                .set_tags(Some(gone))
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for AutoscalingGroup {
    fn kind(&self) -> &'static str {
        "aws.autoscaling_group"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "name"
    }

    fn update_reason(&self, changed: &[String]) -> Option<String> {
        changed
            .iter()
            .any(|f| f == "launch_template_id" || f == "launch_template_version")
            .then(|| {
                "instance refresh: new instances replace old ones, keeping the group in service"
                    .into()
            })
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(g) = self.describe(id).await? else {
            return Ok(None);
        };
        // Being deleted: gone as far as a plan is concerned.
        if g.status().is_some() {
            return Ok(None);
        }
        let applied = AutoscalingGroupProps::from_value(applied)?;
        let subnets: Vec<String> = g
            .vpc_zone_identifier()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let live = json!({
            "name": g.auto_scaling_group_name(),
            "launch_template_id": g.launch_template().and_then(|t| t.launch_template_id()),
            "launch_template_version": fleet_version(&g),
            "min_size": g.min_size(),
            "max_size": g.max_size(),
            "desired_capacity": g.desired_capacity(),
            "subnet_ids": ordered_like(subnets, &json!(applied), "subnet_ids"),
            "target_group_arns": ordered_like(g.target_group_arns().to_vec(), &json!(applied), "target_group_arns"),
            "health_check_grace_period": g.health_check_grace_period(),
            "instance_warmup": g.default_instance_warmup(),
            // A refresh preference, not a property of the group: what was applied.
            "min_healthy_percentage": applied.min_healthy_percentage,
            "tags": tags::from_pairs(
                g.tags().iter().filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
            ),
        });
        Ok(Some(Live {
            props: live,
            outputs: outputs(&g),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = AutoscalingGroupProps::from_value(req.props)?;
        let call = self
            .0
            .autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&p.name)
            .launch_template(p.template())
            .min_size(p.min_size)
            .max_size(p.max_size)
            .desired_capacity(p.desired_capacity)
            .vpc_zone_identifier(p.zones()?)
            .set_target_group_arns(Some(p.target_group_arns.clone()))
            .health_check_type("ELB")
            .health_check_grace_period(p.health_check_grace_period)
            .default_instance_warmup(p.instance_warmup)
            .set_tags(Some(p.tags()));
        // The launch template's instance profile may not have reached Auto Scaling yet.
        wait::while_iam_propagates(|| call.clone().send())
            .await
            .map_err(classify)?;
        let g = self.serving(&p).await?;
        Ok(Created {
            id: p.name.clone(),
            outputs: outputs(&g),
        })
    }

    async fn resume_create(
        &self,
        adopted: Created,
        props: &Value,
    ) -> Result<Created, ProviderError> {
        let g = self
            .serving(&AutoscalingGroupProps::from_value(props)?)
            .await?;
        Ok(Created {
            id: adopted.id,
            outputs: outputs(&g),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let (old, new) = (
            AutoscalingGroupProps::from_value(old)?,
            AutoscalingGroupProps::from_value(new)?,
        );
        let group_fields = [
            "launch_template_id",
            "launch_template_version",
            "min_size",
            "max_size",
            "desired_capacity",
            "subnet_ids",
            "health_check_grace_period",
            "instance_warmup",
        ];
        if changed.iter().any(|f| group_fields.contains(&f.as_str())) {
            self.update_group(&new, changed).await?;
        }
        // A replaced target group: the instances join the new one and serve there before
        // they leave the old one (and any refresh has run by then).
        let moved = changed.iter().any(|f| f == "target_group_arns");
        if moved {
            self.move_target_groups(&old, &new, true).await?;
        }
        if changed.iter().any(|f| f == "tags") {
            self.retag(&old, &new).await?;
        }
        if self.update_reason(changed).is_some() {
            self.refresh(&new).await?;
        }
        if moved {
            self.serving(&new).await?;
            self.move_target_groups(&old, &new, false).await?;
        }
        Ok(outputs(&self.existing(id).await?))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        // Auto Scaling answers a missing group with a plain ValidationError: look first.
        let Some(g) = self.describe(id).await? else {
            return Ok(());
        };
        if g.status().is_none() {
            let sent = self
                .0
                .autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(id)
                .force_delete(true)
                .send()
                .await;
            if let Err(e) = sent
                && self.describe(id).await?.is_some()
            {
                return Err(classify(e));
            }
        }
        wait::gone("Auto Scaling group to be deleted", GONE, || {
            self.describe(id)
        })
        .await
    }

    /// The group of this name, if the stack's address tag says it is ours.
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        for g in stack_groups(&self.0, stack).await? {
            let t = tags::from_pairs(
                g.tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
            );
            if tags::is_address(&t, stack, address) && g.status().is_none() {
                return Ok(Some(Created {
                    id: g.auto_scaling_group_name().unwrap_or_default().to_string(),
                    outputs: outputs(&g),
                }));
            }
        }
        Ok(None)
    }
}

/// The stack's groups, found by their stack tag.
pub async fn stack_groups(
    ctx: &AwsContext,
    stack: &str,
) -> Result<Vec<AutoScalingGroup>, ProviderError> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = ctx
            .autoscaling
            .describe_auto_scaling_groups()
            .filters(
                Filter::builder()
                    .name(format!("tag:{}", tags::STACK_TAG))
                    .values(stack)
                    .build(),
            )
            .set_next_token(token)
            .send()
            .await
            .map_err(classify)?;
        found.extend(page.auto_scaling_groups().iter().cloned());
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::types::{Instance, LaunchTemplateSpecification as Lt};

    fn instance(id: &str, state: &str, version: &str) -> Instance {
        Instance::builder()
            .instance_id(id)
            .lifecycle_state(state.into())
            .health_status("Healthy")
            .availability_zone("eu-west-1a")
            .protected_from_scale_in(false)
            .launch_template(
                Lt::builder()
                    .launch_template_id("lt-1")
                    .version(version)
                    .build(),
            )
            .build()
    }

    fn group(version: &str, instances: Vec<Instance>) -> AutoScalingGroup {
        AutoScalingGroup::builder()
            .auto_scaling_group_name("s-ec2")
            .launch_template(
                Lt::builder()
                    .launch_template_id("lt-1")
                    .version(version)
                    .build(),
            )
            .set_instances(Some(instances))
            .min_size(1)
            .max_size(2)
            .desired_capacity(1)
            .default_cooldown(300)
            .health_check_type("ELB")
            .availability_zones("eu-west-1a")
            .created_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
    }

    #[test]
    fn a_fleet_reads_as_the_oldest_version_in_service() {
        let g = group(
            "3",
            vec![
                instance("i-1", "InService", "3"),
                instance("i-2", "InService", "2"),
                // Leaving: not what the fleet serves with.
                instance("i-3", "Terminating", "1"),
            ],
        );
        assert_eq!(fleet_version(&g).as_deref(), Some("2"));
        let g = group("3", vec![instance("i-1", "InService", "3")]);
        assert_eq!(fleet_version(&g).as_deref(), Some("3"));
        assert_eq!(fleet_version(&group("3", vec![])).as_deref(), Some("3"));
    }

    #[test]
    fn a_refresh_waits_while_it_runs_and_fails_unless_it_succeeds() {
        let r = |s: InstanceRefreshStatus| {
            InstanceRefresh::builder()
                .instance_refresh_id("r-1")
                .status(s)
                .status_reason("an instance failed its health checks")
                .build()
        };
        for running in [
            InstanceRefreshStatus::Pending,
            InstanceRefreshStatus::InProgress,
            InstanceRefreshStatus::Baking,
        ] {
            assert!(refresh_outcome(&r(running)).unwrap().is_none());
        }
        assert!(
            refresh_outcome(&r(InstanceRefreshStatus::Successful))
                .unwrap()
                .is_some()
        );
        for ended in [
            InstanceRefreshStatus::Failed,
            InstanceRefreshStatus::Cancelled,
            InstanceRefreshStatus::RollbackSuccessful,
        ] {
            let e = refresh_outcome(&r(ended.clone())).unwrap_err().to_string();
            assert!(
                e.contains(ended.as_str()) && e.contains("health checks"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_capacity_wait_names_the_newest_failed_launch() {
        let activity = |id: &str, code: ScalingActivityStatusCode, message: &str| {
            Activity::builder()
                .activity_id(id)
                .auto_scaling_group_name("s-ec2")
                .cause("At 2026-12-01T20:00:00Z a user request created an AutoScalingGroup")
                .description("Launching a new EC2 instance")
                .start_time(aws_smithy_types::DateTime::from_secs(0))
                .status_code(code)
                .status_message(message)
                .build()
        };
        let newest_first = [
            activity("3", ScalingActivityStatusCode::InProgress, ""),
            activity(
                "2",
                ScalingActivityStatusCode::Failed,
                "Invalid IAM Instance Profile name. Launching EC2 instance failed.",
            ),
            activity("1", ScalingActivityStatusCode::Failed, "an older failure"),
        ];
        assert_eq!(
            last_failure(&newest_first).as_deref(),
            Some(
                "Launching a new EC2 instance: Invalid IAM Instance Profile name. Launching EC2 instance failed."
            )
        );
        let fine = [activity("1", ScalingActivityStatusCode::Successful, "")];
        assert_eq!(last_failure(&fine), None);
    }

    #[test]
    fn a_full_healthy_refresh_launches_before_it_terminates() {
        let p = |min| AutoscalingGroupProps {
            name: "s-ec2".into(),
            launch_template_id: "lt-1".into(),
            launch_template_version: "2".into(),
            min_size: 1,
            max_size: 1,
            desired_capacity: 1,
            subnet_ids: Val::Known(vec!["subnet-1".into()]),
            target_group_arns: vec![],
            health_check_grace_period: 120,
            instance_warmup: 120,
            min_healthy_percentage: min,
            tags: BTreeMap::new(),
        };
        let full = p(100).refresh_preferences();
        assert_eq!(
            (full.min_healthy_percentage(), full.max_healthy_percentage()),
            (Some(100), Some(200))
        );
        assert_eq!(full.skip_matching(), Some(true));
        let some = p(50).refresh_preferences();
        assert_eq!(some.max_healthy_percentage(), Some(150));
    }
}
