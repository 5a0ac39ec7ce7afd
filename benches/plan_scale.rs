//! Benchmark (not a test): the CPU a plan of a synthetic 1,000-resource stack costs, from
//! refresh (through an in-memory provider, so no API time counts) through diffing to the
//! rendered text and the `--json` document, against issue 15's goal of under 1 s.
//! Run: `cargo bench --bench plan_scale` (release). Prints each case's CPU time and its
//! ratio to the goal.

#![allow(clippy::print_stdout)] // a benchmark prints its figures

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nix::sys::resource::{UsageWho, getrusage};
use serde_json::{Value, json};
use wxinfra::engine::{Silent, refresh};
use wxinfra::graph::{Graph, Node};
use wxinfra::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Registry, Resource, UpdateRequest,
};
use wxinfra::state::{ResourceState, State, Status};

const LAYERS: usize = 10;
const WIDTH: usize = 100;
const GOAL: Duration = Duration::from_secs(1);

/// One resource kind kept in memory: a read returns what was applied, except for addresses
/// `drifted` names, whose `size` reads back changed.
struct Memory {
    drifted: BTreeSet<String>,
}

fn outputs(id: &str) -> Outputs {
    let mut o = Outputs::new();
    o.insert("id".into(), json!(id));
    o.insert("arn".into(), json!(format!("arn:mem:::{id}")));
    o
}

#[async_trait]
impl Resource for Memory {
    fn kind(&self) -> &'static str {
        "mem.thing"
    }

    fn forces_replacement(&self, field: &str) -> bool {
        field == "parent"
    }

    async fn read(&self, id: &str, applied: &Value) -> Result<Option<Live>, ProviderError> {
        let mut props = applied.clone();
        if self.drifted.contains(id) {
            props["size"] = json!(-1);
        }
        Ok(Some(Live {
            props,
            outputs: outputs(id),
        }))
    }

    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        Ok(Created {
            id: req.address.to_string(),
            outputs: outputs(req.address),
        })
    }

    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        Ok(outputs(req.id))
    }

    async fn delete(&self, _id: &str, _applied: &Value) -> Result<(), ProviderError> {
        Ok(())
    }
}

fn address(layer: usize, i: usize) -> String {
    format!("mem.thing.l{layer}-{i}")
}

/// Properties of a resource whose parents are `parents` (references or resolved ids), shaped
/// like a real kind's: strings, numbers, a list and a tag map.
fn props(layer: usize, i: usize, parents: [Value; 2]) -> Value {
    let [parent, peer] = parents;
    json!({
        "name": format!("bench-l{layer}-{i}"),
        "size": i,
        "parent": parent,
        "peers": [peer, format!("static-{i}")],
        "settings": {"interval": 15, "timeout": 5, "path": "/.well-known/spin/health"},
        "tags": {"wxinfra:stack": "bench", "wxinfra:address": address(layer, i), "team": "platform", "env": "bench", "owner": "wxinfra"},
    })
}

/// Ten layers of a hundred, each resource referring to two of the layer below.
fn graph() -> Graph {
    let mut g = Graph::default();
    for layer in 0..LAYERS {
        for i in 0..WIDTH {
            let parents = if layer == 0 {
                [json!("root"), json!("root")]
            } else {
                [
                    json!(format!("${{{}.id}}", address(layer - 1, i))),
                    json!(format!("${{{}.arn}}", address(layer - 1, (i + 1) % WIDTH))),
                ]
            };
            g.add(Node::new(
                "mem.thing",
                &format!("l{layer}-{i}"),
                props(layer, i, parents),
            ))
            .expect("unique");
        }
    }
    g
}

/// The state an apply of [`graph`] leaves.
fn applied_state() -> State {
    let mut s = State::new("bench");
    for layer in 0..LAYERS {
        for i in 0..WIDTH {
            let a = address(layer, i);
            let (parents, depends_on) = if layer == 0 {
                ([json!("root"), json!("root")], BTreeSet::new())
            } else {
                let (p, q) = (address(layer - 1, i), address(layer - 1, (i + 1) % WIDTH));
                (
                    [json!(p.clone()), json!(format!("arn:mem:::{q}"))],
                    BTreeSet::from([p, q]),
                )
            };
            s.resources.insert(
                a.clone(),
                ResourceState {
                    kind: "mem.thing".into(),
                    status: Status::Created,
                    id: Some(a.clone()),
                    props: props(layer, i, parents),
                    outputs: outputs(&a),
                    depends_on,
                    token: None,
                    ignore_changes: Default::default(),
                },
            );
        }
    }
    s
}

fn cpu() -> Duration {
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let t = |tv: nix::sys::time::TimeVal| {
        Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64)
    };
    t(u.user_time()) + t(u.system_time())
}

/// Refresh, plan, render and serialise once; returns the CPU it took and what the plan does.
fn plan_once(
    rt: &tokio::runtime::Runtime,
    desired: &Graph,
    state: &State,
    drifted: &[String],
) -> (Duration, String) {
    let provider = Arc::new(Registry::default().with(Memory {
        drifted: drifted.iter().cloned().collect(),
    }));
    let start = cpu();
    let live = rt
        .block_on(refresh(state, provider.clone(), Arc::new(Silent), 10))
        .expect("refresh");
    let plan = wxinfra::plan::build::build(desired, state, &live, provider.as_ref()).expect("plan");
    let text = wxinfra::plan::render::render(&plan, false);
    let json = serde_json::to_string(&plan).expect("json");
    let took = cpu() - start;
    let summary = text.lines().last().unwrap_or_default().to_string();
    std::hint::black_box(json);
    (took, summary)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let desired = graph();
    let state = applied_state();
    let n = desired.nodes.len();
    let tenth: Vec<String> = (0..WIDTH)
        .step_by(10)
        .map(|i| address(LAYERS / 2, i))
        .collect();
    let cases: [(&str, State, Vec<String>); 3] = [
        ("no change", state.clone(), Vec::new()),
        ("10 drifted (updates)", state.clone(), tenth),
        ("all new (creates)", State::new("bench"), Vec::new()),
    ];
    println!(
        "plan of {n} resources ({LAYERS} layers of {WIDTH}, 2 references each), in-memory provider; goal < {} ms CPU",
        GOAL.as_millis()
    );
    for (name, state, drifted) in cases {
        // The first run warms allocations; the median of five is reported.
        let mut runs: Vec<(Duration, String)> = (0..6)
            .map(|_| plan_once(&rt, &desired, &state, &drifted))
            .skip(1)
            .collect();
        runs.sort_by_key(|r| r.0);
        let (took, summary) = &runs[runs.len() / 2];
        println!(
            "  {name:<22} {:>7.1} ms CPU   ratio to goal {:.3}   {summary}",
            took.as_secs_f64() * 1000.0,
            took.as_secs_f64() / GOAL.as_secs_f64()
        );
    }
}
