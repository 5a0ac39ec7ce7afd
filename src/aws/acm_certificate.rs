//! `aws.acm_certificate`: a public ACM certificate for one domain, validated by DNS. Create
//! requests it and waits for ACM to name the CNAME record that proves the domain; the record
//! itself is an `aws.route53_record`, and `aws.acm_certificate_validation` waits for the
//! certificate to be issued. A new domain means a new certificate; tags change in place.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_acm::types::{CertificateDetail, Tag, ValidationMethod};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::context::AwsContext;
use super::errors::{built, classify, found};
use super::props::{Typed, typed};
use super::{tags, wait};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Resource, UpdateRequest,
};

pub struct AcmCertificate(pub std::sync::Arc<AwsContext>);

/// The certificate's properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcmCertificateProps {
    /// The domain the certificate is for, without the trailing dot (`app.example.com`).
    pub domain_name: String,
    /// How ACM checks that the domain is ours: `DNS` (a CNAME record in its zone).
    pub validation_method: String,
}

typed!(
    AcmCertificateProps,
    "aws.acm_certificate",
    "ACM certificate"
);

/// ACM fills in the validation record seconds after the request, not in its answer
/// (terraform-provider-aws #9596: "DomainValidationOptions array may be initially returned
/// … completely empty"); Terraform waits up to 5 minutes for it.
const RECORD_WAIT: Duration = Duration::from_secs(300);

/// How long a delete retries while the certificate is "in use": ACM takes seconds to minutes
/// to notice that the listener that used it is gone (terraform-provider-aws #3866; Terraform
/// retries for 20 minutes).
const IN_USE_WAIT: Duration = Duration::from_secs(1200);

/// The outputs of a described certificate: its ARN and, once ACM has made it, the CNAME that
/// validates its domain.
fn outputs(c: &CertificateDetail) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), json!(c.certificate_arn()));
    if let Some(r) = record(c) {
        o.insert("validation_record_name".into(), json!(r.name()));
        o.insert("validation_record_type".into(), json!(r.r#type().as_str()));
        o.insert("validation_record_value".into(), json!(r.value()));
    }
    o
}

fn record(c: &CertificateDetail) -> Option<&aws_sdk_acm::types::ResourceRecord> {
    c.domain_validation_options()
        .iter()
        .find_map(|d| d.resource_record())
}

fn acm_tags(props: &Value) -> Result<Vec<Tag>, ProviderError> {
    tags::pairs(props)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(built))
        .collect()
}

/// The certificate `arn` names, or none when ACM no longer has it (also what the validation
/// kind waits on).
pub(super) async fn describe(
    ctx: &AwsContext,
    arn: &str,
) -> Result<Option<CertificateDetail>, ProviderError> {
    let sent = ctx
        .acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await;
    Ok(
        found(sent, |e| e.is_resource_not_found_exception())?
            .and_then(|o| o.certificate().cloned()),
    )
}

impl AcmCertificate {
    /// Waits for the validation record and returns the certificate with it.
    async fn with_record(&self, arn: &str) -> Result<Created, ProviderError> {
        let c = wait::until("ACM to name the validation record", RECORD_WAIT, || async {
            Ok(describe(&self.0, arn)
                .await?
                .filter(|c| record(c).is_some()))
        })
        .await?;
        Ok(Created {
            id: arn.to_string(),
            outputs: outputs(&c),
        })
    }

    async fn live_tags(&self, arn: &str) -> Result<Value, ProviderError> {
        let out = self
            .0
            .acm
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(classify)?;
        Ok(tags::from_pairs(
            out.tags()
                .iter()
                .map(|t| (t.key(), t.value().unwrap_or_default())),
        ))
    }
}

#[async_trait]
impl Resource for AcmCertificate {
    fn kind(&self) -> &'static str {
        AcmCertificateProps::KIND
    }

    fn forces_replacement(&self, field: &str) -> bool {
        matches!(field, "domain_name" | "validation_method")
    }

    async fn read(&self, id: &str, _applied: &Value) -> Result<Option<Live>, ProviderError> {
        let Some(c) = describe(&self.0, id).await? else {
            return Ok(None);
        };
        Ok(Some(Live {
            props: json!({
                "domain_name": c.domain_name(),
                "validation_method": c
                    .domain_validation_options()
                    .first()
                    .and_then(|d| d.validation_method())
                    .map(|m| m.as_str()),
                "tags": self.live_tags(id).await?,
            }),
            outputs: outputs(&c),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        let p = AcmCertificateProps::from_value(req.props)?;
        // The idempotency token (32 word characters at most) makes a resent request within an
        // hour return the first one's certificate.
        let out = self
            .0
            .acm
            .request_certificate()
            .domain_name(p.domain_name)
            .validation_method(ValidationMethod::from(p.validation_method.as_str()))
            .idempotency_token(
                req.token
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(32)
                    .collect::<String>(),
            )
            .set_tags(Some(acm_tags(req.props)?))
            .send()
            .await
            .map_err(classify)?;
        let arn = out
            .certificate_arn()
            .ok_or_else(|| ProviderError::Api("RequestCertificate returned no ARN".into()))?;
        self.with_record(arn).await
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, old, new, _) = req.parts();
        let acm = &self.0.acm;
        // A removed tag is given by its key alone: ACM then removes it whatever its value.
        let gone = tags::removed(old, new)
            .into_iter()
            .map(|k| Tag::builder().key(k).build().map_err(built))
            .collect::<Result<Vec<_>, _>>()?;
        tags::retag(
            acm.add_tags_to_certificate()
                .certificate_arn(id)
                .set_tags(Some(acm_tags(new)?))
                .send(),
            |_| {
                acm.remove_tags_from_certificate()
                    .certificate_arn(id)
                    .set_tags(Some(gone))
                    .send()
            },
            old,
            new,
        )
        .await?;
        Ok(self.with_record(id).await?.outputs)
    }

    async fn delete(&self, id: &str, _applied: &Value) -> Result<(), ProviderError> {
        let acm = &self.0.acm;
        wait::delete_while_busy(
            "certificate",
            IN_USE_WAIT,
            || acm.delete_certificate().certificate_arn(id).send(),
            |e| e.is_resource_not_found_exception(),
            |e| e.is_resource_in_use_exception(),
        )
        .await
    }

    async fn resume_create(
        &self,
        adopted: Created,
        _props: &Value,
    ) -> Result<Created, ProviderError> {
        self.with_record(&adopted.id).await
    }

    /// A certificate this address requested but never recorded, by its tags.
    async fn find_orphan(
        &self,
        stack: &str,
        address: &str,
        _token: &str,
    ) -> Result<Option<Created>, ProviderError> {
        let found = tags::find_arn(&self.0.tagging, "acm:certificate", stack, address).await?;
        Ok(found.map(|arn| Created {
            id: arn,
            outputs: Outputs::new(),
        }))
    }
}
