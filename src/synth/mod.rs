//! Synth: a validated stack → the desired AWS graph. Pure: no network, no state. Each area of
//! the architecture adds its nodes in its own file and hands the next one references.

pub mod compute;
pub mod data;
pub mod network;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::artifacts::Artifacts;
use crate::aws::tags;
use crate::graph::{Graph, GraphError, Node};
use crate::stack::LoadedStack;

/// Builds nodes with the stack's tags filled in.
pub struct Synth<'a> {
    pub stack: &'a LoadedStack,
    pub graph: Graph,
    extra_tags: BTreeMap<String, String>,
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
            .fold(Node::new(kind, name, props), |n, a| n.after(a));
        self.graph.add(node.clone())?;
        Ok(node)
    }

    pub fn add_node(&mut self, node: Node) -> Result<Node, GraphError> {
        self.graph.add(node.clone())?;
        Ok(node)
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

/// The whole desired AWS graph for a stack (empty for Kubernetes-only stacks), given the
/// local artifacts `artifacts::prepare` computed.
pub fn aws(stack: &LoadedStack, artifacts: &Artifacts) -> Result<Graph, GraphError> {
    let mut s = Synth::new(stack);
    if uses_aws(stack) {
        let net = network::synth(&mut s)?;
        let _data = data::synth(&mut s, &net, artifacts)?;
    }
    s.graph.dag()?;
    Ok(s.graph)
}
