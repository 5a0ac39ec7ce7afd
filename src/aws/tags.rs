//! The tags every AWS resource carries: the stack's own plus `wxinfra:stack` and
//! `wxinfra:address`, which let `destroy` and crash recovery find what state lost.

use std::collections::BTreeMap;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::{Value, json};

use super::errors::{HttpStatus, classify};

pub const STACK_TAG: &str = "wxinfra:stack";
pub const ADDRESS_TAG: &str = "wxinfra:address";

/// The `tags` property synth puts on every AWS node.
pub fn for_resource(stack: &str, address: &str, extra: &BTreeMap<String, String>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in extra {
        m.insert(k.clone(), json!(v));
    }
    m.insert(STACK_TAG.into(), json!(stack));
    m.insert(ADDRESS_TAG.into(), json!(address));
    m.insert("Name".into(), json!(format!("{stack}/{address}")));
    Value::Object(m)
}

/// The `tags` property as key/value pairs (empty when absent).
pub fn pairs(props: &Value) -> Vec<(String, String)> {
    props
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// EC2 `TagSpecification` for a create call: tags land atomically with the resource, so a
/// crash right after the call still leaves it findable by its address tag.
pub fn ec2_spec(
    resource: aws_sdk_ec2::types::ResourceType,
    props: &Value,
) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(ec2_tags(props)))
        .build()
}

pub fn ec2_tags(props: &Value) -> Vec<aws_sdk_ec2::types::Tag> {
    pairs(props)
        .into_iter()
        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// Tags of an EC2 description as the `tags` property.
pub fn from_ec2(tags: &[aws_sdk_ec2::types::Tag]) -> Value {
    let m: serde_json::Map<String, Value> = tags
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), json!(t.value().unwrap_or_default()))))
        .collect();
    Value::Object(m)
}

/// The EC2 filter that finds a stack's resources by its stack tag.
pub fn ec2_stack_filter(stack: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{STACK_TAG}"))
        .values(stack)
        .build()
}

/// EC2 filters that find a resource by its stack and address tags.
pub fn ec2_address_filters(stack: &str, address: &str) -> Vec<aws_sdk_ec2::types::Filter> {
    vec![
        ec2_stack_filter(stack),
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{ADDRESS_TAG}"))
            .values(address)
            .build(),
    ]
}

/// The EC2 resources of one kind that carry `address`'s tags in `stack`: `$describe` (a
/// describe call's builder, whose filter setter is `$filter`) filtered by
/// [`ec2_address_filters`], its `$list`. A macro because every describe call is a builder of
/// its own.
macro_rules! ec2_tagged {
    ($describe:expr, $filter:ident, $list:ident, $stack:expr, $address:expr) => {
        $describe
            .$filter(Some($crate::aws::tags::ec2_address_filters(
                $stack, $address,
            )))
            .send()
            .await
            .map_err($crate::aws::errors::classify)?
            .$list()
            .to_vec()
    };
}
pub(crate) use ec2_tagged;

/// What `find_orphan` answers for a resource found by its tags: its id, and the outputs
/// `read` fills in later.
pub fn adopted(id: Option<&str>) -> Option<crate::provider::Created> {
    id.map(|id| crate::provider::Created {
        id: id.to_string(),
        outputs: crate::provider::Outputs::new(),
    })
}

/// Brings a resource's tags from `old` to `new` through its service's own calls: `tag` sets
/// `new`'s tags (not sent when there are none: services refuse an empty set), then `untag`
/// removes the keys only `old` has.
pub async fn retag<O, E, R, UO, UE, UR, Fut>(
    tag: impl Future<Output = Result<O, SdkError<E, R>>>,
    untag: impl FnOnce(Vec<String>) -> Fut,
    old: &Value,
    new: &Value,
) -> Result<(), crate::provider::ProviderError>
where
    Fut: Future<Output = Result<UO, SdkError<UE, UR>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
    UE: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    UR: std::fmt::Debug + HttpStatus,
{
    if !pairs(new).is_empty() {
        tag.await.map_err(classify)?;
    }
    let gone = removed(old, new);
    if !gone.is_empty() {
        untag(gone).await.map_err(classify)?;
    }
    Ok(())
}

/// Brings an EC2 resource's tags from `old` to `new` (create/overwrite, then delete removed keys).
pub async fn ec2_update(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    old: &Value,
    new: &Value,
) -> Result<(), crate::provider::ProviderError> {
    retag(
        ec2.create_tags()
            .resources(id)
            .set_tags(Some(ec2_tags(new)))
            .send(),
        |gone| {
            let gone = gone
                .into_iter()
                .map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build());
            ec2.delete_tags()
                .resources(id)
                .set_tags(Some(gone.collect()))
                .send()
        },
        old,
        new,
    )
    .await
}

/// ELBv2 tags (load balancers, target groups, listeners) for a create call.
pub fn elb_tags(props: &Value) -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
    pairs(props)
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// The live tags of one ELBv2 resource as the `tags` property.
pub async fn elb_read(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    arn: &str,
) -> Result<Value, crate::provider::ProviderError> {
    let out = elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .map_err(classify)?;
    let m: serde_json::Map<String, Value> = out
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .filter_map(|t| Some((t.key()?.to_string(), json!(t.value().unwrap_or_default()))))
        .collect();
    Ok(Value::Object(m))
}

/// Brings an ELBv2 resource's tags from `old` to `new`.
pub async fn elb_update(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    arn: &str,
    old: &Value,
    new: &Value,
) -> Result<(), crate::provider::ProviderError> {
    retag(
        elb.add_tags()
            .resource_arns(arn)
            .set_tags(Some(elb_tags(new)))
            .send(),
        |gone| {
            elb.remove_tags()
                .resource_arns(arn)
                .set_tag_keys(Some(gone))
                .send()
        },
        old,
        new,
    )
    .await
}

/// ECS tags (clusters, task definitions, services) for a create call.
pub fn ecs_tags(props: &Value) -> Vec<aws_sdk_ecs::types::Tag> {
    pairs(props)
        .into_iter()
        .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// Tags of an ECS description as the `tags` property.
pub fn from_ecs(tags: &[aws_sdk_ecs::types::Tag]) -> Value {
    let m: serde_json::Map<String, Value> = tags
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), json!(t.value().unwrap_or_default()))))
        .collect();
    Value::Object(m)
}

/// Brings an ECS resource's tags from `old` to `new`.
pub async fn ecs_update(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
    old: &Value,
    new: &Value,
) -> Result<(), crate::provider::ProviderError> {
    retag(
        ecs.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ecs_tags(new)))
            .send(),
        |gone| {
            ecs.untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(gone))
                .send()
        },
        old,
        new,
    )
    .await
}

/// The `tags` property as a string map (Lambda and CloudWatch Logs take tags in this shape).
pub fn map(props: &Value) -> std::collections::HashMap<String, String> {
    pairs(props).into_iter().collect()
}

/// A `tags` property from key/value pairs of any service's description.
pub fn from_pairs<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        tags.into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

/// Keys in `old` that `new` no longer has (to untag on update).
pub fn removed(old: &Value, new: &Value) -> Vec<String> {
    let keep: std::collections::BTreeSet<String> = pairs(new).into_iter().map(|(k, _)| k).collect();
    pairs(old)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !keep.contains(k))
        .collect()
}

/// [`is_address`] for tags as key/value pairs of any service's description.
pub fn pairs_are_address<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    stack: &str,
    address: &str,
) -> bool {
    let (mut s, mut a) = (false, false);
    for (k, v) in tags {
        s |= k == STACK_TAG && v == stack;
        a |= k == ADDRESS_TAG && v == address;
    }
    s && a
}

/// A string map of live tags as the `tags` property.
pub fn from_map<'a>(m: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    Value::Object(m.into_iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// Whether `tags` mark the resource as this stack's `address`.
pub fn is_address(tags: &Value, stack: &str, address: &str) -> bool {
    tags.get(STACK_TAG).and_then(Value::as_str) == Some(stack)
        && tags.get(ADDRESS_TAG).and_then(Value::as_str) == Some(address)
}

/// ARN of the resource of `resource_type` (tagging API filter, e.g.
/// `elasticloadbalancing:loadbalancer`) tagged as this stack's `address`, if any.
pub async fn find_arn(
    tagging: &aws_sdk_resourcegroupstagging::Client,
    resource_type: &str,
    stack: &str,
    address: &str,
) -> Result<Option<String>, crate::provider::ProviderError> {
    Ok(find_arns(tagging, resource_type, stack, address)
        .await?
        .into_iter()
        .next())
}

/// Every resource of `resource_type` tagged with this stack and address (a replacement made
/// before its predecessor is deleted shares the address with it).
pub async fn find_arns(
    tagging: &aws_sdk_resourcegroupstagging::Client,
    resource_type: &str,
    stack: &str,
    address: &str,
) -> Result<Vec<String>, crate::provider::ProviderError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let out = tagging
        .get_resources()
        .resource_type_filters(resource_type)
        .tag_filters(TagFilter::builder().key(STACK_TAG).values(stack).build())
        .tag_filters(
            TagFilter::builder()
                .key(ADDRESS_TAG)
                .values(address)
                .build(),
        )
        .send()
        .await
        .map_err(classify)?;
    Ok(out
        .resource_tag_mapping_list()
        .iter()
        .filter_map(|r| r.resource_arn().map(str::to_string))
        .collect())
}
