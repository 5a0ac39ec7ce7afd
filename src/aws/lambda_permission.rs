//! `aws.lambda_permission`: one statement in a function's resource policy — here, letting the
//! load balancer (`elasticloadbalancing.amazonaws.com`, only from the Lambda target group)
//! invoke the function. Its id is `<function>|<statement id>`, or
//! `<function>:<qualifier>|<statement id>` for a statement in an alias's own policy (what
//! the load balancer needs when it invokes the alias); every field forces a new statement. It must exist before the function is registered as a target, which the graph
//! orders (`aws.lb_target_attachment.lambda` runs after it).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{classify, found};
use super::props::{Typed, id_pair, typed};
use crate::provider::{CreateRequest, Created, Live, Outputs, ProviderError, Resource};

/// The permission statement's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LambdaPermissionProps {
    /// Name of the function whose resource policy holds the statement.
    pub function_name: String,
    /// The alias (or version) whose own policy holds it; none: the function's.
    pub qualifier: Option<String>,
    /// The statement's `Sid`, unique within the policy.
    pub statement_id: String,
    /// What the principal may do (`lambda:InvokeFunction`).
    pub action: String,
    /// Who is allowed: an AWS service (`elasticloadbalancing.amazonaws.com`) or account.
    pub principal: String,
    /// The only resource the principal may act for (the `AWS:SourceArn` condition): the
    /// target group.
    pub source_arn: String,
}

typed!(
    LambdaPermissionProps,
    "aws.lambda_permission",
    "Lambda permission"
);

pub struct LambdaPermission(pub std::sync::Arc<AwsContext>);

/// (function, qualifier, statement id) of an id.
fn split(id: &str) -> Result<(&str, Option<&str>, &str), ProviderError> {
    let (target, sid) = id_pair(id, "<function>[:<qualifier>]|<statement id>")?;
    Ok(match target.split_once(':') {
        Some((function, qualifier)) => (function, Some(qualifier), sid),
        None => (target, None, sid),
    })
}

/// The statement `sid` of a resource policy document, as the resource's properties.
pub fn statement_props(
    policy: &str,
    function: &str,
    qualifier: Option<&str>,
    sid: &str,
) -> Option<Value> {
    let doc: Value = serde_json::from_str(policy).ok()?;
    let st = doc["Statement"]
        .as_array()?
        .iter()
        .find(|s| s["Sid"].as_str() == Some(sid))?;
    let principal = match &st["Principal"] {
        Value::String(s) => s.clone(),
        p => p["Service"].as_str().unwrap_or_default().to_string(),
    };
    let source_arn = st["Condition"]["ArnLike"]["AWS:SourceArn"]
        .as_str()
        .map(str::to_string);
    Some(json!({
        "function_name": function,
        "qualifier": qualifier,
        "statement_id": sid,
        "action": st["Action"],
        "principal": principal,
        "source_arn": source_arn,
    }))
}

#[async_trait]
impl Resource for LambdaPermission {
    fn kind(&self) -> &'static str {
        LambdaPermissionProps::KIND
    }

    fn forces_replacement(&self, _field: &str) -> bool {
        true
    }

    /// A statement under another id (or in another policy) can sit beside the old one.
    fn create_before_destroy(&self, changed: &[String]) -> bool {
        changed
            .iter()
            .any(|f| matches!(f.as_str(), "statement_id" | "qualifier" | "function_name"))
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let (function, qualifier, sid) = split(id)?;
        let Some(out) = found(
            self.0
                .lambda
                .get_policy()
                .function_name(function)
                .set_qualifier(qualifier.map(str::to_string))
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
        )?
        else {
            return Ok(None);
        };
        Ok(out
            .policy()
            .and_then(|p| statement_props(p, function, qualifier, sid))
            .map(|props| Live {
                props,
                outputs: Outputs::new(),
            }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = LambdaPermissionProps::from_value(req.props)?;
        let (function, sid) = (&p.function_name, &p.statement_id);
        let id = match &p.qualifier {
            Some(q) => format!("{function}:{q}|{sid}"),
            None => format!("{function}|{sid}"),
        };
        let out = self
            .0
            .lambda
            .add_permission()
            .function_name(function)
            .set_qualifier(p.qualifier.clone())
            .statement_id(sid)
            .action(&p.action)
            .principal(&p.principal)
            .source_arn(&p.source_arn)
            .send()
            .await;
        match out {
            Ok(_) => {}
            // The statement id is fixed: after a crash the statement may already be there.
            // Adopt it only when it says exactly what we want.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_conflict_exception()) =>
            {
                let live = self.read(&id, req.props).await?;
                let same = live.as_ref().is_some_and(|l| {
                    l.props["action"] == p.action.as_str()
                        && l.props["principal"] == p.principal.as_str()
                        && l.props["source_arn"] == p.source_arn.as_str()
                });
                if !same {
                    return Err(classify(e));
                }
            }
            Err(e) => return Err(classify(e)),
        }
        Ok(Created {
            id,
            outputs: Outputs::new(),
        })
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let (function, qualifier, sid) = split(id)?;
        found(
            self.0
                .lambda
                .remove_permission()
                .function_name(function)
                .set_qualifier(qualifier.map(str::to_string))
                .statement_id(sid)
                .send()
                .await,
            |e| e.is_resource_not_found_exception(),
        )
        .map(drop)
    }

    // No orphan search (the default): the statement id is fixed, so `create` adopts an
    // existing identical statement itself.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_alb_statement_back() {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"alb","Effect":"Allow",
            "Principal":{"Service":"elasticloadbalancing.amazonaws.com"},
            "Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:1:function:f",
            "Condition":{"ArnLike":{"AWS:SourceArn":"arn:tg"}}}]}"#;
        let p = statement_props(policy, "f", None, "alb").unwrap();
        assert_eq!(p["principal"], "elasticloadbalancing.amazonaws.com");
        assert_eq!(p["source_arn"], "arn:tg");
        assert_eq!(p["action"], "lambda:InvokeFunction");
        assert!(statement_props(policy, "f", None, "other").is_none());
        assert_eq!(split("f:live|alb").unwrap(), ("f", Some("live"), "alb"));
        assert_eq!(split("f|alb").unwrap(), ("f", None, "alb"));
    }
}
