//! Data and identity: the encrypted EFS file system (a mount target per subnet, the `/app`
//! access point, TLS-only), the private artifact bucket with the content-addressed artifacts
//! and the `current` release pointer, the S3 gateway endpoint that gives in-VPC compute (a
//! Lambda above all) a path to that bucket, the log groups, and least-privilege IAM roles for
//! each configured primitive. Compute (`synth::compute`) attaches to what [`Data`] returns.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Synth;
use super::network::Network;
use crate::artifacts::{Artifact, Artifacts, CURRENT_KEY};
use crate::aws::caller_identity::CallerIdentityProps;
use crate::aws::dynamodb_table::{DynamodbTableProps, HASH_KEY};
use crate::aws::efs_access_point::{EfsAccessPointProps, Posix, RootDir};
use crate::aws::efs_file_system::EfsFileSystemProps;
use crate::aws::efs_mount_target::EfsMountTargetProps;
use crate::aws::iam_instance_profile::IamInstanceProfileProps;
use crate::aws::iam_role::{self, IamRoleProps};
use crate::aws::log_group::LogGroupProps;
use crate::aws::policy::document;
use crate::aws::props::Val;
use crate::aws::release::ReleaseProps;
use crate::aws::s3_bucket::S3BucketProps;
use crate::aws::s3_object::S3ObjectProps;
use crate::aws::vpc_endpoint::VpcEndpointProps;
use crate::graph::{GraphError, Node, refs_in};
use crate::stack::VpcMode;

/// POSIX owner of the access point root and user of every client.
pub const APP_UID: i64 = 1000;
/// Retention of the EC2 and Fargate log groups (Lambda's comes from the stack).
pub const LOG_RETENTION_DAYS: u32 = 30;

/// IAM roles, present for the primitives the stack configures.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    pub ec2: Option<Node>,
    pub ec2_instance_profile: Option<Node>,
    pub ecs_execution: Option<Node>,
    pub ecs_task: Option<Node>,
    pub lambda: Option<Node>,
}

/// Log groups, present for the primitives the stack configures. EC2 has none: nothing on the
/// instance ships logs (wxrun logs to the journal, user data to cloud-init's log and the
/// console), and a group nothing writes to would only widen the instance role.
#[derive(Debug, Clone, Default)]
pub struct LogGroups {
    pub fargate: Option<Node>,
    pub lambda: Option<Node>,
}

/// What compute attaches to. Use `node.out("arn")` etc. for references.
#[derive(Debug, Clone)]
pub struct Data {
    /// `aws.caller_identity.current`: outputs `account_id`, `region`, `partition`.
    pub identity: Node,
    /// `aws.efs_file_system.app`: outputs `id`, `arn`.
    pub file_system: Node,
    /// `aws.efs_mount_target.<subnet>`: consumers should come `after` all of them.
    pub mount_targets: Vec<Node>,
    /// `aws.efs_access_point.app`: outputs `id`, `arn`.
    pub access_point: Node,
    /// `aws.s3_bucket.artifacts`: outputs `id` (= bucket name), `name`, `arn`.
    pub bucket: Node,
    /// `aws.s3_object.runtime-<arch>` per architecture in use: outputs `key`, `sha256`, `bucket`.
    pub runtime: Vec<(&'static str, Node)>,
    /// `aws.s3_object.lambda-zip` when Lambda is configured.
    pub lambda_zip: Option<Node>,
    /// `aws.s3_object.release-<id prefix>`, the current release's bundle.
    pub bundle: Node,
    /// `aws.release.app`: outputs `release_id`, `key` (the pointer object).
    pub release: Node,
    /// `aws.vpc_endpoint.s3`.
    pub s3_endpoint: Node,
    pub roles: Roles,
    pub log_groups: LogGroups,
    /// `aws.dynamodb_table.kv-<label>` per key-value store label the app uses.
    pub kv_tables: Vec<(String, Node)>,
}

impl Data {
    /// Spin's runtime config pointing each key-value label at its table (`aws_dynamo`), as
    /// one line of TOML for `WXRUN_RUNTIME_CONFIG`; `None` when the app uses no store.
    pub fn runtime_config(&self) -> Option<String> {
        if self.kv_tables.is_empty() {
            return None;
        }
        // Literal strings and quoted keys: no escapes, and no double quotes to clash with
        // the systemd unit's quoting.
        let stores: Vec<String> = self
            .kv_tables
            .iter()
            .map(|(label, t)| {
                format!(
                    "'{label}' = {{ type = 'aws_dynamo', region = '{}', table = '{}' }}",
                    self.identity.out("region"),
                    t.out("name")
                )
            })
            .collect();
        Some(format!("key_value_store = {{ {} }}", stores.join(", ")))
    }
}

/// The address name of a release's bundle object: `release-` + the id's first 16 hex digits.
pub fn bundle_name(release_id: &str) -> String {
    format!("release-{}", &release_id[..release_id.len().min(16)])
}

pub fn synth(s: &mut Synth, net: &Network, artifacts: &Artifacts) -> Result<Data, GraphError> {
    let stack = s.name().to_string();
    let identity = s.add_typed("current", &CallerIdentityProps {}, false)?;
    let (file_system, mount_targets, access_point) = efs(s, net)?;
    let bucket = S3BucketProps {
        block_public_access: true,
        encryption: "AES256".into(),
        enforce_tls: true,
    };
    let bucket = s.add_typed("artifacts", &bucket, true)?;
    let objects = objects(s, &bucket, artifacts)?;
    let s3_endpoint = s3_endpoint(s, net, &identity, &bucket)?;
    let log_groups = log_groups(s, &stack)?;
    let kv_tables = kv_tables(s, &stack, artifacts)?;
    let tables: Vec<Value> = kv_tables.iter().map(|(_, t)| json!(t.out("arn"))).collect();
    let roles = roles(
        s,
        &stack,
        &identity,
        &Granted {
            file_system: &file_system,
            access_point: &access_point,
            bucket: &bucket,
            kv_tables: &tables,
        },
        &log_groups,
    )?;
    let Objects {
        runtime,
        lambda_zip,
        bundle,
        release,
    } = objects;
    Ok(Data {
        identity,
        file_system,
        mount_targets,
        access_point,
        bucket,
        runtime,
        lambda_zip,
        bundle,
        release,
        s3_endpoint,
        roles,
        log_groups,
        kv_tables,
    })
}

/// The encrypted file system (TLS only), a mount target per subnet and the app's access
/// point, whose root the runtime's POSIX user owns.
fn efs(s: &mut Synth, net: &Network) -> Result<(Node, Vec<Node>, Node), GraphError> {
    let efs = &s.stack.stack.efs;
    let file_system = EfsFileSystemProps {
        encrypted: true,
        performance_mode: "generalPurpose".into(),
        throughput_mode: efs.throughput_mode.value.clone(),
        transition_to_ia_days: efs.transition_to_ia_days.value,
        enforce_tls: true,
    };
    let file_system = s.add_typed("app", &file_system, true)?;
    let mut mount_targets = Vec::new();
    for (name, subnet_id) in subnets(s, net) {
        let target = EfsMountTargetProps {
            file_system_id: file_system.out("id"),
            subnet_id,
            security_groups: vec![net.efs_sg.clone()],
        };
        mount_targets.push(s.add_typed(&name, &target, false)?);
    }
    let access_point = EfsAccessPointProps {
        file_system_id: file_system.out("id"),
        root_directory: RootDir {
            path: "/app".into(),
            owner_uid: APP_UID,
            owner_gid: APP_UID,
            permissions: "0755".into(),
        },
        posix_user: Posix {
            uid: APP_UID,
            gid: APP_UID,
        },
    };
    let access_point = s.add_typed("app", &access_point, true)?;
    Ok((file_system, mount_targets, access_point))
}

/// The artifact objects a release needs, and the release pointer.
struct Objects {
    runtime: Vec<(&'static str, Node)>,
    lambda_zip: Option<Node>,
    bundle: Node,
    release: Node,
}

/// The runtime binaries, the Lambda package, this release's bundle and the earlier ones kept
/// for rollback, in the bucket, and the `current` pointer to this release.
fn objects(s: &mut Synth, bucket: &Node, artifacts: &Artifacts) -> Result<Objects, GraphError> {
    let object = |s: &mut Synth, name: &str, a: &Artifact, content_type: &str| {
        let object = S3ObjectProps {
            bucket: bucket.out("id"),
            key: a.key.clone(),
            source: a.path.to_string_lossy().into_owned(),
            sha256: a.sha256.clone(),
            content_type: content_type.into(),
        };
        s.add_typed(name, &object, false)
    };
    let mut runtime = Vec::new();
    for (arch, a) in &artifacts.runtime {
        let node = object(s, &format!("runtime-{arch}"), a, "application/octet-stream")?;
        runtime.push((*arch, node));
    }
    let lambda_zip = match &artifacts.lambda_zip {
        Some(a) => Some(object(s, "lambda-zip", a, "application/zip")?),
        None => None,
    };
    let bundle = object(
        s,
        &bundle_name(&artifacts.release_id),
        &artifacts.bundle,
        "application/x-tar",
    )?;
    // Earlier releases stay for rollback: their objects remain wanted (a no-op in the plan)
    // until they fall out of the window and are deleted.
    for id in &artifacts.retained {
        let kept = Artifact {
            key: crate::artifacts::bundle_key(id),
            path: artifacts.bundle.path.with_file_name(format!("{id}.tar")),
            sha256: id.clone(),
        };
        object(s, &bundle_name(id), &kept, "application/x-tar")?;
    }
    let release = ReleaseProps {
        bucket: bucket.out("id"),
        key: CURRENT_KEY.into(),
        release_id: artifacts.release_id.clone(),
        bundle_key: bundle.out("key"),
        retained: artifacts.retained.clone(),
    };
    let release = s.add_typed("app", &release, false)?;
    Ok(Objects {
        runtime,
        lambda_zip,
        bundle,
        release,
    })
}

/// The S3 gateway endpoint on the route tables, whose policy admits the artifact bucket and
/// the AWS-owned buckets compute needs.
fn s3_endpoint(
    s: &mut Synth,
    net: &Network,
    identity: &Node,
    bucket: &Node,
) -> Result<Node, GraphError> {
    let bucket_arn = bucket.out("arn");
    let endpoint = VpcEndpointProps {
        vpc_id: net.vpc_id.clone(),
        service_name: format!("com.amazonaws.{}.s3", identity.out("region")),
        route_table_ids: net.route_table_ids.clone(),
        policy: document(vec![
            json!({
                "Sid": "ArtifactBucket",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [bucket_arn, format!("{bucket_arn}/*")],
            }),
            // Every S3 request from these subnets now goes through the endpoint, so the
            // AWS-owned buckets compute needs stay reachable: Amazon Linux 2023 packages
            // (EC2 user data) and ECR image layers (Fargate pulls).
            json!({
                "Sid": "AwsOwnedBuckets",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": [
                    format!("arn:aws:s3:::al2023-repos-{}-de612dc2/*", identity.out("region")),
                    format!("arn:aws:s3:::prod-{}-starport-layer-bucket/*", identity.out("region")),
                ],
            }),
        ]),
    };
    s.add_typed("s3", &endpoint, true)
}

/// A DynamoDB table per key-value store label the app uses.
fn kv_tables(
    s: &mut Synth,
    stack: &str,
    artifacts: &Artifacts,
) -> Result<Vec<(String, Node)>, GraphError> {
    artifacts
        .kv_labels
        .iter()
        .map(|label| {
            let table = DynamodbTableProps {
                name: format!("{stack}-kv-{label}"),
                hash_key: HASH_KEY.into(),
                billing_mode: "PAY_PER_REQUEST".into(),
                encrypted: true,
            };
            let t = s.add_typed(&format!("kv-{label}"), &table, true)?;
            Ok((label.clone(), t))
        })
        .collect()
}

/// What the runtime roles grant access to.
struct Granted<'a> {
    file_system: &'a Node,
    access_point: &'a Node,
    bucket: &'a Node,
    /// ARNs of the key-value tables (empty: no statement).
    kv_tables: &'a [Value],
}

/// (mount target name, subnet id reference) per subnet. A new VPC's subnets are named
/// nodes; a looked-up VPC gives one list, indexed here (`subnet_ids.0`, ...) for as many
/// subnets as the stack uses.
fn subnets(s: &Synth, net: &Network) -> Vec<(String, String)> {
    match &net.compute_subnet_ids {
        Val::Known(ids) => ids
            .iter()
            .map(|id| {
                let name = refs_in(&Value::String(id.clone()))
                    .first()
                    .and_then(|r| r.address.rsplit('.').next().map(str::to_string))
                    .unwrap_or_else(|| id.clone());
                (name, id.clone())
            })
            .collect(),
        Val::Ref(list) => {
            let n = &s.stack.stack.network;
            let count = match n.vpc.value {
                VpcMode::Existing => n.subnet_ids.len(),
                _ => n.availability_zones.value as usize,
            };
            let r = refs_in(&Value::String(list.clone()));
            let (address, output) = r
                .first()
                .map(|r| (r.address.clone(), r.output.clone()))
                .unwrap_or_default();
            let base = address.rsplit('.').next().unwrap_or("subnet").to_string();
            (0..count)
                .map(|i| {
                    (
                        format!("{base}-{i}"),
                        format!("${{{address}.{output}.{i}}}"),
                    )
                })
                .collect()
        }
    }
}

fn log_groups(s: &mut Synth, stack: &str) -> Result<LogGroups, GraphError> {
    let c = s.stack.stack.compute.clone();
    let group = |s: &mut Synth, name: &str, days: u32| {
        let group = LogGroupProps {
            name: format!("/wxinfra/{stack}/{name}"),
            // Validate keeps it to CloudWatch's values (at most 3653).
            retention_days: Some(days as i32),
        };
        s.add_typed(name, &group, true)
    };
    Ok(LogGroups {
        fargate: c
            .fargate
            .map(|_| group(s, "fargate", LOG_RETENTION_DAYS))
            .transpose()?,
        lambda: c
            .lambda
            .map(|l| group(s, "lambda", l.value.log_retention_days.value))
            .transpose()?,
    })
}

fn trust(service: &str, identity: Option<&Node>) -> Value {
    let mut st = json!({
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    });
    // Confused-deputy guard where the service passes the source account.
    if let Some(id) = identity {
        st["Condition"] = json!({"StringEquals": {"aws:SourceAccount": id.out("account_id")}});
    }
    document(vec![st])
}

/// What every runtime role grants: EFS through the access point, reading the artifact
/// prefixes it needs, and the app's key-value tables (exactly the calls wxrun's `aws_dynamo`
/// store makes, on exactly these tables).
fn runtime_statements(granted: &Granted, prefixes: &[&str]) -> Vec<Value> {
    let bucket_arn = granted.bucket.out("arn");
    let mut st = vec![
        json!({
            "Sid": "EfsThroughAccessPoint",
            "Effect": "Allow",
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            "Resource": granted.file_system.out("arn"),
            "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": granted.access_point.out("arn")}},
        }),
        json!({
            "Sid": "ReadArtifacts",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": prefixes.iter().map(|p| format!("{bucket_arn}/{p}/*")).collect::<Vec<_>>(),
        }),
        json!({
            "Sid": "ListArtifacts",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": prefixes.iter().map(|p| format!("{p}/*")).collect::<Vec<_>>()}},
        }),
    ];
    if !granted.kv_tables.is_empty() {
        st.push(json!({
            "Sid": "KeyValueTables",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"],
            "Resource": granted.kv_tables,
        }));
    }
    st
}

fn write_logs(g: &Node) -> Value {
    json!({
        "Sid": "WriteLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": format!("{}:*", g.out("arn")),
    })
}

/// ECS pulling the runtime image from the stack's repository and shipping the task's logs.
fn ecs_execution_statements(stack: &str, identity: &Node, g: &Node) -> Vec<Value> {
    let repo = format!(
        "arn:{}:ecr:{}:{}:repository/{stack}-runtime",
        identity.out("partition"),
        identity.out("region"),
        identity.out("account_id")
    );
    vec![
        // GetAuthorizationToken is account-wide: IAM offers no resource to scope it to.
        json!({"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}),
        json!({
            "Sid": "EcrPull",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            "Resource": repo,
        }),
        write_logs(g),
    ]
}

fn lambda_statements(granted: &Granted, g: &Node) -> Vec<Value> {
    let mut st = runtime_statements(granted, &["releases"]);
    st.push(write_logs(g));
    // What AWSLambdaVPCAccessExecutionRole grants: a function in a VPC needs ENIs, and
    // these EC2 actions take no resource ARN Lambda could know beforehand (Describe*
    // support none; the ENIs are created by the service with ids unknown in advance).
    st.push(json!({
        "Sid": "VpcNetworkInterfaces",
        "Effect": "Allow",
        "Action": [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
        "Resource": "*",
    }));
    st
}

/// A role under the stack's IAM path with one inline policy.
fn role(
    s: &mut Synth,
    name: &str,
    what: &str,
    trust: Value,
    statements: Vec<Value>,
) -> Result<Node, GraphError> {
    let stack = s.name().to_string();
    let role = IamRoleProps {
        name: format!("{stack}-{name}"),
        path: iam_role::path(&stack),
        description: Some(format!("wxinfra {stack}: {what}")),
        assume_role_policy: trust,
        policies: BTreeMap::from([("wxinfra".to_string(), document(statements))]),
    };
    s.add_typed(name, &role, true)
}

fn roles(
    s: &mut Synth,
    stack: &str,
    identity: &Node,
    granted: &Granted,
    logs: &LogGroups,
) -> Result<Roles, GraphError> {
    let c = s.stack.stack.compute.clone();
    let mut roles = Roles::default();
    if c.ec2.is_some() {
        let r = role(
            s,
            "ec2",
            "EC2 instances running wxrun",
            trust("ec2.amazonaws.com", None),
            runtime_statements(granted, &["releases", "runtime"]),
        )?;
        let profile = IamInstanceProfileProps {
            name: format!("{stack}-ec2"),
            path: iam_role::path(stack),
            role: r.out("name"),
        };
        roles.ec2_instance_profile = Some(s.add_typed("ec2", &profile, true)?);
        roles.ec2 = Some(r);
    }
    if let (Some(g), Some(_)) = (&logs.fargate, &c.fargate) {
        roles.ecs_execution = Some(role(
            s,
            "ecs-execution",
            "ECS pulls the runtime image and ships logs",
            trust("ecs-tasks.amazonaws.com", Some(identity)),
            ecs_execution_statements(stack, identity, g),
        )?);
        roles.ecs_task = Some(role(
            s,
            "ecs-task",
            "Fargate tasks running wxrun",
            trust("ecs-tasks.amazonaws.com", Some(identity)),
            runtime_statements(granted, &["releases"]),
        )?);
    }
    if let Some(g) = &logs.lambda {
        roles.lambda = Some(role(
            s,
            "lambda",
            "the Lambda function running wxrun",
            trust("lambda.amazonaws.com", None),
            lambda_statements(granted, g),
        )?);
    }
    Ok(roles)
}

#[cfg(test)]
mod tests;
