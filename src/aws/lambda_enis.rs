//! Lambda's VPC network interfaces ("AWS Lambda VPC ENI-…"). AWS releases them only some time
//! after their function is deleted or moved to other subnets or groups (up to ~45 minutes,
//! terraform-provider-aws #10329, #10347), does not always delete them, and while one is in a
//! subnet or security group, that subnet or group cannot be deleted. As Terraform does, a
//! subnet or group delete first deletes the released ones and waits, bounded and saying so,
//! for those still in use.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{Filter, NetworkInterfaceStatus};

use super::errors::{classify, code, ec2_not_found};
use super::wait;
use crate::provider::ProviderError;

/// AWS's own worst case for a release, with a margin.
const RELEASE: Duration = Duration::from_secs(50 * 60);

/// How often the wait says it is still waiting.
const SAY_EVERY: Duration = Duration::from_secs(60);

/// Where the interfaces sit: what is about to be deleted.
#[derive(Clone, Copy)]
pub enum Holder<'a> {
    Subnet(&'a str),
    SecurityGroup(&'a str),
}

impl Holder<'_> {
    fn filter(&self) -> Filter {
        let (name, id) = match self {
            Holder::Subnet(id) => ("subnet-id", id),
            Holder::SecurityGroup(id) => ("group-id", id),
        };
        Filter::builder().name(name).values(*id).build()
    }

    fn id(&self) -> &str {
        match self {
            Holder::Subnet(id) | Holder::SecurityGroup(id) => id,
        }
    }
}

/// Deletes the Lambda interfaces in `holder`, waiting for those still in use to be released.
/// Returns at once (one describe) when there are none.
pub async fn clear(ec2: &aws_sdk_ec2::Client, holder: Holder<'_>) -> Result<(), ProviderError> {
    let start = Instant::now();
    let said: Mutex<Option<Instant>> = Mutex::new(None);
    let said = &said;
    let what = format!(
        "Lambda network interfaces in {} to be released",
        holder.id()
    );
    wait::until(&what, RELEASE, || async move {
        let in_use = delete_released(ec2, holder).await?;
        if in_use == 0 {
            return Ok(Some(()));
        }
        let mut said = said.lock().expect("not poisoned");
        if said.is_none_or(|t| t.elapsed() >= SAY_EVERY) {
            tracing::warn!(
                "waiting for {in_use} Lambda network interface(s) in {} to be released \
                 ({}s so far; AWS can take up to 45 minutes after a function is deleted or moved)",
                holder.id(),
                start.elapsed().as_secs()
            );
            *said = Some(Instant::now());
        }
        Ok(None)
    })
    .await
}

/// Deletes the released Lambda interfaces in `holder`; answers how many are still in use.
async fn delete_released(
    ec2: &aws_sdk_ec2::Client,
    holder: Holder<'_>,
) -> Result<usize, ProviderError> {
    let out = ec2
        .describe_network_interfaces()
        .filters(holder.filter())
        .filters(
            Filter::builder()
                .name("description")
                .values("AWS Lambda VPC ENI*")
                .build(),
        )
        .send()
        .await
        .map_err(classify)?;
    let mut in_use = 0;
    for eni in out.network_interfaces() {
        let id = eni.network_interface_id().unwrap_or_default();
        if eni.status() != Some(&NetworkInterfaceStatus::Available) {
            in_use += 1;
            continue;
        }
        match ec2
            .delete_network_interface()
            .network_interface_id(id)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(ec2_not_found) => {}
            // Taken again between the describe and the delete: wait for it as in use.
            Err(e) if code(&e) == Some("InvalidParameterValue") => in_use += 1,
            Err(e) => return Err(classify(e)),
        }
    }
    Ok(in_use)
}
