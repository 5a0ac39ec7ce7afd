//! `aws.lambda_alias`: a name (`live`) for one published version of the function, which the
//! load balancer invokes and provisioned concurrency is kept warm for. Its id is
//! `<function>|<alias>`; the function and the name force a new alias, the version moves in
//! place.
//!
//! When the alias has provisioned concurrency, Lambda moves it to a new version by keeping
//! the old version on the alias, weighted, until the new version's concurrency is allocated
//! (terraform-provider-aws #48116), so requests never meet a cold version. An update waits
//! for that (bounded), then deletes the version it moved away from: nothing else points at
//! it, and each version keeps a copy of the package in the account's code storage.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
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

pub struct LambdaAlias(pub std::sync::Arc<AwsContext>);

/// Allocating provisioned concurrency for a new version takes minutes.
const SHIFT: Duration = Duration::from_secs(1200);

/// The alias's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LambdaAliasProps {
    /// Name of the function the alias belongs to.
    pub function_name: String,
    /// The alias's name, unique within the function (`live`).
    pub name: String,
    /// The published version (a number, never `$LATEST`) the alias invokes.
    pub function_version: String,
}

typed!(LambdaAliasProps, "aws.lambda_alias", "Lambda alias");

fn split(id: &str) -> Result<(&str, &str), ProviderError> {
    id_pair(id, "<function>|<alias>")
}

fn outputs(a: &GetAliasOutput) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(a.alias_arn()));
    o.insert("name".into(), json!(a.name()));
    o
}

/// The version the alias still sends requests to while it moves to a new one.
fn weighted(a: &GetAliasOutput) -> Option<String> {
    a.routing_config()
        .and_then(|r| r.additional_version_weights())
        .and_then(|w| w.keys().next().cloned())
}

impl LambdaAlias {
    async fn get(
        &self,
        function: &str,
        name: &str,
    ) -> Result<Option<GetAliasOutput>, ProviderError> {
        found(
            self.0
                .lambda
                .get_alias()
                .function_name(function)
                .name(name)
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
        )
    }

    /// Points the alias at `version` and waits until it sends every request there.
    async fn point(
        &self,
        function: &str,
        name: &str,
        version: &str,
    ) -> Result<GetAliasOutput, ProviderError> {
        self.0
            .lambda
            .update_alias()
            .function_name(function)
            .name(name)
            .function_version(version)
            .send()
            .await
            .map_err(classify)?;
        self.settled(function, name).await
    }

    /// Why the alias's provisioned concurrency failed to allocate, if it did (a new version
    /// that fails to initialise).
    async fn allocation_failure(
        &self,
        function: &str,
        name: &str,
    ) -> Result<Option<String>, ProviderError> {
        Ok(found(
            self.0
                .lambda
                .get_provisioned_concurrency_config()
                .function_name(function)
                .qualifier(name)
                .send()
                .await,
            |e| e.is_provisioned_concurrency_config_not_found_exception(),
        )?
        .and_then(|c| {
            (c.status() == Some(&ProvisionedConcurrencyStatusEnum::Failed))
                .then(|| c.status_reason().unwrap_or("no reason given").to_string())
        }))
    }

    async fn settled(&self, function: &str, name: &str) -> Result<GetAliasOutput, ProviderError> {
        wait::until("Lambda alias to move to its new version", SHIFT, || async {
            let Some(a) = self.get(function, name).await? else {
                return Err(ProviderError::Api(format!(
                    "alias {name} of {function} disappeared"
                )));
            };
            let Some(old) = weighted(&a) else {
                return Ok(Some(a));
            };
            let new = a.function_version().unwrap_or_default();
            if let Some(reason) = self.allocation_failure(function, name).await? {
                // Lambda keeps the old version weighted for good: waiting cannot end it.
                return Err(ProviderError::Api(format!(
                    "version {new} of {function} could not be made ready ({reason}); alias \
                     {name} still serves version {old}: fix the function and apply again"
                )));
            }
            crate::provider::progress(format!(
                "version {old} still serves while version {new}'s concurrency is allocated"
            ));
            Ok(None)
        })
        .await
    }
}

#[async_trait]
impl Resource for LambdaAlias {
    fn kind(&self) -> &'static str {
        "aws.lambda_alias"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "function_name" | "name")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let (function, name) = split(id)?;
        Ok(self.get(function, name).await?.map(|a| Live {
            // While it moves, the alias still serves the old version: plan shows that, and the
            // next apply waits for the move to end.
            props: json!({
                "function_name": function,
                "name": a.name(),
                "function_version": weighted(&a).as_deref().or(a.function_version()),
            }),
            outputs: outputs(&a),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LambdaAliasProps::from_value(req.props)?;
        let made = self
            .0
            .lambda
            .create_alias()
            .function_name(&p.function_name)
            .name(&p.name)
            .function_version(&p.function_version)
            .send()
            .await;
        let a = match made {
            Ok(_) => self.settled(&p.function_name, &p.name).await?,
            // The name is fixed: a re-run after a crash finds the alias it made.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_conflict_exception()) =>
            {
                self.point(&p.function_name, &p.name, &p.function_version)
                    .await?
            }
            Err(e) => return Err(classify(e)),
        };
        Ok(Created {
            id: format!("{}|{}", p.function_name, p.name),
            outputs: outputs(&a),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, _) = req.parts();
        let (function, name) = split(id)?;
        let p = LambdaAliasProps::from_value(new)?;
        let a = self.point(function, name, &p.function_version).await?;
        let previous = old["function_version"].as_str().unwrap_or_default();
        if !previous.is_empty() && previous != p.function_version && previous != "$LATEST" {
            // Another alias may still use it (then Lambda refuses, and it stays).
            accepted(
                self.0
                    .lambda
                    .delete_function()
                    .function_name(function)
                    .qualifier(previous)
                    .send()
                    .await,
                |e| e.is_resource_not_found_exception() || e.is_resource_conflict_exception(),
            )?;
        }
        Ok(outputs(&a))
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let (function, name) = split(id)?;
        accepted(
            self.0
                .lambda
                .delete_alias()
                .function_name(function)
                .name(name)
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
        )?;
        Ok(())
    }

    // No orphan search (the default): the name is fixed, so `create` adopts an existing
    // alias itself.
}
