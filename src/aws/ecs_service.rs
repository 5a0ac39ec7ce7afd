//! `aws.ecs_service`: the Fargate service behind the `ip` target group. Desired count, task
//! definition revision, network configuration, deployment settings and the load balancer
//! (a new target group: ECS rolls new tasks into it while the old ones keep serving) change
//! in place (`UpdateService`); name, cluster and launch type force a new service.
//! Create and update return once the service is steady (its tasks run), not merely ACTIVE.
//!
//! Delete follows the order AWS requires: scale to 0, delete, then wait (bounded) until the
//! service is INACTIVE — only then can the cluster, which the graph deletes after this, go.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentRolloutState, LaunchType, LoadBalancer, NetworkConfiguration, Service, ServiceField,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, found};
use super::props::{Typed, Val, ordered_like, part, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

/// The service's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcsServiceProps {
    /// The service's name, unique in its cluster.
    pub service_name: String,
    /// The cluster (ARN) the service runs in.
    pub cluster: String,
    /// The task definition revision (ARN) the service runs.
    pub task_definition: String,
    /// Tasks to keep running; under auto scaling only the first count, then the scaler's.
    pub desired_count: u32,
    /// `FARGATE`.
    pub launch_type: String,
    /// The Fargate platform version (`LATEST`).
    pub platform_version: String,
    /// Subnets the tasks' network interfaces go in (awsvpc); a looked-up VPC's are a
    /// reference until apply.
    pub subnets: Val<Vec<String>>,
    /// Security groups of the tasks' network interfaces.
    pub security_groups: Vec<String>,
    /// Whether each task gets a public IP (needed in public subnets to reach ECR and logs).
    pub assign_public_ip: bool,
    /// Where the tasks are registered for the load balancer.
    pub load_balancer: LoadBalancerProps,
    /// The deployment circuit breaker; none leaves the service's deployment settings alone.
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Seconds after a task starts before failing load balancer health checks count; none
    /// leaves ECS's own (no grace period).
    pub health_check_grace_period_seconds: Option<i32>,
}

typed!(EcsServiceProps, "aws.ecs_service", "ECS service");

/// The target group, container and port the service registers its tasks with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerProps {
    /// The `ip` target group (ARN) the tasks are registered in.
    pub target_group_arn: String,
    /// The container whose port is registered.
    pub container_name: String,
    /// The container's port the load balancer sends traffic to.
    pub container_port: u16,
}

/// The deployment circuit breaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitBreaker {
    /// Whether ECS stops a rollout whose new tasks keep failing.
    pub enable: bool,
    /// Whether a stopped rollout goes back to the last completed one.
    pub rollback: bool,
}

/// The cluster a service's properties name: all that read and delete take from them, and all
/// the sweep knows of a service it found by tag.
fn cluster(props: &Value) -> Result<String, ProviderError> {
    #[derive(Deserialize)]
    struct InCluster {
        cluster: String,
    }
    Ok(part::<EcsServiceProps, InCluster>(props)?.cluster)
}

impl EcsServiceProps {
    fn load_balancer(&self) -> LoadBalancer {
        let lb = &self.load_balancer;
        LoadBalancer::builder()
            .target_group_arn(&lb.target_group_arn)
            .container_name(&lb.container_name)
            .container_port(i32::from(lb.container_port))
            .build()
    }

    /// awsvpc networking in the stack's compute subnets with the compute security group.
    fn network(&self) -> Result<NetworkConfiguration, ProviderError> {
        let assign = if self.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        };
        Ok(NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(self.subnets.known("subnets")?.clone()))
                    .set_security_groups(Some(self.security_groups.clone()))
                    .assign_public_ip(assign)
                    .build()
                    .map_err(|e| ProviderError::Validation(e.to_string()))?,
            )
            .build())
    }

    /// Rolling deployments that stop (and roll back) when new tasks keep failing; `None`
    /// leaves the service's deployment settings alone.
    fn deployment(&self) -> Option<DeploymentConfiguration> {
        let cb = self.circuit_breaker.as_ref()?;
        Some(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(cb.enable)
                        .rollback(cb.rollback)
                        .build(),
                )
                .build(),
        )
    }

    /// The count as the API takes it (validate bounds it far below `i32::MAX`).
    fn count(&self) -> Option<i32> {
        i32::try_from(self.desired_count).ok()
    }
}

pub struct EcsService(pub std::sync::Arc<AwsContext>);

/// The `services-stable` waiter's own default bound: tasks pull the image, start and pass
/// their health checks.
const STEADY: Duration = Duration::from_secs(600);
const INACTIVE: Duration = Duration::from_secs(600);

fn outputs(s: &Service) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(s.service_arn()));
    o.insert("name".into(), json!(s.service_name()));
    o
}

impl EcsService {
    async fn describe(&self, cluster: &str, id: &str) -> Result<Option<Service>, ProviderError> {
        let Some(out) = found(
            self.0
                .ecs
                .describe_services()
                .cluster(cluster)
                .services(id)
                .include(ServiceField::Tags)
                .send()
                .await,
            |e| e.is_cluster_not_found_exception(),
        )?
        else {
            return Ok(None);
        };
        Ok(out.services().first().cloned())
    }

    async fn active(&self, cluster: &str, id: &str) -> Result<Option<Service>, ProviderError> {
        Ok(self
            .describe(cluster, id)
            .await?
            .filter(|s| s.status() == Some("ACTIVE")))
    }

    /// Waits (bounded) until the service is steady, as the `services-stable` waiter defines
    /// it: ACTIVE, one deployment, its rollout COMPLETED and as many tasks running as desired.
    /// A rollout the circuit breaker marked FAILED ends the wait at once.
    async fn steady(&self, cluster: &str, id: &str) -> Result<Service, ProviderError> {
        wait::until("ECS service to reach a steady state", STEADY, || async {
            let Some(s) = self.active(cluster, id).await? else {
                return Ok(None);
            };
            if let Some(d) = s
                .deployments()
                .iter()
                .find(|d| d.rollout_state() == Some(&DeploymentRolloutState::Failed))
            {
                return Err(ProviderError::Api(format!(
                    "ECS service {id} failed to deploy: {}",
                    d.rollout_state_reason().unwrap_or("no reason given")
                )));
            }
            Ok(is_steady(&s).then_some(s))
        })
        .await
    }
}

/// Whether a service has finished rolling out (see [`EcsService::steady`]).
fn is_steady(s: &Service) -> bool {
    let [d] = s.deployments() else {
        return false;
    };
    matches!(
        d.rollout_state(),
        None | Some(DeploymentRolloutState::Completed)
    ) && s.running_count() == s.desired_count()
}

#[async_trait]
impl Resource for EcsService {
    fn kind(&self) -> &'static str {
        EcsServiceProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "service_name" | "cluster" | "launch_type")
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let cluster = &cluster(applied)?;
        let Some(s) = self.active(cluster, id).await? else {
            return Ok(None);
        };
        let vpc = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        let lb = s.load_balancers().first();
        let cb = s
            .deployment_configuration()
            .and_then(|d| d.deployment_circuit_breaker());
        let props = json!({
            "service_name": s.service_name(),
            "cluster": cluster,
            "task_definition": s.task_definition(),
            "desired_count": s.desired_count(),
            "launch_type": s.launch_type().map(|l| l.as_str()),
            "platform_version": s.platform_version(),
            "subnets": ordered_like(vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(), applied, "subnets"),
            "security_groups": ordered_like(vpc.map(|v| v.security_groups().to_vec()).unwrap_or_default(), applied, "security_groups"),
            "assign_public_ip": vpc.and_then(|v| v.assign_public_ip()) == Some(&AssignPublicIp::Enabled),
            "load_balancer": lb.map(|l| json!({
                "target_group_arn": l.target_group_arn(),
                "container_name": l.container_name(),
                "container_port": l.container_port(),
            })),
            "circuit_breaker": cb.map(|c| json!({"enable": c.enable(), "rollback": c.rollback()})),
            "health_check_grace_period_seconds": s.health_check_grace_period_seconds(),
            "tags": tags::from_ecs(s.tags()),
        });
        Ok(Some(Live {
            props,
            outputs: outputs(&s),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = EcsServiceProps::from_value(req.props)?;
        let cluster = p.cluster.as_str();
        let call = self
            .0
            .ecs
            .create_service()
            .cluster(cluster)
            .service_name(&p.service_name)
            .task_definition(&p.task_definition)
            .set_desired_count(p.count())
            .launch_type(LaunchType::from(p.launch_type.as_str()))
            .platform_version(&p.platform_version)
            .network_configuration(p.network()?)
            .load_balancers(p.load_balancer())
            .set_deployment_configuration(p.deployment())
            .set_health_check_grace_period_seconds(p.health_check_grace_period_seconds)
            // The engine's token: a retried CreateService returns the same service.
            .client_token(req.token)
            .set_tags(Some(tags::ecs_tags(req.props)));
        // A new account's first cluster creates ECS's service-linked role, which takes a
        // moment to become usable.
        let out = wait::while_iam_propagates(|| call.clone().send())
            .await
            .map_err(classify)?;
        let arn = out
            .service()
            .and_then(|s| s.service_arn())
            .ok_or_else(|| ProviderError::Api("CreateService returned no service".into()))?
            .to_string();
        let s = self.steady(cluster, &arn).await?;
        Ok(Created {
            id: arn,
            outputs: outputs(&s),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, changed) = req.parts();
        let p = EcsServiceProps::from_value(new)?;
        let cluster = p.cluster.as_str();
        if changed.iter().any(|f| f != "tags") {
            self.0
                .ecs
                .update_service()
                .cluster(cluster)
                .service(id)
                .task_definition(&p.task_definition)
                // Sent only when it is a planned change: under auto scaling the count is not
                // ours to put back (the node ignores it).
                .set_desired_count(
                    changed
                        .iter()
                        .any(|f| f == "desired_count")
                        .then(|| p.count())
                        .flatten(),
                )
                .platform_version(&p.platform_version)
                .network_configuration(p.network()?)
                .set_load_balancers(
                    changed
                        .iter()
                        .any(|f| f == "load_balancer")
                        .then(|| vec![p.load_balancer()]),
                )
                .set_deployment_configuration(p.deployment())
                .set_health_check_grace_period_seconds(p.health_check_grace_period_seconds)
                .send()
                .await
                .map_err(classify)?;
        }
        if changed.iter().any(|f| f == "tags") {
            tags::ecs_update(&self.0.ecs, id, old, new).await?;
        }
        let s = self.steady(cluster, id).await?;
        Ok(outputs(&s))
    }

    async fn delete(&self, id: &str, applied: &Value) -> Result<(), ProviderError> {
        let cluster = &cluster(applied)?;
        if self.active(cluster, id).await?.is_none() {
            return Ok(());
        }
        // Scale to zero first so tasks drain from the target group, then delete.
        self.0
            .ecs
            .update_service()
            .cluster(cluster)
            .service(id)
            .desired_count(0)
            .send()
            .await
            .map_err(classify)?;
        if !accepted(
            self.0
                .ecs
                .delete_service()
                .cluster(cluster)
                .service(id)
                .force(true)
                .send()
                .await,
            |e| e.is_service_not_found_exception() || e.is_cluster_not_found_exception(),
        )? {
            return Ok(());
        }
        // The cluster refuses deletion while the service is still DRAINING.
        wait::until("ECS service to become INACTIVE", INACTIVE, || async {
            let s = self.describe(cluster, id).await?;
            Ok(s.is_none_or(|s| s.status() == Some("INACTIVE"))
                .then_some(()))
        })
        .await
    }

    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let Some(arn) = tags::find_arn(&self.0.tagging, "ecs:service", stack, address).await?
        else {
            return Ok(None);
        };
        let mut o = Outputs::new();
        o.insert("arn".into(), json!(arn));
        o.insert(
            "name".into(),
            json!(arn.rsplit('/').next().unwrap_or_default()),
        );
        Ok(Some(Created {
            id: arn,
            outputs: o,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service's properties as synth writes them.
    fn props() -> Value {
        json!({
            "service_name": "app", "cluster": "c", "task_definition": "td", "desired_count": 1,
            "launch_type": "FARGATE", "platform_version": "LATEST", "subnets": ["s-a"],
            "security_groups": ["sg"], "assign_public_ip": true,
            "load_balancer": {"target_group_arn": "tg", "container_name": "wxrun", "container_port": 8080},
            "circuit_breaker": {"enable": true, "rollback": true},
            "health_check_grace_period_seconds": 60,
        })
    }

    #[test]
    fn network_assigns_a_public_ip_in_public_subnets() {
        let n = EcsServiceProps::from_value(&props())
            .unwrap()
            .network()
            .unwrap();
        let v = n.awsvpc_configuration().unwrap();
        assert_eq!(v.assign_public_ip(), Some(&AssignPublicIp::Enabled));
        assert_eq!(v.subnets(), ["s-a"]);
    }

    #[test]
    fn steady_means_one_completed_deployment_with_all_tasks_running() {
        use aws_sdk_ecs::types::Deployment;
        let service = |running: i32, states: &[DeploymentRolloutState]| {
            Service::builder()
                .desired_count(2)
                .running_count(running)
                .set_deployments(Some(
                    states
                        .iter()
                        .map(|s| Deployment::builder().rollout_state(s.clone()).build())
                        .collect(),
                ))
                .build()
        };
        use DeploymentRolloutState::{Completed, InProgress};
        assert!(is_steady(&service(2, &[Completed])));
        assert!(!is_steady(&service(1, &[Completed])));
        assert!(!is_steady(&service(2, &[InProgress])));
        assert!(!is_steady(&service(2, &[Completed, InProgress])));
    }

    #[test]
    fn deployments_roll_back_on_failure() {
        let mut p = props();
        let d = EcsServiceProps::from_value(&p)
            .unwrap()
            .deployment()
            .unwrap();
        let cb = d.deployment_circuit_breaker().unwrap();
        assert!(cb.enable() && cb.rollback());
        p["circuit_breaker"] = Value::Null;
        assert!(
            EcsServiceProps::from_value(&p)
                .unwrap()
                .deployment()
                .is_none()
        );
    }
}
