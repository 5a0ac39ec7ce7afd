//! The desired graph: resources with stable addresses, typed properties and references to
//! other resources' outputs (`${aws.vpc.main.id}`). Edges come from those references (plus a
//! resource's explicit `after` list for orderings AWS needs without a value flowing).

pub mod dag;
pub mod reference;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use dag::{Cycle, Dag, Outcome};
pub use reference::{Ref, refs_in};

/// One resource the stack wants to exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Stable address: `<provider>.<kind>.<name>`, e.g. `aws.subnet.public-a`.
    pub address: String,
    /// Resource kind: `<provider>.<kind>`, e.g. `aws.subnet`.
    pub kind: String,
    /// Properties as the provider's file for this kind reads them; strings may hold references.
    pub props: Value,
    /// Extra ordering with no value flowing (e.g. a Lambda permission before target registration).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub after: BTreeSet<String>,
    /// Properties set at create but then owned by something else (an ECS service's desired
    /// count once Application Auto Scaling drives it): plan and drift leave them alone, as
    /// Terraform's `lifecycle { ignore_changes }` does.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub ignore_changes: BTreeSet<String>,
}

impl Node {
    pub fn new(kind: &str, name: &str, props: Value) -> Self {
        Self {
            address: format!("{kind}.{name}"),
            kind: kind.to_string(),
            props,
            after: BTreeSet::new(),
            ignore_changes: BTreeSet::new(),
        }
    }

    pub fn after(mut self, address: &str) -> Self {
        self.after.insert(address.to_string());
        self
    }

    /// Addresses this node depends on: referenced ones and explicit `after` ones.
    pub fn depends_on(&self) -> BTreeSet<String> {
        let mut deps: BTreeSet<String> = refs_in(&self.props)
            .into_iter()
            .map(|r| r.address)
            .collect();
        deps.extend(self.after.iter().cloned());
        deps
    }

    /// A reference to one of this node's outputs, for use in another node's props.
    pub fn out(&self, output: &str) -> String {
        format!("${{{}.{output}}}", self.address)
    }
}

/// What the stack wants, keyed by address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub nodes: BTreeMap<String, Node>,
    /// Stack outputs (endpoint URL, ids): values that may reference resource outputs.
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("{from} refers to {to}, which the stack does not define")]
    MissingReference { from: String, to: String },
    #[error("two resources share the address {0}")]
    Duplicate(String),
    #[error(transparent)]
    Cycle(#[from] Cycle),
}

impl Graph {
    pub fn add(&mut self, node: Node) -> Result<(), GraphError> {
        if self.nodes.contains_key(&node.address) {
            return Err(GraphError::Duplicate(node.address));
        }
        self.nodes.insert(node.address.clone(), node);
        Ok(())
    }

    /// The dependency DAG, checked: every reference points at a node and there is no cycle.
    pub fn dag(&self) -> Result<Dag, GraphError> {
        let mut dag = Dag::default();
        for (addr, node) in &self.nodes {
            dag.add_vertex(addr.clone());
            for dep in node.depends_on() {
                if !self.nodes.contains_key(&dep) {
                    return Err(GraphError::MissingReference {
                        from: addr.clone(),
                        to: dep,
                    });
                }
                dag.add_edge(addr.clone(), dep);
            }
        }
        dag.topo_order()?;
        Ok(dag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edges_come_from_references() {
        let mut g = Graph::default();
        let vpc = Node::new("aws.vpc", "main", json!({"cidr": "10.0.0.0/16"}));
        let subnet = Node::new("aws.subnet", "a", json!({"vpc_id": vpc.out("id")}));
        g.add(vpc).unwrap();
        g.add(subnet).unwrap();
        let dag = g.dag().unwrap();
        assert_eq!(
            dag.deps("aws.subnet.a").collect::<Vec<_>>(),
            ["aws.vpc.main"]
        );
    }

    #[test]
    fn reference_to_unknown_address_is_an_error() {
        let mut g = Graph::default();
        g.add(Node::new(
            "aws.subnet",
            "a",
            json!({"vpc_id": "${aws.vpc.nope.id}"}),
        ))
        .unwrap();
        let err = g.dag().unwrap_err().to_string();
        assert!(err.contains("aws.vpc.nope"), "{err}");
    }

    #[test]
    fn cycle_names_the_resources() {
        let mut g = Graph::default();
        g.add(Node::new("aws.x", "a", json!({"v": "${aws.x.b.id}"})))
            .unwrap();
        g.add(Node::new("aws.x", "b", json!({"v": "${aws.x.a.id}"})))
            .unwrap();
        let err = g.dag().unwrap_err().to_string();
        assert!(err.contains("aws.x.a -> aws.x.b -> aws.x.a"), "{err}");
    }
}
