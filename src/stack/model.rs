//! The typed model of a stack file (v1). Pure data: loading lives in `load`, checks in `validate`.

use std::path::PathBuf;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::kubernetes::KubernetesSpec;

/// One stack file: an app and where it runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// Schema version of the file; only `1` exists.
    pub version: Spanned<u32>,
    /// Stack name: prefixes every AWS name and keys the state file.
    pub name: Spanned<String>,
    /// AWS region; falls back to the SDK's usual configuration (`AWS_REGION`, profile).
    #[serde(default)]
    pub region: Option<Spanned<String>>,
    /// Extra tags on every AWS resource (next to `wxinfra:stack` / `wxinfra:address`).
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, Spanned<String>>,
    pub app: AppSpec,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default)]
    pub efs: EfsSpec,
    #[serde(default)]
    pub load_balancer: LoadBalancerSpec,
    #[serde(default)]
    pub compute: ComputeSpec,
    #[serde(default)]
    pub runtime: RuntimeSpec,
    #[serde(default)]
    pub kubernetes: Option<KubernetesSpec>,
    /// Where the state lives (default: a local file); see docs/state.md.
    #[serde(default)]
    pub state: Option<StateSpec>,
}

/// A parsed and validated stack, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedStack {
    pub stack: Stack,
    /// The stack file itself.
    pub path: PathBuf,
    /// Directory that relative paths in the file are resolved against.
    pub dir: PathBuf,
}

impl LoadedStack {
    /// Resolves a path written in the stack file.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

/// Which store keeps the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// `.wxinfra/<stack>.state.json` (or `--state PATH`) with a lock file beside it.
    #[default]
    Local,
    /// An S3 object, locked with a conditional write (`If-None-Match: *`).
    S3,
}

/// The `state:` section: the backend and, for S3, where and how the object is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    #[serde(default = "default_backend")]
    pub backend: Spanned<BackendKind>,
    #[serde(default)]
    pub bucket: Option<Spanned<String>>,
    /// Object key; default `wxinfra/<stack>.state.json`.
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    /// The bucket's region, when it differs from the stack's.
    #[serde(default)]
    pub region: Option<Spanned<String>>,
    /// A custom S3 endpoint (an S3-compatible store); https, or http on loopback only.
    #[serde(default)]
    pub endpoint: Option<Spanned<String>>,
    /// Server-side encryption (default true): AES256, or aws:kms with `kms_key_id`.
    #[serde(default)]
    pub encrypt: Option<Spanned<bool>>,
    #[serde(default)]
    pub kms_key_id: Option<Spanned<String>>,
}

/// The Spin app to deploy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Path to `spin.toml`, relative to the stack file.
    pub manifest: Spanned<String>,
}

/// Which subnets compute (EC2, Fargate, Lambda) and the EFS mount targets sit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SubnetPlacement {
    /// The load balancer's public subnets (tasks get a public IP to reach AWS APIs).
    #[default]
    Public,
    /// Subnets of their own with no route from the internet; AWS APIs are reached through
    /// NAT gateways in the public subnets (and S3 through its gateway endpoint).
    Private,
}

/// Where the network comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VpcMode {
    /// A new VPC with public subnets, an internet gateway and routes.
    #[default]
    New,
    /// The region's default VPC and its default subnets.
    Default,
    /// An existing VPC given by `vpc_id` and `subnet_ids`.
    Existing,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    #[serde(default = "default_vpc_mode")]
    pub vpc: Spanned<VpcMode>,
    /// `existing` only.
    #[serde(default)]
    pub vpc_id: Option<Spanned<String>>,
    /// `existing` only: subnets the ALB, EFS and compute use (two AZs at least).
    #[serde(default)]
    pub subnet_ids: Vec<Spanned<String>>,
    /// `new` only: the VPC's CIDR block.
    #[serde(default = "default_cidr")]
    pub cidr: Spanned<String>,
    /// `new` only: how many AZs get a public subnet.
    #[serde(default = "num::<2>")]
    pub availability_zones: Spanned<u32>,
    /// `new` only: explicit subnet CIDRs, one per AZ; derived as /24s of `cidr` when empty.
    #[serde(default)]
    pub public_subnets: Vec<Spanned<String>>,
    /// Who may reach the load balancer.
    #[serde(default = "default_ingress")]
    pub ingress_cidrs: Vec<Spanned<String>>,
    /// `new` only: `public` (default) or `private` subnets for compute and EFS.
    #[serde(default = "default_placement")]
    pub compute_subnets: Spanned<SubnetPlacement>,
    /// `new` with private compute subnets: explicit CIDRs, one per AZ; derived when empty.
    #[serde(default)]
    pub private_subnets: Vec<Spanned<String>>,
    /// `new` with private compute subnets: NAT gateways (1 = one shared, up to one per AZ).
    #[serde(default = "num::<1>")]
    pub nat_gateways: Spanned<u32>,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        Self {
            vpc: default_vpc_mode(),
            vpc_id: None,
            subnet_ids: Vec::new(),
            cidr: default_cidr(),
            availability_zones: num::<2>(),
            public_subnets: Vec::new(),
            ingress_cidrs: default_ingress(),
            compute_subnets: default_placement(),
            private_subnets: Vec::new(),
            nat_gateways: num::<1>(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfsSpec {
    /// `elastic` (default) or `bursting`.
    #[serde(default = "default_throughput")]
    pub throughput_mode: Spanned<String>,
    /// Days after which files move to Infrequent Access: 1, 7, 14, 30, 60, 90, 180, 270, 365; 0 = never.
    #[serde(default = "num::<30>")]
    pub transition_to_ia_days: Spanned<u32>,
}

impl Default for EfsSpec {
    fn default() -> Self {
        Self {
            throughput_mode: default_throughput(),
            transition_to_ia_days: num::<30>(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// Listener port.
    #[serde(default = "port::<80>")]
    pub port: Spanned<u16>,
    /// Idle timeout in seconds (1..=4000).
    #[serde(default = "num::<60>")]
    pub idle_timeout: Spanned<u32>,
    /// Seconds a deregistered target keeps serving in-flight requests (0..=3600).
    #[serde(default = "num::<30>")]
    pub deregistration_delay: Spanned<u32>,
    /// An ACM certificate (same region) for an HTTPS listener; `port` then redirects to it.
    #[serde(default)]
    pub certificate_arn: Option<Spanned<String>>,
    /// A name to serve under: wxinfra requests a DNS-validated ACM certificate for it,
    /// validates it in `hosted_zone` and points the name at the load balancer.
    #[serde(default)]
    pub domain: Option<Spanned<String>>,
    /// The public Route 53 hosted zone (its name) that holds `domain`.
    #[serde(default)]
    pub hosted_zone: Option<Spanned<String>>,
    /// HTTPS listener port, with `certificate_arn` or `domain`.
    #[serde(default = "port::<443>")]
    pub https_port: Spanned<u16>,
    /// The HTTPS listener's security policy (TLS versions and ciphers).
    #[serde(default = "default_ssl_policy")]
    pub ssl_policy: Spanned<String>,
}

impl LoadBalancerSpec {
    /// Whether the load balancer serves HTTPS (and redirects plain HTTP to it).
    pub fn https(&self) -> bool {
        self.certificate_arn.is_some() || self.domain.is_some()
    }
}

impl Default for LoadBalancerSpec {
    fn default() -> Self {
        Self {
            port: port::<80>(),
            idle_timeout: num::<60>(),
            deregistration_delay: num::<30>(),
            certificate_arn: None,
            domain: None,
            hosted_zone: None,
            https_port: port::<443>(),
            ssl_policy: default_ssl_policy(),
        }
    }
}

/// CPU architecture of a compute primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    #[default]
    Arm64,
    X86_64,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }
}

/// Which primitives run the app; any may be left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeSpec {
    #[serde(default)]
    pub ec2: Option<Spanned<Ec2Spec>>,
    #[serde(default)]
    pub fargate: Option<Spanned<FargateSpec>>,
    #[serde(default)]
    pub lambda: Option<Spanned<LambdaSpec>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2Spec {
    /// Instances the Auto Scaling group runs: its min, max and desired capacity; with
    /// `scaling`, the count it starts with (kept within the bounds), after which the
    /// target-tracking policy owns it.
    #[serde(default = "num::<1>")]
    pub count: Spanned<u32>,
    /// None: the default of the architecture (see [`Ec2Spec::instance_type`]).
    #[serde(default)]
    pub instance_type: Option<Spanned<String>>,
    #[serde(default = "default_arch")]
    pub arch: Spanned<Arch>,
    #[serde(default = "num::<1>")]
    pub weight: Spanned<u32>,
    #[serde(default)]
    pub scaling: Option<Spanned<ScalingSpec>>,
    /// Seconds a new instance takes to serve: the ELB health check grace period, and what
    /// scaling and instance refreshes wait before counting it.
    #[serde(default = "num::<120>")]
    pub warmup: Spanned<u32>,
    /// Share of the desired instances an instance refresh keeps in service, in percent; at
    /// 100 replacements are launched and healthy before old instances stop.
    #[serde(default = "num::<100>")]
    pub min_healthy_percent: Spanned<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargateSpec {
    /// CPU units (256, 512, 1024, ...), paired with `memory` as Fargate allows.
    #[serde(default = "num::<256>")]
    pub cpu: Spanned<u32>,
    /// Memory in MiB.
    #[serde(default = "num::<512>")]
    pub memory: Spanned<u32>,
    /// Tasks to run; with `scaling`, the count the service starts with (kept within its
    /// bounds), after which Application Auto Scaling owns it.
    #[serde(default = "num::<1>")]
    pub desired_count: Spanned<u32>,
    #[serde(default = "default_arch")]
    pub arch: Spanned<Arch>,
    #[serde(default = "num::<1>")]
    pub weight: Spanned<u32>,
    /// Target tracking between bounds; none: `desired_count` tasks, always.
    #[serde(default)]
    pub scaling: Option<Spanned<ScalingSpec>>,
}

/// Target-tracking scaling between bounds: AWS adds capacity while the tracked metric is
/// above its target and removes it while below.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingSpec {
    #[serde(default = "num::<1>")]
    pub min: Spanned<u32>,
    pub max: Spanned<u32>,
    /// Average CPU utilisation to hold, in percent.
    #[serde(default)]
    pub cpu: Option<Spanned<u32>>,
    /// Requests per target per minute to hold, as the load balancer counts them
    /// (`ALBRequestCountPerTarget`).
    #[serde(default)]
    pub requests_per_target: Option<Spanned<u32>>,
    /// Seconds after a scale-in before the next one (AWS's default when absent: 300).
    #[serde(default)]
    pub scale_in_cooldown: Option<Spanned<u32>>,
    /// Seconds after a scale-out before the next one (AWS's default when absent: 300).
    #[serde(default)]
    pub scale_out_cooldown: Option<Spanned<u32>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSpec {
    /// Memory in MiB (128..=10240).
    #[serde(default = "num::<512>")]
    pub memory: Spanned<u32>,
    /// Timeout in seconds (1..=900).
    #[serde(default = "num::<30>")]
    pub timeout: Spanned<u32>,
    #[serde(default = "default_arch")]
    pub arch: Spanned<Arch>,
    #[serde(default = "num::<1>")]
    pub weight: Spanned<u32>,
    /// CloudWatch Logs retention in days.
    #[serde(default = "num::<14>")]
    pub log_retention_days: Spanned<u32>,
    /// Concurrent executions reserved for the function (and its cap); none: the account's
    /// unreserved pool.
    #[serde(default)]
    pub reserved_concurrency: Option<Spanned<u32>>,
    /// Execution environments kept initialised (provisioned concurrency) on a published
    /// version behind the `live` alias, which the load balancer then invokes; none: every
    /// environment starts on demand.
    #[serde(default)]
    pub provisioned_concurrency: Option<Spanned<u32>>,
}

/// The runtime every primitive runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSpec {
    /// Port `wxrun serve` listens on (never 3000: the Lambda Insights extension owns it).
    #[serde(default = "port::<8080>")]
    pub port: Spanned<u16>,
    /// Path to a prebuilt static `wxrun` binary, relative to the stack file. Default: the
    /// one built next to `wxinfra` (`runtime-image/build-static.sh`).
    #[serde(default)]
    pub binary: Option<Spanned<String>>,
}

impl Default for RuntimeSpec {
    fn default() -> Self {
        Self {
            port: port::<8080>(),
            binary: None,
        }
    }
}

/// A default value that has no place in the file; `validate` never points at it.
pub fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(
        value,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// A numeric default (serde's `default = "num::<30>"`).
fn num<const N: u32>() -> Spanned<u32> {
    unspanned(N)
}
fn port<const N: u16>() -> Spanned<u16> {
    unspanned(N)
}
fn default_backend() -> Spanned<BackendKind> {
    unspanned(BackendKind::Local)
}
fn default_arch() -> Spanned<Arch> {
    unspanned(Arch::Arm64)
}
fn default_vpc_mode() -> Spanned<VpcMode> {
    unspanned(VpcMode::New)
}
fn default_cidr() -> Spanned<String> {
    unspanned("10.42.0.0/16".into())
}
fn default_ingress() -> Vec<Spanned<String>> {
    vec![unspanned("0.0.0.0/0".into())]
}
fn default_placement() -> Spanned<SubnetPlacement> {
    unspanned(SubnetPlacement::Public)
}
/// TLS 1.3 and 1.2 only, AWS's recommended policy for new listeners.
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
fn default_ssl_policy() -> Spanned<String> {
    unspanned(DEFAULT_SSL_POLICY.into())
}
fn default_throughput() -> Spanned<String> {
    unspanned("elastic".into())
}
impl Ec2Spec {
    /// The instance type: the stack's, or a small burstable one of the architecture.
    pub fn instance_type(&self) -> &str {
        match (&self.instance_type, self.arch.value) {
            (Some(t), _) => &t.value,
            (None, Arch::Arm64) => "t4g.small",
            (None, Arch::X86_64) => "t3.small",
        }
    }
}
