//! Engine and plan tests against an in-memory provider: ordering, checkpoints, resume after
//! a crash, replacement cascades and failure handling — the rules no emulator checks for us.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{ApplyError, Engine, Silent};
use crate::graph::{Graph, Node};
use crate::plan::{Action, Plan, build::build};
use crate::provider::{
    CreateRequest, Created, Live, Outputs, ProviderError, Registry, Resource, UpdateRequest,
};
use crate::state::{MemoryStore, State, StateStore, Status};

/// A cloud in a map. `fail_create` makes creates of that address fail once; `lose_create`
/// makes one be carried out with its answer lost (a 5xx to the caller).
#[derive(Default)]
struct Cloud {
    objects: Mutex<BTreeMap<String, (String, Value)>>, // id -> (address, props)
    log: Mutex<Vec<String>>,
    fail_create: Mutex<Option<String>>,
    fail_update: Mutex<Option<String>>,
    lose_create: Mutex<Option<String>>,
    next: Mutex<u32>,
    /// id -> how many times it was updated in place.
    updates: Mutex<BTreeMap<String, u32>>,
}

impl Cloud {
    /// A `version` output that each in-place update of a versioned field moves on, as a
    /// launch template's does.
    fn outputs(&self, id: &str) -> Outputs {
        let n = self.updates.lock().unwrap().get(id).copied().unwrap_or(0);
        let mut o = Outputs::new();
        o.insert("version".into(), json!((n + 1).to_string()));
        o
    }
}

/// Whether a one-shot fault is set for `address` (and disarms it).
fn armed(slot: &Mutex<Option<String>>, address: &str) -> bool {
    slot.lock().unwrap().take_if(|a| a == address).is_some()
}

struct Kind {
    name: &'static str,
    cloud: Arc<Cloud>,
}

#[async_trait]
impl Resource for Kind {
    fn kind(&self) -> &'static str {
        self.name
    }
    fn forces_replacement(&self, field: &str) -> bool {
        field == "cidr" || field == "parent"
    }
    fn updates_output(&self, output: &str, changed: &[String]) -> bool {
        // Tags are not versioned (a function's publish, a template's version).
        self.name == "t.net" && output == "version" && changed.iter().any(|f| f != "tags")
    }
    fn create_before_destroy(&self, _changed: &[String]) -> bool {
        self.name == "t.cbd"
    }
    async fn read(&self, id: &str, _: &Value) -> Result<Option<Live>, ProviderError> {
        Ok(self
            .cloud
            .objects
            .lock()
            .unwrap()
            .get(id)
            .map(|(_, p)| Live {
                props: p.clone(),
                outputs: self.cloud.outputs(id),
            }))
    }
    async fn create(&self, req: &CreateRequest<'_>) -> Result<Created, ProviderError> {
        if armed(&self.cloud.fail_create, req.address) {
            return Err(ProviderError::Api("injected failure".into()));
        }
        let id = {
            let mut n = self.cloud.next.lock().unwrap();
            *n += 1;
            format!("id-{n}")
        };
        self.cloud
            .objects
            .lock()
            .unwrap()
            .insert(id.clone(), (req.address.to_string(), req.props.clone()));
        self.cloud
            .log
            .lock()
            .unwrap()
            .push(format!("create {}", req.address));
        if armed(&self.cloud.lose_create, req.address) {
            return Err(ProviderError::Transient("answer lost".into()));
        }
        Ok(Created {
            outputs: self.cloud.outputs(&id),
            id,
        })
    }
    async fn update(&self, req: &UpdateRequest<'_>) -> Result<Outputs, ProviderError> {
        let (id, _, new, changed) = req.parts();
        let mut o = self.cloud.objects.lock().unwrap();
        let entry = o
            .get_mut(id)
            .ok_or(ProviderError::NotFound { what: id.into() })?;
        if armed(&self.cloud.fail_update, &entry.0) {
            return Err(ProviderError::Api("injected failure".into()));
        }
        self.cloud
            .log
            .lock()
            .unwrap()
            .push(format!("update {}", entry.0));
        // In place, as a real kind does: only what the plan changes.
        for f in changed {
            entry.1[f.as_str()] = new[f.as_str()].clone();
        }
        drop(o);
        if self.updates_output("version", changed) {
            *self
                .cloud
                .updates
                .lock()
                .unwrap()
                .entry(id.into())
                .or_default() += 1;
        }
        Ok(self.cloud.outputs(id))
    }
    async fn delete(&self, id: &str, _: &Value) -> Result<(), ProviderError> {
        if let Some((addr, _)) = self.cloud.objects.lock().unwrap().remove(id) {
            self.cloud
                .log
                .lock()
                .unwrap()
                .push(format!("delete {addr}"));
        }
        Ok(())
    }
    async fn find_orphan(
        &self,
        _: &str,
        address: &str,
        _: &str,
    ) -> Result<Option<Created>, ProviderError> {
        Ok(self
            .cloud
            .objects
            .lock()
            .unwrap()
            .iter()
            .find(|(_, (a, _))| a == address)
            .map(|(id, _)| Created {
                id: id.clone(),
                outputs: Outputs::new(),
            }))
    }
}

struct Harness {
    cloud: Arc<Cloud>,
    provider: Arc<Registry>,
    store: Arc<MemoryStore>,
}

impl Harness {
    fn new() -> Self {
        let cloud = Arc::new(Cloud::default());
        let provider = Arc::new(
            Registry::default()
                .with(Kind {
                    name: "t.net",
                    cloud: cloud.clone(),
                })
                .with(Kind {
                    name: "t.sub",
                    cloud: cloud.clone(),
                })
                .with(Kind {
                    name: "t.cbd",
                    cloud: cloud.clone(),
                }),
        );
        Self {
            cloud,
            provider,
            store: Arc::new(MemoryStore::default()),
        }
    }

    fn state(&self) -> State {
        self.store
            .read()
            .unwrap()
            .unwrap_or_else(|| State::new("s"))
    }

    async fn plan(&self, g: &Graph) -> Plan {
        self.plan_for(g, &self.state()).await
    }

    async fn plan_for(&self, g: &Graph, state: &State) -> Plan {
        let live = crate::engine::refresh(state, self.provider.clone(), Arc::new(Silent), 4)
            .await
            .unwrap();
        build(g, state, &live, self.provider.as_ref()).unwrap()
    }

    async fn apply(&self, g: &Graph) -> Result<Plan, ApplyError> {
        let state = self.state();
        let plan = self.plan_for(g, &state).await;
        let engine = Engine {
            provider: self.provider.clone(),
            store: self.store.clone(),
            hooks: Arc::new(Silent),
            parallelism: 4,
            retry: Default::default(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        engine.apply(&plan, state).await.map(|_| plan)
    }

    fn log(&self) -> Vec<String> {
        std::mem::take(&mut *self.cloud.log.lock().unwrap())
    }
}

fn graph(cidr: &str, subnets: &[&str]) -> Graph {
    let mut g = Graph::default();
    let net = Node::new("t.net", "main", json!({"cidr": cidr}));
    for s in subnets {
        g.add(Node::new(
            "t.sub",
            s,
            json!({"parent": net.out("id"), "name": s}),
        ))
        .unwrap();
    }
    g.add(net).unwrap();
    g
}

fn actions(p: &Plan) -> Vec<(String, Action)> {
    p.resources
        .iter()
        .map(|r| (r.address.clone(), r.action))
        .collect()
}

#[tokio::test]
async fn creates_follow_dependencies_and_replan_is_empty() {
    let h = Harness::new();
    h.apply(&graph("10.0.0.0/16", &["a", "b"])).await.unwrap();
    assert_eq!(h.log()[0], "create t.net.main");
    let state = h.state();
    assert!(
        state
            .resources
            .values()
            .all(|r| r.status == Status::Created && r.id.is_some())
    );
    assert_eq!(
        state.resources["t.sub.a"].props["parent"],
        json!(state.resources["t.net.main"].id.clone().unwrap())
    );
    // Checkpoint after every operation: 2 writes per create.
    assert_eq!(*h.store.writes.lock().unwrap(), 6);
    assert!(
        !h.plan(&graph("10.0.0.0/16", &["a", "b"]))
            .await
            .has_changes()
    );
}

#[tokio::test]
async fn in_place_change_is_an_update() {
    let h = Harness::new();
    h.apply(&graph("10.0.0.0/16", &["a"])).await.unwrap();
    h.log();
    let mut g = graph("10.0.0.0/16", &["a"]);
    g.nodes.get_mut("t.sub.a").unwrap().props["name"] = json!("renamed");
    let plan = h.apply(&g).await.unwrap();
    assert!(actions(&plan).contains(&("t.sub.a".into(), Action::Update)));
    assert_eq!(h.log(), ["update t.sub.a"]);
}

/// A field something else owns once created (a scaled service's count): changed in the
/// cloud it is neither planned back nor drift, though the rest of the resource still is;
/// with the field no longer ignored, the stack's value is put back.
#[tokio::test]
async fn ignored_fields_are_left_to_their_owner_until_the_node_takes_them_back() {
    let h = Harness::new();
    let with = |name: &str, ignoring: bool| {
        let mut g = graph("10.0.0.0/16", &["a"]);
        let n = g.nodes.get_mut("t.sub.a").unwrap();
        n.props["name"] = json!(name);
        n.props["count"] = json!(1);
        if ignoring {
            n.ignore_changes.insert("count".into());
        }
        g
    };
    h.apply(&with("a", false)).await.unwrap();
    // The node starts ignoring `count` with no change to the resource: the state follows.
    assert!(!h.plan(&with("a", true)).await.has_changes());
    h.apply(&with("a", true)).await.unwrap();
    assert!(
        h.state().resources["t.sub.a"]
            .ignore_changes
            .contains("count")
    );
    h.log();
    // Its owner moves it.
    let id = h.state().resources["t.sub.a"].id.clone().unwrap();
    h.cloud.objects.lock().unwrap().get_mut(&id).unwrap().1["count"] = json!(5);
    let state = h.state();
    let live = crate::engine::refresh(&state, h.provider.clone(), Arc::new(Silent), 4)
        .await
        .unwrap();
    assert!(crate::plan::drift::drift(&state, &live).is_empty());
    assert!(!h.plan(&with("a", true)).await.has_changes());
    // A change to another field updates without the ignored one.
    let fields = |plan: &Plan| -> (Action, Vec<String>) {
        let change = plan.get("t.sub.a").unwrap();
        let fields = change.changes.iter().map(|c| c.field.clone()).collect();
        (change.action, fields)
    };
    let plan = h.apply(&with("renamed", true)).await.unwrap();
    assert_eq!(fields(&plan), (Action::Update, vec!["name".to_string()]));
    // Taken back: the stack's value is planned again.
    let plan = h.plan(&with("renamed", false)).await;
    assert_eq!(fields(&plan), (Action::Update, vec!["count".to_string()]));
}

#[tokio::test]
async fn replacement_cascades_to_dependents_and_deletes_them_first() {
    let h = Harness::new();
    h.apply(&graph("10.0.0.0/16", &["a"])).await.unwrap();
    h.log();
    let plan = h.apply(&graph("10.1.0.0/16", &["a"])).await.unwrap();
    let net = plan.get("t.net.main").unwrap();
    assert_eq!(net.action, Action::Replace);
    assert!(
        net.changes
            .iter()
            .any(|c| c.field == "cidr" && c.forces_replacement)
    );
    let sub = plan.get("t.sub.a").unwrap();
    assert_eq!(
        sub.action,
        Action::Replace,
        "parent id is unknown until the new net exists"
    );
    assert!(sub.changes.iter().any(|c| c.after_unknown));
    assert_eq!(
        h.log(),
        [
            "delete t.sub.a",
            "delete t.net.main",
            "create t.net.main",
            "create t.sub.a"
        ]
    );
}

#[tokio::test]
async fn removed_resources_are_deleted_dependents_first() {
    let h = Harness::new();
    h.apply(&graph("10.0.0.0/16", &["a", "b"])).await.unwrap();
    h.log();
    let plan = h.apply(&Graph::default()).await.unwrap();
    assert_eq!(plan.summary.destroy, 3);
    let log = h.log();
    assert_eq!(log.last().unwrap(), "delete t.net.main", "{log:?}");
    assert!(h.state().resources.is_empty());
    assert!(h.cloud.objects.lock().unwrap().is_empty());
}

/// Create before destroy: a removed resource goes only once what the stack now wants is
/// there (bare instances after the Auto Scaling group that replaces them).
#[tokio::test]
async fn removed_resources_go_after_the_creates_they_do_not_block() {
    let h = Harness::new();
    h.apply(&graph("10.0.0.0/16", &["a", "b"])).await.unwrap();
    h.log();
    h.apply(&graph("10.0.0.0/16", &["a", "c"])).await.unwrap();
    assert_eq!(h.log(), ["create t.sub.c", "delete t.sub.b"]);
    // Replacing the parent still deletes its dependents first, the removed one included.
    h.apply(&graph("10.1.0.0/16", &["d"])).await.unwrap();
    let log = h.log();
    let at = |e: &str| {
        log.iter()
            .position(|l| l == e)
            .unwrap_or_else(|| panic!("{e}: {log:?}"))
    };
    assert!(at("delete t.sub.a") < at("delete t.net.main"), "{log:?}");
    assert!(at("delete t.sub.c") < at("delete t.net.main"), "{log:?}");
    assert!(at("create t.net.main") < at("create t.sub.d"), "{log:?}");
    assert_eq!(h.state().resources.len(), 2);
}

/// Create before destroy: a kind that allows two at once gets its new object first; what
/// used the old one moves over, and only then does the old one go. A run that stops in
/// between leaves the old object deposed in the state, and the next apply deletes it.
#[tokio::test]
async fn create_before_destroy_moves_dependents_first_and_a_stopped_run_leaves_it_deposed() {
    let h = Harness::new();
    let g = |cidr: &str| {
        let mut g = Graph::default();
        let td = Node::new("t.cbd", "td", json!({"cidr": cidr}));
        g.add(Node::new("t.sub", "svc", json!({"name": td.out("id")})))
            .unwrap();
        g.add(td).unwrap();
        g
    };
    h.apply(&g("1")).await.unwrap();
    let first = h.state().resources["t.cbd.td"].id.clone().unwrap();
    h.log();
    let plan = h.apply(&g("2")).await.unwrap();
    let td = plan.get("t.cbd.td").unwrap();
    assert_eq!(
        (td.action, td.create_before_destroy),
        (Action::Replace, true)
    );
    assert_eq!(plan.get("t.sub.svc").unwrap().action, Action::Update);
    assert_eq!(
        h.log(),
        ["create t.cbd.td", "update t.sub.svc", "delete t.cbd.td"]
    );
    let state = h.state();
    assert!(state.deposed.is_empty());
    assert!(!h.cloud.objects.lock().unwrap().contains_key(&first));
    assert_eq!(
        state.resources["t.sub.svc"].props["name"],
        json!(state.resources["t.cbd.td"].id)
    );

    // The move fails: the new object exists and the old one stays, deposed.
    *h.cloud.fail_update.lock().unwrap() = Some("t.sub.svc".into());
    assert!(h.apply(&g("3")).await.is_err());
    let deposed = h.state().deposed["t.cbd.td"].clone();
    assert_eq!(deposed.len(), 1);
    assert!(h.cloud.objects.lock().unwrap().contains_key(&deposed[0].id));
    h.log();
    let plan = h.apply(&g("3")).await.unwrap();
    assert_eq!(
        plan.get("t.cbd.td").unwrap().deposed,
        [deposed[0].id.clone()]
    );
    assert_eq!(plan.summary.destroy, 1);
    assert_eq!(h.log(), ["update t.sub.svc", "delete t.cbd.td"]);
    assert!(h.state().deposed.is_empty());
    assert!(!h.plan(&g("3")).await.has_changes());
}

/// A dependency replaced delete first takes its dependents' old objects with it (they are
/// deleted before it), so a dependent that could be made first is replaced delete first too.
#[tokio::test]
async fn a_dependency_replaced_delete_first_makes_its_dependent_delete_first() {
    let h = Harness::new();
    let g = |cidr: &str| {
        let mut g = Graph::default();
        let net = Node::new("t.net", "main", json!({"cidr": cidr}));
        g.add(Node::new(
            "t.cbd",
            "td",
            json!({"cidr": cidr, "net": net.out("id")}),
        ))
        .unwrap();
        g.add(net).unwrap();
        g
    };
    h.apply(&g("1")).await.unwrap();
    h.log();
    let plan = h.apply(&g("2")).await.unwrap();
    let td = plan.get("t.cbd.td").unwrap();
    assert_eq!(
        (td.action, td.create_before_destroy),
        (Action::Replace, false)
    );
    assert_eq!(
        h.log(),
        [
            "delete t.cbd.td",
            "delete t.net.main",
            "create t.net.main",
            "create t.cbd.td"
        ]
    );
    assert!(h.state().deposed.is_empty());
    assert!(!h.plan(&g("2")).await.has_changes());
}

/// A create-before-destroy replacement that failed before it made anything is resumed by a
/// create, never by adopting the deposed object that carries the same address.
#[tokio::test]
async fn a_resumed_replacement_never_adopts_the_object_it_deposed() {
    let h = Harness::new();
    let g = |cidr: &str| {
        let mut g = Graph::default();
        g.add(Node::new("t.cbd", "td", json!({"cidr": cidr})))
            .unwrap();
        g
    };
    h.apply(&g("1")).await.unwrap();
    let first = h.state().resources["t.cbd.td"].id.clone().unwrap();
    *h.cloud.fail_create.lock().unwrap() = Some("t.cbd.td".into());
    assert!(h.apply(&g("2")).await.is_err());
    assert_eq!(h.state().deposed["t.cbd.td"][0].id, first);

    h.apply(&g("2")).await.unwrap();
    let current = h.state().resources["t.cbd.td"].id.clone().unwrap();
    assert_ne!(current, first);
    let objects = h.cloud.objects.lock().unwrap().clone();
    assert!(objects.contains_key(&current) && !objects.contains_key(&first));
    assert!(h.state().deposed.is_empty());
}

/// A new launch template version: an update that gives an output a new value changes what
/// refers to it too, known after apply, in the same run.
#[tokio::test]
async fn an_update_that_moves_an_output_carries_its_dependents_along() {
    let h = Harness::new();
    let g = |name: &str| {
        let mut g = Graph::default();
        let net = Node::new(
            "t.net",
            "main",
            json!({"cidr": "10.0.0.0/16", "name": name}),
        );
        let sub = json!({"name": "a", "version": net.out("version")});
        g.add(Node::new("t.sub", "a", sub)).unwrap();
        g.add(net).unwrap();
        g
    };
    h.apply(&g("one")).await.unwrap();
    assert_eq!(h.state().resources["t.sub.a"].props["version"], json!("1"));
    h.log();
    let plan = h.apply(&g("two")).await.unwrap();
    let sub = plan.get("t.sub.a").unwrap();
    assert_eq!(sub.action, Action::Update);
    assert!(
        sub.changes
            .iter()
            .any(|c| c.field == "version" && c.after_unknown)
    );
    assert_eq!(h.log(), ["update t.net.main", "update t.sub.a"]);
    assert_eq!(h.state().resources["t.sub.a"].props["version"], json!("2"));
    assert!(!h.plan(&g("two")).await.has_changes());

    // An update of a field that makes no new version leaves the dependent alone.
    let mut tagged = g("two");
    tagged.nodes.get_mut("t.net.main").unwrap().props["tags"] = json!({"team": "web"});
    let plan = h.apply(&tagged).await.unwrap();
    assert_eq!(plan.get("t.net.main").unwrap().action, Action::Update);
    assert_eq!(plan.get("t.sub.a").unwrap().action, Action::NoOp);
    assert_eq!(h.log(), ["update t.net.main"]);
    assert!(!h.plan(&tagged).await.has_changes());
}

#[tokio::test]
async fn failure_keeps_what_succeeded_and_a_rerun_completes() {
    let h = Harness::new();
    *h.cloud.fail_create.lock().unwrap() = Some("t.sub.b".into());
    let err = h
        .apply(&graph("10.0.0.0/16", &["a", "b"]))
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::Failed { failed: 1, .. }), "{err}");
    let s = h.state();
    assert_eq!(s.resources["t.sub.a"].status, Status::Created);
    assert_eq!(
        s.resources["t.sub.b"].status,
        Status::Creating,
        "the token stays for the resume"
    );
    let plan = h.apply(&graph("10.0.0.0/16", &["a", "b"])).await.unwrap();
    assert_eq!(
        actions(&plan)
            .iter()
            .filter(|(_, a)| *a != Action::NoOp)
            .count(),
        1
    );
    assert_eq!(h.state().resources["t.sub.b"].status, Status::Created);
}

#[tokio::test]
async fn interrupted_create_is_adopted_not_duplicated() {
    let h = Harness::new();
    h.apply(&graph("10.0.0.0/16", &["a"])).await.unwrap();
    // Simulate a crash after the cloud created t.sub.b but before the state recorded it.
    let mut s = h.state();
    let net_id = s.resources["t.net.main"].id.clone().unwrap();
    h.cloud.objects.lock().unwrap().insert(
        "id-99".into(),
        ("t.sub.b".into(), json!({"parent": net_id, "name": "b"})),
    );
    s.resources.insert(
        "t.sub.b".into(),
        crate::state::ResourceState {
            kind: "t.sub".into(),
            status: Status::Creating,
            id: None,
            props: json!({}),
            outputs: Default::default(),
            depends_on: Default::default(),
            token: Some("tok".into()),
            ignore_changes: Default::default(),
        },
    );
    h.store.write(&s).unwrap();
    h.log();
    h.apply(&graph("10.0.0.0/16", &["a", "b"])).await.unwrap();
    assert!(h.log().is_empty(), "nothing created twice");
    assert_eq!(h.state().resources["t.sub.b"].id.as_deref(), Some("id-99"));
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_adopted_not_made_twice() {
    let h = Harness::new();
    *h.cloud.lose_create.lock().unwrap() = Some("t.sub.a".into());
    h.apply(&graph("10.0.0.0/16", &["a"])).await.unwrap();
    let log = h.log();
    assert_eq!(
        log.iter().filter(|l| *l == "create t.sub.a").count(),
        1,
        "{log:?}"
    );
    let made: Vec<String> = h
        .cloud
        .objects
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, (a, _))| a == "t.sub.a")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(made.len(), 1);
    assert_eq!(h.state().resources["t.sub.a"].id.as_ref(), Some(&made[0]));
}

#[tokio::test]
async fn adopted_resource_caught_mid_create_is_finished_by_an_update() {
    let h = Harness::new();
    h.apply(&graph("10.0.0.0/16", &["a"])).await.unwrap();
    // The crash came after the create call but before the settings that follow it: the
    // orphan exists with only part of its properties.
    let mut s = h.state();
    let net_id = s.resources["t.net.main"].id.clone().unwrap();
    h.cloud.objects.lock().unwrap().insert(
        "id-99".into(),
        ("t.sub.b".into(), json!({"parent": net_id})),
    );
    s.resources.insert(
        "t.sub.b".into(),
        crate::state::ResourceState {
            kind: "t.sub".into(),
            status: Status::Creating,
            id: None,
            props: json!({}),
            outputs: Default::default(),
            depends_on: Default::default(),
            token: Some("tok".into()),
            ignore_changes: Default::default(),
        },
    );
    h.store.write(&s).unwrap();
    h.log();
    let g = graph("10.0.0.0/16", &["a", "b"]);
    h.apply(&g).await.unwrap();
    assert_eq!(
        h.log(),
        ["update t.sub.b"],
        "adopted, then completed in place"
    );
    assert!(!h.plan(&g).await.has_changes(), "converged in one run");
}

#[tokio::test]
async fn stale_plan_is_refused() {
    let h = Harness::new();
    let plan = h.plan(&graph("10.0.0.0/16", &[])).await;
    h.apply(&graph("10.0.0.0/16", &["a"])).await.unwrap();
    let engine = Engine {
        provider: h.provider.clone(),
        store: h.store.clone(),
        hooks: Arc::new(Silent),
        parallelism: 1,
        retry: Default::default(),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let err = engine.apply(&plan, h.state()).await.unwrap_err();
    assert!(matches!(err, ApplyError::StalePlan { .. }), "{err}");
}

#[tokio::test]
async fn resource_deleted_behind_our_back_is_recreated() {
    let h = Harness::new();
    h.apply(&graph("10.0.0.0/16", &["a"])).await.unwrap();
    let id = h.state().resources["t.sub.a"].id.clone().unwrap();
    h.cloud.objects.lock().unwrap().remove(&id);
    let plan = h.plan(&graph("10.0.0.0/16", &["a"])).await;
    let sub = plan.get("t.sub.a").unwrap();
    assert_eq!(sub.action, Action::Create);
    assert!(sub.reason.as_deref().unwrap().contains("deleted outside"));
}
