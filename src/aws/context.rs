//! AWS clients built once from the SDK's standard configuration (env, profile,
//! `AWS_ENDPOINT_URL`), shared by every resource kind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Counts requests sent, so benchmarks can report API calls per plan/apply, and tallies each
/// request and its time in flight for the resource call that sent it
/// ([`crate::provider::count_call`]).
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicU64>);

impl CallCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// When the current attempt's request left.
#[derive(Debug, Clone, Copy)]
struct SentAt(Instant);

impl Storable for SentAt {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "wxinfra-call-counter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        cfg.interceptor_state().store_put(SentAt(Instant::now()));
        Ok(())
    }

    // After every attempt, answered or not, so a request that failed on the wire counts too.
    fn read_after_attempt(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(SentAt(sent)) = cfg.load::<SentAt>() {
            crate::provider::count_call(sent.elapsed());
        }
        Ok(())
    }
}

/// Everything a resource kind needs to talk to AWS.
#[derive(Debug, Clone)]
pub struct AwsContext {
    pub config: aws_config::SdkConfig,
    pub stack: String,
    pub region: String,
    pub calls: CallCounter,
    pub ec2: aws_sdk_ec2::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub efs: aws_sdk_efs::Client,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sts: aws_sdk_sts::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub acm: aws_sdk_acm::Client,
    pub route53: aws_sdk_route53::Client,
    pub app_autoscaling: aws_sdk_applicationautoscaling::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// Registry host the runtime image is pushed to instead of the ECR repository's
    /// (`WXINFRA_OCI_REGISTRY`, e.g. `127.0.0.1:5000` for a local registry in tests). Pushes
    /// there are anonymous, over HTTP for loopback hosts unless it says `https://`.
    pub oci_registry: Option<String>,
    account: tokio::sync::OnceCell<String>,
}

/// Per-call configuration for creates AWS makes no idempotency promise for (no client token,
/// no unique name: CreateVpc, CreateInternetGateway, CreateRouteTable,
/// RegisterTaskDefinition): the SDK must not resend them, or a resent call whose first answer
/// was lost makes a second one. The engine retries such a create itself, after looking for
/// what the first attempt made (engine::apply, `create_or_adopt`).
pub fn ec2_send_once() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// [`ec2_send_once`] for ECS.
pub fn ecs_send_once() -> aws_sdk_ecs::config::Builder {
    aws_sdk_ecs::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// The environment variable that redirects runtime image pushes to another registry.
pub const OCI_REGISTRY_ENV: &str = "WXINFRA_OCI_REGISTRY";

/// Builds a service client from the shared configuration with the call counter attached.
macro_rules! client {
    ($svc:ident, $config:expr, $calls:expr) => {
        $svc::Client::from_conf(
            $svc::config::Builder::from($config)
                .interceptor($calls.clone())
                .build(),
        )
    };
}

impl AwsContext {
    /// Loads the standard SDK configuration; `region`/`profile` override it when given.
    pub async fn load(
        stack: &str,
        region: Option<&str>,
        profile: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // Standard mode retries throttling and 5xx with jittered backoff inside each call.
            .retry_config(RetryConfig::standard().with_max_attempts(5));
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_string()));
        }
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        Self::from_config(stack, loader.load().await)
    }

    /// Clients for an already loaded configuration (tests point one at their emulator).
    pub fn from_config(stack: &str, config: aws_config::SdkConfig) -> anyhow::Result<Self> {
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            anyhow::anyhow!(
                "no AWS region configured: set `region:` in the stack, --region, or AWS_REGION"
            )
        })?;
        let calls = CallCounter::default();
        // A custom endpoint (an emulator, a VPC endpoint URL) serves buckets by path, not by
        // virtual host.
        let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(custom_endpoint)
                .interceptor(calls.clone())
                .build(),
        );
        Ok(Self {
            elb: client!(aws_sdk_elasticloadbalancingv2, &config, calls),
            lambda: client!(aws_sdk_lambda, &config, calls),
            ecs: client!(aws_sdk_ecs, &config, calls),
            ecr: client!(aws_sdk_ecr, &config, calls),
            ssm: client!(aws_sdk_ssm, &config, calls),
            acm: client!(aws_sdk_acm, &config, calls),
            route53: client!(aws_sdk_route53, &config, calls),
            app_autoscaling: client!(aws_sdk_applicationautoscaling, &config, calls),
            autoscaling: client!(aws_sdk_autoscaling, &config, calls),
            oci_registry: std::env::var(OCI_REGISTRY_ENV)
                .ok()
                .filter(|v| !v.is_empty()),
            stack: stack.to_string(),
            region,
            ec2: client!(aws_sdk_ec2, &config, calls),
            tagging: client!(aws_sdk_resourcegroupstagging, &config, calls),
            efs: client!(aws_sdk_efs, &config, calls),
            iam: client!(aws_sdk_iam, &config, calls),
            logs: client!(aws_sdk_cloudwatchlogs, &config, calls),
            dynamodb: client!(aws_sdk_dynamodb, &config, calls),
            sts: client!(aws_sdk_sts, &config, calls),
            s3,
            account: tokio::sync::OnceCell::new(),
            calls,
            config,
        })
    }

    /// The account the credentials belong to (STS GetCallerIdentity, asked once per run).
    pub async fn account_id(&self) -> Result<String, crate::provider::ProviderError> {
        self.account
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(super::errors::classify)?;
                out.account().map(str::to_string).ok_or_else(|| {
                    crate::provider::ProviderError::Api(
                        "GetCallerIdentity returned no account".into(),
                    )
                })
            })
            .await
            .cloned()
    }
}
