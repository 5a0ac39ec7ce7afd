//! Synth: a validated stack → the desired AWS graph. Pure: no network, no state. Each area of
//! the architecture adds its nodes in its own file and hands the next one references.

pub mod compute;
pub mod data;
pub mod network;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::artifacts::Artifacts;
use crate::aws::route53_zone_lookup::Route53ZoneLookupProps;
use crate::aws::tags;
use crate::graph::{Graph, GraphError, Node};
use crate::stack::LoadedStack;

/// Builds nodes with the stack's tags filled in.
pub struct Synth<'a> {
    pub stack: &'a LoadedStack,
    pub graph: Graph,
    extra_tags: BTreeMap<String, String>,
    /// A lookup of what the stack adopts (a default or existing VPC): every node added after
    /// it waits for it, so a lookup that fails (wrong VPC or subnets) stops the apply before
    /// anything is created.
    pub gate: Option<String>,
    /// Reference to the id of the hosted zone that holds `load_balancer.domain`.
    pub hosted_zone_id: Option<String>,
}

impl<'a> Synth<'a> {
    fn new(stack: &'a LoadedStack) -> Self {
        let extra_tags = stack
            .stack
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        Self {
            stack,
            graph: Graph::default(),
            extra_tags,
            gate: None,
            hosted_zone_id: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.stack.stack.name.value
    }

    /// Adds a node of `kind` named `name`; taggable kinds get the standard `tags` property.
    pub fn add(
        &mut self,
        kind: &str,
        name: &str,
        props: Value,
        taggable: bool,
    ) -> Result<Node, GraphError> {
        self.add_after(kind, name, props, taggable, &[])
    }

    /// [`Synth::add`], ordered after `after` (addresses) with no value flowing between them.
    pub fn add_after(
        &mut self,
        kind: &str,
        name: &str,
        mut props: Value,
        taggable: bool,
        after: &[&str],
    ) -> Result<Node, GraphError> {
        let address = format!("{kind}.{name}");
        if taggable {
            props["tags"] = tags::for_resource(self.name(), &address, &self.extra_tags);
        }
        let node = after
            .iter()
            .copied()
            .chain(self.gate.as_deref())
            .fold(Node::new(kind, name, props), |n, a| n.after(a));
        self.graph.add(node.clone())?;
        Ok(node)
    }

    /// A resource of `P`'s kind with typed properties (references as `${…}` strings or
    /// [`crate::aws::props::Val::Ref`]).
    pub fn add_typed<P: crate::aws::props::Typed>(
        &mut self,
        name: &str,
        props: &P,
        taggable: bool,
    ) -> Result<Node, GraphError> {
        self.add_typed_after(name, props, taggable, &[])
    }

    /// [`Synth::add_typed`], ordered after `after`.
    pub fn add_typed_after<P: crate::aws::props::Typed>(
        &mut self,
        name: &str,
        props: &P,
        taggable: bool,
        after: &[&str],
    ) -> Result<Node, GraphError> {
        let props = serde_json::to_value(props).expect("typed properties serialize");
        self.add_after(P::KIND, name, props, taggable, after)
    }

    /// A stack output (printed by `apply` and `output`): a value that may hold references.
    pub fn output(&mut self, name: &str, value: Value) {
        self.graph.outputs.insert(name.to_string(), value);
    }
}

/// True when the stack runs anything on AWS.
pub fn uses_aws(stack: &LoadedStack) -> bool {
    let c = &stack.stack.compute;
    c.ec2.is_some() || c.fargate.is_some() || c.lambda.is_some()
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("rendering EC2 user data")]
    UserData(#[from] minijinja::Error),
    /// An invariant between `synth::data` and `synth::compute` broke.
    #[error("synth: the data side made no {0} for a configured primitive")]
    Missing(&'static str),
}

/// The whole desired AWS graph for a stack (empty for Kubernetes-only stacks), given the
/// local artifacts `artifacts::prepare` computed.
pub fn aws(stack: &LoadedStack, artifacts: &Artifacts) -> Result<Graph, SynthError> {
    let mut s = Synth::new(stack);
    if uses_aws(stack) {
        let lb = &stack.stack.load_balancer;
        if let (Some(zone), Some(_)) = (&lb.hosted_zone, &lb.domain) {
            // Like a VPC lookup, a zone that is not there stops the apply before anything is
            // created.
            let lookup = Route53ZoneLookupProps {
                name: zone.value.clone(),
            };
            let z = s.add_typed("main", &lookup, false)?;
            s.gate = Some(z.address.clone());
            s.hosted_zone_id = Some(z.out("id"));
        }
        let net = network::synth(&mut s)?;
        let data = data::synth(&mut s, &net, artifacts)?;
        compute::synth(&mut s, &net, &compute::Data::new(&data, artifacts))?;
    }
    s.graph.dag()?;
    Ok(s.graph)
}

/// Artifacts as `artifacts::prepare` would report them, without building anything.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use crate::artifacts::{Artifact, Artifacts};

    /// Release `release` (earlier ones `retained`), an arm64 runtime and a Lambda package.
    pub fn artifacts(release: &str, retained: &[&str]) -> Artifacts {
        let a = |key: &str, sha: &str| Artifact {
            path: PathBuf::from(format!(".wxinfra/artifacts/demo/{key}")),
            sha256: sha.into(),
            key: key.into(),
        };
        Artifacts {
            bundle: a(&crate::artifacts::bundle_key(release), release),
            release_id: release.into(),
            retained: retained.iter().map(|s| s.to_string()).collect(),
            runtime: BTreeMap::from([("arm64", a("runtime/wxrun-arm64-bin", "bin"))]),
            lambda_zip: Some(a("lambda/wxrun-arm64-zip.zip", "zip")),
            kv_labels: Vec::new(),
        }
    }
}
