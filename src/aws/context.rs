//! AWS clients built once from the SDK's standard configuration (env, profile,
//! `AWS_ENDPOINT_URL`), shared by every resource kind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Counts requests sent, so benchmarks can report API calls per plan/apply.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicU64>);

impl CallCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "wxinfra-call-counter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
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
    pub sts: aws_sdk_sts::Client,
    account: tokio::sync::OnceCell<String>,
}

/// Builds a service client from the shared config with the call counter attached.
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
        let config = loader.load().await;
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
            stack: stack.to_string(),
            region,
            ec2: client!(aws_sdk_ec2, &config, calls),
            tagging: client!(aws_sdk_resourcegroupstagging, &config, calls),
            efs: client!(aws_sdk_efs, &config, calls),
            iam: client!(aws_sdk_iam, &config, calls),
            logs: client!(aws_sdk_cloudwatchlogs, &config, calls),
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
