//! Executes a plan: builds the apply graph from the plan (never from the stack again), walks
//! it with bounded parallelism and checkpoints state after every resource operation.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::hooks::{Event, Hooks};
use super::retry::{RetryPolicy, with_retry};
use crate::graph::reference::resolve;
use crate::graph::{Dag, Node, Outcome};
use crate::plan::{Action, Plan, ResourceChange};
use crate::provider::{CreateRequest, Created, Provider, ProviderError, UpdateRequest};
use crate::state::{Deposed, ResourceState, State, StateStore, Status};

/// Looks for a create's own resource after an ambiguous failure: at once, then 1 s and 2 s
/// later.
const OWN_LOOKS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "the plan was made for state serial {plan} (lineage {lineage}) but the state is now at {state}; run plan again"
    )]
    StalePlan {
        plan: u64,
        state: u64,
        lineage: String,
    },
    #[error(
        "{failed} resource operation(s) failed; the state records everything that succeeded, so running apply again continues from there"
    )]
    Failed {
        failed: usize,
        errors: Vec<(String, String)>,
    },
    #[error(
        "interrupted: in-flight operations finished and the state was saved; {skipped} operation(s) did not run"
    )]
    Interrupted { skipped: usize },
    #[error(transparent)]
    Graph(#[from] crate::graph::Cycle),
    #[error(transparent)]
    Store(#[from] crate::state::store::StoreError),
}

/// What one apply did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub done: BTreeMap<String, Action>,
}

pub struct Engine {
    pub provider: Arc<dyn Provider>,
    pub store: Arc<dyn StateStore>,
    pub hooks: Arc<dyn Hooks>,
    pub parallelism: usize,
    pub retry: RetryPolicy,
    /// Set (e.g. by Ctrl-C) to stop starting new operations.
    pub stop: Arc<AtomicBool>,
}

/// One step of the apply graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Apply,
    Delete,
}

fn vertex(step: Step, address: &str) -> String {
    match step {
        Step::Apply => format!("apply:{address}"),
        Step::Delete => format!("delete:{address}"),
    }
}

/// The apply graph: an `apply:` vertex per create/update/replace, a `delete:` vertex per
/// delete/replace. Creates follow their dependencies; a delete waits for the deletes (or
/// updates away) of everything that depended on the resource, and a removed resource's
/// delete for the creates and updates it does not block.
pub fn apply_graph(plan: &Plan, state: &State) -> Result<Dag, crate::graph::Cycle> {
    let mut dag = Dag::default();
    let by_addr: BTreeMap<&str, &ResourceChange> = plan
        .resources
        .iter()
        .map(|r| (r.address.as_str(), r))
        .collect();
    let applies = |a: &str| {
        by_addr
            .get(a)
            .is_some_and(|r| matches!(r.action, Action::Create | Action::Update | Action::Replace))
    };
    let deletes = |a: &str| by_addr.get(a).is_some_and(|r| r.deletes());
    let deletes_current = |a: &str| by_addr.get(a).is_some_and(|r| r.deletes_current());
    // What depended on `a` when last applied.
    let dependents = |a: &str| -> Vec<&str> {
        state
            .resources
            .iter()
            .filter(|(_, xs)| xs.depends_on.contains(a))
            .map(|(x, _)| x.as_str())
            .collect()
    };
    for r in &plan.resources {
        let a = r.address.as_str();
        if applies(a) {
            dag.add_vertex(vertex(Step::Apply, a));
            for d in r.depends_on.iter().filter(|d| applies(d)) {
                dag.add_edge(vertex(Step::Apply, a), vertex(Step::Apply, d));
            }
        }
        if !deletes(a) {
            continue;
        }
        dag.add_vertex(vertex(Step::Delete, a));
        if !deletes_current(a) {
            continue;
        }
        if applies(a) {
            dag.add_edge(vertex(Step::Apply, a), vertex(Step::Delete, a));
        }
        for x in dependents(a) {
            if deletes_current(x) {
                dag.add_edge(vertex(Step::Delete, a), vertex(Step::Delete, x));
            } else if applies(x) && !by_addr[x].depends_on.iter().any(|d| d == a) {
                // x stops using a: update x first, then delete a.
                dag.add_edge(vertex(Step::Delete, a), vertex(Step::Apply, x));
            }
        }
    }
    // Old objects go once their successors exist and what used them has moved over: edges
    // that only order, added where they close no cycle.
    for r in plan.resources.iter().filter(|r| deletes(&r.address)) {
        let a = r.address.as_str();
        let delete = vertex(Step::Delete, a);
        if !deletes_current(a) && applies(a) {
            soft_edge(&mut dag, &delete, &vertex(Step::Apply, a));
        }
        for x in dependents(a) {
            if applies(x) && !deletes_current(a) {
                soft_edge(&mut dag, &delete, &vertex(Step::Apply, x));
            }
            if deletes(x) && !(deletes_current(a) && deletes_current(x)) {
                soft_edge(&mut dag, &delete, &vertex(Step::Delete, x));
            }
        }
    }
    create_before_destroy(&mut dag, plan);
    dag.topo_order()?;
    Ok(dag)
}

/// `from` after `to`, unless `to` already waits for `from`.
fn soft_edge(dag: &mut Dag, from: &str, to: &str) {
    if from != to && !dag.reaches(to, from) {
        dag.add_edge(from, to);
    }
}

/// What the stack no longer wants is deleted after every create and update that does not
/// have to wait for that delete, so a successor (an Auto Scaling group for bare instances)
/// serves before what it replaces goes. An edge is added only where it closes no cycle.
fn create_before_destroy(dag: &mut Dag, plan: &Plan) {
    let applies: Vec<String> = dag
        .vertices()
        .filter(|v| v.starts_with("apply:"))
        .cloned()
        .collect();
    for r in plan.resources.iter().filter(|r| r.action == Action::Delete) {
        let delete = vertex(Step::Delete, &r.address);
        for a in &applies {
            soft_edge(dag, &delete, a);
        }
    }
}

/// The idempotency token for creating `address` under this plan: stable across a crash and
/// re-run of the same plan, different for a later create of the same address.
pub fn idempotency_token(stack: &str, address: &str, serial: u64) -> String {
    let digest = Sha256::digest(format!("{stack}/{address}/{serial}"));
    hex::encode(&digest[..16])
}

struct Shared {
    state: Mutex<State>,
    store: Arc<dyn StateStore>,
}

impl Shared {
    /// Mutates the state and writes it out before anyone else can change it.
    fn checkpoint(&self, f: impl FnOnce(&mut State)) -> Result<(), ProviderError> {
        let mut s = self.state.lock().expect("state mutex poisoned");
        f(&mut s);
        s.serial += 1;
        self.store
            .write(&s)
            .map_err(|e| ProviderError::Other(e.into()))
    }

    /// What a node leaves to others can change while the resource itself does not (scaling
    /// switched on for a running service): the state follows the graph, written only when
    /// something moved.
    fn follow_ignore_changes(&self, desired: &crate::graph::Graph) -> Result<(), ApplyError> {
        let mut s = self.state.lock().expect("state mutex poisoned");
        let mut moved = false;
        for (address, r) in &mut s.resources {
            if let Some(n) = desired.nodes.get(address)
                && n.ignore_changes != r.ignore_changes
            {
                r.ignore_changes = n.ignore_changes.clone();
                moved = true;
            }
        }
        if moved {
            s.serial += 1;
            self.store.write(&s)?;
        }
        Ok(())
    }

    fn resolved(&self, props: &Value) -> Option<Value> {
        let s = self.state.lock().expect("state mutex poisoned");
        resolve(props, &|r| s.output(&r.address, &r.output).cloned())
    }

    fn get(&self, address: &str) -> Option<ResourceState> {
        self.state
            .lock()
            .expect("state mutex poisoned")
            .resources
            .get(address)
            .cloned()
    }
}

impl Engine {
    pub async fn apply(&self, plan: &Plan, state: State) -> Result<ApplyReport, ApplyError> {
        if state.lineage != plan.lineage || state.serial != plan.serial {
            return Err(ApplyError::StalePlan {
                plan: plan.serial,
                state: state.serial,
                lineage: plan.lineage.clone(),
            });
        }
        let dag = apply_graph(plan, &state)?;
        let walk = Arc::new(Walk {
            shared: Shared {
                state: Mutex::new(state),
                store: self.store.clone(),
            },
            changes: plan
                .resources
                .iter()
                .map(|r| (r.address.clone(), r.clone()))
                .collect(),
            desired: plan.desired.clone(),
            stack: plan.stack.clone(),
            serial: plan.serial,
            provider: self.provider.clone(),
            hooks: self.hooks.clone(),
            retry: self.retry,
        });
        let outcomes = dag
            .walk(self.parallelism, self.stop.clone(), |v| {
                let walk = walk.clone();
                async move { walk.step(&v).await }
            })
            .await?;
        let report = walk.tally(outcomes)?;
        walk.shared.follow_ignore_changes(&walk.desired)?;
        Ok(report)
    }
}

/// What every step of one apply reads: the plan's changes and desired graph, the state being
/// checkpointed, and the engine's provider, hooks and retry policy.
struct Walk {
    shared: Shared,
    changes: BTreeMap<String, ResourceChange>,
    desired: crate::graph::Graph,
    stack: String,
    serial: u64,
    provider: Arc<dyn Provider>,
    hooks: Arc<dyn Hooks>,
    retry: RetryPolicy,
}

impl Walk {
    /// Runs one apply-graph vertex (`apply:<address>` or `delete:<address>`), reporting its
    /// start, progress and end to the hooks.
    async fn step(&self, vertex: &str) -> Result<(), (String, String)> {
        let (step, address) = match vertex.split_once(':') {
            Some(("delete", a)) => (Step::Delete, a),
            Some((_, a)) => (Step::Apply, a),
            None => unreachable!("apply graph vertices are step:address"),
        };
        let rc = &self.changes[address];
        let shown = if step == Step::Delete {
            Action::Delete
        } else {
            rc.action
        };
        self.hooks.event(Event::Started {
            address: address.to_string(),
            action: shown,
        });
        let started = Instant::now();
        let ctx = StepCtx {
            shared: &self.shared,
            provider: self.provider.as_ref(),
            hooks: self.hooks.as_ref(),
            retry: &self.retry,
            address,
            kind: &rc.kind,
        };
        let report: Arc<dyn Fn(String) + Send + Sync> = {
            let (hooks, address) = (self.hooks.clone(), address.to_string());
            Arc::new(move |message| {
                hooks.event(Event::Progress {
                    address: address.clone(),
                    message,
                })
            })
        };
        let (result, tally) = crate::provider::observed(report, async {
            match step {
                Step::Delete => ctx.delete(&self.stack, rc).await.map(|()| None),
                Step::Apply => {
                    let node = self
                        .desired
                        .nodes
                        .get(address)
                        .expect("apply steps exist only for desired nodes");
                    if rc.action == Action::Update {
                        ctx.update(node, rc).await
                    } else {
                        ctx.create(&self.stack, self.serial, node, rc.create_before_destroy)
                            .await
                    }
                    .map(Some)
                }
            }
        })
        .await;
        match result {
            Ok(id) => {
                self.hooks.event(Event::Finished {
                    address: address.to_string(),
                    action: shown,
                    id,
                    elapsed: started.elapsed(),
                    tally,
                });
                Ok(())
            }
            Err(e) => {
                self.hooks.event(Event::Failed {
                    address: address.to_string(),
                    action: shown,
                    error: format!("{e:#}"),
                });
                Err((address.to_string(), format!("{e:#}")))
            }
        }
    }

    /// The report of a finished walk, or why it is not complete: failed operations first,
    /// then operations an interrupt kept from starting.
    fn tally(
        &self,
        outcomes: BTreeMap<String, Outcome<(String, String)>>,
    ) -> Result<ApplyReport, ApplyError> {
        let mut report = ApplyReport::default();
        let mut errors = Vec::new();
        let mut skipped = 0;
        for (v, o) in outcomes {
            let address = v
                .split_once(':')
                .map(|(_, a)| a.to_string())
                .unwrap_or_default();
            match o {
                Outcome::Done => {
                    report
                        .done
                        .insert(address.clone(), self.changes[&address].action);
                }
                Outcome::Failed(e) => errors.push(e),
                Outcome::Skipped => {
                    skipped += 1;
                    self.hooks.event(Event::Skipped {
                        action: self.changes[&address].action,
                        address,
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(ApplyError::Failed {
                failed: errors.len(),
                errors,
            });
        }
        if skipped > 0 {
            return Err(ApplyError::Interrupted { skipped });
        }
        Ok(report)
    }
}

struct StepCtx<'a> {
    shared: &'a Shared,
    provider: &'a dyn Provider,
    hooks: &'a dyn Hooks,
    retry: &'a RetryPolicy,
    address: &'a str,
    kind: &'a str,
}

impl StepCtx<'_> {
    fn kind(&self) -> Result<&dyn crate::provider::Resource, ProviderError> {
        self.provider
            .resource(self.kind)
            .ok_or_else(|| ProviderError::Api(format!("no provider for kind `{}`", self.kind)))
    }

    fn resolved(&self, props: &Value) -> Result<Value, ProviderError> {
        self.shared.resolved(props).ok_or_else(|| {
            ProviderError::Api(format!(
                "{}: a referenced resource has no such output after its apply",
                self.address
            ))
        })
    }

    /// An adopted resource may have been caught between its create call and the settings that
    /// follow it (a policy, a lifecycle rule): whatever reads back different from the desired
    /// properties is updated now, so the resumed apply converges in one run.
    async fn converge_adopted(
        &self,
        kind: &dyn crate::provider::Resource,
        adopted: Created,
        props: &Value,
    ) -> Result<Created, ProviderError> {
        let live = with_retry(self.retry, self.hooks, self.address, || {
            kind.read(&adopted.id, props)
        })
        .await?;
        let Some(live) = live else {
            return Ok(adopted);
        };
        let changed: Vec<String> = props
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| live.props.get(k.as_str()) != Some(*v))
            // A create-only field cannot differ on what this very token created; if it reads
            // back otherwise, the next plan shows the replacement instead.
            .filter(|(k, _)| !kind.forces_replacement(k))
            .map(|(k, _)| k.clone())
            .collect();
        if changed.is_empty() {
            return Ok(adopted);
        }
        let req = UpdateRequest {
            id: &adopted.id,
            old: &live.props,
            new: props,
            changed: &changed,
        };
        let mut outputs =
            with_retry(self.retry, self.hooks, self.address, || kind.update(&req)).await?;
        for (k, v) in adopted.outputs {
            outputs.entry(k).or_insert(v);
        }
        Ok(Created {
            id: adopted.id,
            outputs,
        })
    }

    /// Finishes what an interrupted or answer-lost create left, on a resource found as this
    /// address's, and brings it to the declared properties.
    async fn finish_adopted(
        &self,
        kind: &dyn crate::provider::Resource,
        found: Created,
        props: &Value,
    ) -> Result<Created, ProviderError> {
        let c = with_retry(self.retry, self.hooks, self.address, || {
            kind.resume_create(found.clone(), props)
        })
        .await?;
        self.converge_adopted(kind, c, props).await
    }

    /// Creates, retrying throttling and server errors. A failed attempt may still have made
    /// the resource (its answer lost on the way back), and "already exists" may be this
    /// address's own earlier attempt: before each retry, and on such a conflict, the kind
    /// looks for what this address made (by token or tag) and adopts it, so a flaky API never
    /// leaves a second one.
    async fn create_or_adopt(
        &self,
        kind: &dyn crate::provider::Resource,
        req: &CreateRequest<'_>,
    ) -> Result<Created, ProviderError> {
        with_retry(self.retry, self.hooks, self.address, || async move {
            let err = match kind.create(req).await {
                Ok(c) => return Ok(c),
                Err(e) => e,
            };
            if !(matches!(err, ProviderError::Exists(_)) || err.is_retryable()) {
                return Err(err);
            }
            match self.find_own(kind, req, &err).await? {
                Some(found) => self.finish_adopted(kind, found, req.props).await,
                // Not found: a retryable error is retried; a conflict with a stranger is final.
                None => Err(err),
            }
        })
        .await
    }

    /// `found`, unless it is an object this address deposed: a replacement made before its
    /// predecessor is deleted shares its address (and tags), and is never that predecessor.
    fn not_deposed(&self, found: Option<Created>) -> Option<Created> {
        let s = self.shared.state.lock().expect("state mutex poisoned");
        let deposed = s.deposed.get(self.address);
        found.filter(|f| !deposed.is_some_and(|d| d.iter().any(|o| o.id == f.id)))
    }

    /// What an earlier create of this address made, if anything. A throttled call was never
    /// carried out, so one look settles it; after a server error or a conflict the resource
    /// may exist while listings do not show it yet (eventual consistency), so look again
    /// over a few seconds before concluding there is none.
    async fn find_own(
        &self,
        kind: &dyn crate::provider::Resource,
        req: &CreateRequest<'_>,
        err: &ProviderError,
    ) -> Result<Option<Created>, ProviderError> {
        let looks = if matches!(err, ProviderError::Throttled(_)) {
            1
        } else {
            OWN_LOOKS
        };
        for look in 0..looks {
            if look > 0 {
                crate::provider::pause(std::time::Duration::from_secs(1 << (look - 1))).await;
            }
            let found = with_retry(self.retry, self.hooks, self.address, || {
                kind.find_orphan(req.stack, req.address, req.token)
            })
            .await?;
            let found = self.not_deposed(found);
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Creates the node's resource; with `depose`, the object the state has now becomes a
    /// deposed one, deleted by this address's delete step once the new one is in use.
    async fn create(
        &self,
        stack: &str,
        serial: u64,
        node: &Node,
        depose: bool,
    ) -> Result<String, ProviderError> {
        let kind = self.kind()?;
        let props = self.resolved(&node.props)?;
        let deps = node.depends_on();
        let prior = self.shared.get(self.address);
        let old = prior
            .as_ref()
            .filter(|p| depose && p.status == Status::Created)
            .and_then(|p| {
                Some(Deposed {
                    id: p.id.clone()?,
                    props: p.props.clone(),
                })
            });
        // Resume: an interrupted create keeps its token so the provider can find what it made.
        let resuming = prior
            .as_ref()
            .filter(|p| p.status == Status::Creating)
            .and_then(|p| p.token.clone());
        let token = resuming
            .clone()
            .unwrap_or_else(|| idempotency_token(stack, self.address, serial));
        self.shared.checkpoint(|s| {
            if let Some(old) = old {
                s.deposed
                    .entry(self.address.to_string())
                    .or_default()
                    .push(old);
            }
            s.resources.insert(
                self.address.to_string(),
                ResourceState {
                    kind: self.kind.to_string(),
                    status: Status::Creating,
                    id: None,
                    props: props.clone(),
                    outputs: Default::default(),
                    depends_on: deps.clone(),
                    token: Some(token.clone()),
                    ignore_changes: node.ignore_changes.clone(),
                },
            );
        })?;
        let adopted = match resuming {
            Some(_) => {
                let found = with_retry(self.retry, self.hooks, self.address, || {
                    kind.find_orphan(stack, self.address, &token)
                })
                .await?;
                self.not_deposed(found)
            }
            None => None,
        };
        let Created { id, mut outputs } = match adopted {
            Some(c) => self.finish_adopted(kind, c, &props).await?,
            None => {
                let req = CreateRequest {
                    address: self.address,
                    stack,
                    props: &props,
                    token: &token,
                };
                self.create_or_adopt(kind, &req).await?
            }
        };
        outputs.insert("id".into(), Value::String(id.clone()));
        self.shared.checkpoint(|s| {
            s.resources.insert(
                self.address.to_string(),
                ResourceState {
                    kind: self.kind.to_string(),
                    status: Status::Created,
                    id: Some(id.clone()),
                    props,
                    outputs,
                    depends_on: deps,
                    token: None,
                    ignore_changes: node.ignore_changes.clone(),
                },
            );
        })?;
        Ok(id)
    }

    async fn update(&self, node: &Node, rc: &ResourceChange) -> Result<String, ProviderError> {
        let kind = self.kind()?;
        let new = self.resolved(&node.props)?;
        let prior = self
            .shared
            .get(self.address)
            .ok_or_else(|| ProviderError::Api(format!("{} is not in the state", self.address)))?;
        let id = prior.id.clone().ok_or_else(|| {
            ProviderError::Api(format!("{} has no id in the state", self.address))
        })?;
        let changed: Vec<String> = rc.changes.iter().map(|c| c.field.clone()).collect();
        let req = UpdateRequest {
            id: &id,
            old: &prior.props,
            new: &new,
            changed: &changed,
        };
        let mut outputs =
            with_retry(self.retry, self.hooks, self.address, || kind.update(&req)).await?;
        outputs.insert("id".into(), Value::String(id.clone()));
        self.shared.checkpoint(|s| {
            let r = s.resources.get_mut(self.address).expect("checked above");
            r.props = new;
            r.outputs = outputs;
            r.depends_on = node.depends_on();
            r.ignore_changes = node.ignore_changes.clone();
        })?;
        Ok(id)
    }

    /// Deletes the old objects of create-before-destroy replacements, then, when the plan
    /// says so, the resource itself.
    async fn delete(&self, stack: &str, rc: &ResourceChange) -> Result<(), ProviderError> {
        self.delete_deposed().await?;
        if rc.deletes_current() {
            self.delete_current(stack).await?;
        }
        Ok(())
    }

    async fn delete_deposed(&self) -> Result<(), ProviderError> {
        let kind = self.kind()?;
        let old = {
            let s = self.shared.state.lock().expect("state mutex poisoned");
            s.deposed.get(self.address).cloned().unwrap_or_default()
        };
        for d in old {
            with_retry(self.retry, self.hooks, self.address, || {
                kind.delete(&d.id, &d.props)
            })
            .await?;
            self.shared.checkpoint(|s| {
                if let Some(list) = s.deposed.get_mut(self.address) {
                    list.retain(|o| o.id != d.id);
                    if list.is_empty() {
                        s.deposed.remove(self.address);
                    }
                }
            })?;
        }
        Ok(())
    }

    async fn delete_current(&self, stack: &str) -> Result<(), ProviderError> {
        let kind = self.kind()?;
        let Some(prior) = self.shared.get(self.address) else {
            return Ok(());
        };
        let id = match (&prior.id, prior.status, &prior.token) {
            (Some(id), _, _) => Some(id.clone()),
            // Never recorded: look for what the interrupted create may have made.
            (None, _, Some(token)) => with_retry(self.retry, self.hooks, self.address, || {
                kind.find_orphan(stack, self.address, token)
            })
            .await?
            .map(|c| c.id),
            (None, _, None) => None,
        };
        if let Some(id) = id {
            self.shared.checkpoint(|s| {
                if let Some(r) = s.resources.get_mut(self.address) {
                    r.status = Status::Deleting;
                    r.id = Some(id.clone());
                }
            })?;
            with_retry(self.retry, self.hooks, self.address, || {
                kind.delete(&id, &prior.props)
            })
            .await?;
        }
        self.shared.checkpoint(|s| {
            s.resources.remove(self.address);
        })
    }
}
