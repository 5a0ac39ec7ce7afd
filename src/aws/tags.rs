//! The tags every AWS resource carries: the stack's own plus `wxinfra:stack` and
//! `wxinfra:address`, which let `destroy` and crash recovery find what state lost.

use std::collections::BTreeMap;

use serde_json::{Value, json};

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

/// EC2 filters that find a resource by its stack and address tags.
pub fn ec2_address_filters(stack: &str, address: &str) -> Vec<aws_sdk_ec2::types::Filter> {
    vec![
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{STACK_TAG}"))
            .values(stack)
            .build(),
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{ADDRESS_TAG}"))
            .values(address)
            .build(),
    ]
}

/// Brings an EC2 resource's tags from `old` to `new` (create/overwrite, then delete removed keys).
pub async fn ec2_update(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    old: &Value,
    new: &Value,
) -> Result<(), crate::provider::ProviderError> {
    let want = ec2_tags(new);
    if !want.is_empty() {
        ec2.create_tags()
            .resources(id)
            .set_tags(Some(want))
            .send()
            .await
            .map_err(super::errors::classify)?;
    }
    let keep: std::collections::BTreeSet<String> = pairs(new).into_iter().map(|(k, _)| k).collect();
    let gone: Vec<_> = pairs(old)
        .into_iter()
        .filter(|(k, _)| !keep.contains(k))
        .map(|(k, _)| aws_sdk_ec2::types::Tag::builder().key(k).build())
        .collect();
    if !gone.is_empty() {
        ec2.delete_tags()
            .resources(id)
            .set_tags(Some(gone))
            .send()
            .await
            .map_err(super::errors::classify)?;
    }
    Ok(())
}

/// The `tags` property as a map (for services whose APIs take one: CloudWatch Logs).
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

/// Whether a resource's tags say it is `address` of `stack`.
pub fn is_address<'a>(
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

/// [`is_address`] for a `tags` value (a JSON object) as `read` builds it.
pub fn value_is_address(tags: &Value, stack: &str, address: &str) -> bool {
    tags.as_object().is_some_and(|m| {
        is_address(
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
            stack,
            address,
        )
    })
}
