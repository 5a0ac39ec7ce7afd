//! `aws.lambda_provisioned_concurrency`: execution environments Lambda keeps initialised for
//! an alias, so requests up to that many at once never wait for a cold start. Its id is
//! `<function>|<alias>`; the count changes in place. Create and update wait (bounded) until
//! the environments are allocated (`READY`); a `FAILED` allocation fails the apply with
//! Lambda's reason, and reads as nothing provisioned so the next apply asks again.
//!
//! Lambda refuses the change while its alias is moving between versions ("Alias with weights
//! can not be used with Provisioned Concurrency"); the alias's update waits for the move, and
//! this resource depends on the alias, so it is never asked then.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{accepted, classify, found};
use super::props::{Typed, id_pair, typed};
use super::wait;
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct LambdaProvisionedConcurrency(pub std::sync::Arc<AwsContext>);

/// Allocation takes minutes; AWS gives no bound, this is ours.
const ALLOCATED: Duration = Duration::from_secs(1200);

/// The provisioned concurrency's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionedConcurrencyProps {
    /// Name of the function.
    pub function_name: String,
    /// The alias (or published version) the environments run.
    pub qualifier: String,
    /// How many environments to keep initialised (at least 1).
    pub provisioned_concurrent_executions: i32,
}

typed!(
    ProvisionedConcurrencyProps,
    "aws.lambda_provisioned_concurrency",
    "provisioned concurrency"
);

fn split(id: &str) -> Result<(&str, &str), ProviderError> {
    id_pair(id, "<function>|<alias>")
}

impl LambdaProvisionedConcurrency {
    /// Sets the count and waits until it is allocated.
    async fn provision(&self, p: &ProvisionedConcurrencyProps) -> Result<(), ProviderError> {
        self.0
            .lambda
            .put_provisioned_concurrency_config()
            .function_name(&p.function_name)
            .qualifier(&p.qualifier)
            .provisioned_concurrent_executions(p.provisioned_concurrent_executions)
            .send()
            .await
            .map_err(classify)?;
        wait::until(
            "provisioned concurrency to be allocated",
            ALLOCATED,
            || async {
                let c = self
                    .0
                    .lambda
                    .get_provisioned_concurrency_config()
                    .function_name(&p.function_name)
                    .qualifier(&p.qualifier)
                    .send()
                    .await
                    .map_err(classify)?;
                match c.status() {
                    Some(ProvisionedConcurrencyStatusEnum::Ready) => Ok(Some(())),
                    Some(ProvisionedConcurrencyStatusEnum::Failed) => {
                        Err(ProviderError::Api(format!(
                            "provisioned concurrency for {}:{} failed: {}",
                            p.function_name,
                            p.qualifier,
                            c.status_reason().unwrap_or("no reason given")
                        )))
                    }
                    _ => {
                        crate::provider::progress(format!(
                            "{} of {} environments allocated",
                            c.allocated_provisioned_concurrent_executions().unwrap_or(0),
                            p.provisioned_concurrent_executions
                        ));
                        Ok(None)
                    }
                }
            },
        )
        .await
    }
}

#[async_trait]
impl Resource for LambdaProvisionedConcurrency {
    fn kind(&self) -> &'static str {
        "aws.lambda_provisioned_concurrency"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "function_name" | "qualifier")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let (function, qualifier) = split(id)?;
        let Some(c) = found(
            self.0
                .lambda
                .get_provisioned_concurrency_config()
                .function_name(function)
                .qualifier(qualifier)
                .send()
                .await,
            |e| {
                e.is_provisioned_concurrency_config_not_found_exception()
                    || e.is_resource_not_found_exception()
            },
        )?
        else {
            return Ok(None);
        };
        let failed = c.status() == Some(&ProvisionedConcurrencyStatusEnum::Failed);
        Ok(Some(Live {
            props: json!({
                "function_name": function,
                "qualifier": qualifier,
                "provisioned_concurrent_executions": if failed {
                    0
                } else {
                    c.requested_provisioned_concurrent_executions().unwrap_or(0)
                },
            }),
            outputs: Outputs::new(),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        // Put sets the count whether or not a configuration exists: a re-run is the same call.
        let p = ProvisionedConcurrencyProps::from_value(req.props)?;
        self.provision(&p).await?;
        Ok(Created {
            id: format!("{}|{}", p.function_name, p.qualifier),
            outputs: Outputs::new(),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (_, _, new, _) = req.parts();
        self.provision(&ProvisionedConcurrencyProps::from_value(new)?)
            .await?;
        Ok(Outputs::new())
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let (function, qualifier) = split(id)?;
        accepted(
            self.0
                .lambda
                .delete_provisioned_concurrency_config()
                .function_name(function)
                .qualifier(qualifier)
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
        )?;
        Ok(())
    }

    // No orphan search (the default): `create` is a put, which adopts whatever an
    // interrupted run set.
}
