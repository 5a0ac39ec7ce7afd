//! A directed acyclic graph that knows nothing about clouds: cycle detection that names the
//! cycle, a topological order, and a bounded parallel walk that calls back per vertex.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinSet;

/// A cycle, as the list of vertices that form it (first == last).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle: {}", .0.join(" -> "))]
pub struct Cycle(pub Vec<String>);

/// Vertices and "depends on" edges. `deps[v]` must all finish before `v` starts.
#[derive(Debug, Clone, Default)]
pub struct Dag {
    deps: BTreeMap<String, BTreeSet<String>>,
}

impl Dag {
    pub fn add_vertex(&mut self, v: impl Into<String>) {
        self.deps.entry(v.into()).or_default();
    }

    /// `from` depends on `to`: `to` runs first. Both vertices are added if missing.
    pub fn add_edge(&mut self, from: impl Into<String>, to: impl Into<String>) {
        let to = to.into();
        self.add_vertex(to.clone());
        self.deps.entry(from.into()).or_default().insert(to);
    }

    pub fn contains(&self, v: &str) -> bool {
        self.deps.contains_key(v)
    }

    pub fn deps(&self, v: &str) -> impl Iterator<Item = &String> {
        self.deps.get(v).into_iter().flatten()
    }

    /// Whether `from` depends on `to`, directly or through others.
    pub fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(v) = todo.pop() {
            for d in self.deps(v) {
                if d == to {
                    return true;
                }
                if seen.insert(d.as_str()) {
                    todo.push(d);
                }
            }
        }
        false
    }

    pub fn vertices(&self) -> impl Iterator<Item = &String> {
        self.deps.keys()
    }

    pub fn len(&self) -> usize {
        self.deps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deps.is_empty()
    }

    /// Dependencies first; ties broken by name so the order is stable.
    pub fn topo_order(&self) -> Result<Vec<String>, Cycle> {
        let mut state: BTreeMap<&str, Mark> = BTreeMap::new();
        let mut order = Vec::with_capacity(self.deps.len());
        let mut path = Vec::new();
        for v in self.deps.keys() {
            self.visit(v, &mut state, &mut order, &mut path)?;
        }
        Ok(order)
    }

    fn visit<'a>(
        &'a self,
        v: &'a str,
        state: &mut BTreeMap<&'a str, Mark>,
        order: &mut Vec<String>,
        path: &mut Vec<&'a str>,
    ) -> Result<(), Cycle> {
        match state.get(v) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Active) => {
                let start = path.iter().position(|p| *p == v).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(v.to_string());
                return Err(Cycle(cycle));
            }
            None => {}
        }
        state.insert(v, Mark::Active);
        path.push(v);
        for d in self.deps(v) {
            self.visit(d, state, order, path)?;
        }
        path.pop();
        state.insert(v, Mark::Done);
        order.push(v.to_string());
        Ok(())
    }

    /// Longest chain of vertices (counted in vertices) — the graph's critical path length.
    pub fn critical_path_len(&self) -> Result<usize, Cycle> {
        let mut depth: BTreeMap<String, usize> = BTreeMap::new();
        for v in self.topo_order()? {
            let d = 1 + self.deps(&v).map(|d| depth[d]).max().unwrap_or(0);
            depth.insert(v, d);
        }
        Ok(depth.values().copied().max().unwrap_or(0))
    }

    /// Visits every vertex after its dependencies, at most `parallelism` at a time.
    ///
    /// A failed vertex's dependents are skipped (reported as `Skipped`); independent branches
    /// go on. Once `stop` is set no new vertex starts, in-flight ones finish.
    pub async fn walk<F, Fut, E>(
        &self,
        parallelism: usize,
        stop: Arc<AtomicBool>,
        visit: F,
    ) -> Result<BTreeMap<String, Outcome<E>>, Cycle>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Send + 'static,
    {
        self.topo_order()?;
        let mut outcomes: BTreeMap<String, Outcome<E>> = BTreeMap::new();
        let mut pending: BTreeSet<&String> = self.deps.keys().collect();
        let mut running = JoinSet::new();
        let parallelism = parallelism.max(1);
        loop {
            // Settle what can no longer run, then start what is ready.
            let mut progressed = true;
            while progressed {
                progressed = false;
                let ready: Vec<&String> = pending
                    .iter()
                    .copied()
                    .filter(|v| self.deps(v).all(|d| outcomes.contains_key(d)))
                    .collect();
                for v in ready {
                    let blocked = self.deps(v).any(|d| !matches!(outcomes[d], Outcome::Done));
                    if blocked || stop.load(Ordering::SeqCst) {
                        pending.remove(v);
                        outcomes.insert(v.clone(), Outcome::Skipped);
                        progressed = true;
                    } else if running.len() < parallelism {
                        pending.remove(v);
                        let name = v.clone();
                        let fut = visit(name.clone());
                        running.spawn(async move { (name, fut.await) });
                    }
                }
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (name, result) = joined.expect("walk task panicked");
            outcomes.insert(
                name,
                match result {
                    Ok(()) => Outcome::Done,
                    Err(e) => Outcome::Failed(e),
                },
            );
        }
        Ok(outcomes)
    }
}

#[derive(Clone, Copy)]
enum Mark {
    Active,
    Done,
}

/// What became of one vertex in a walk.
#[derive(Debug)]
pub enum Outcome<E> {
    Done,
    Failed(E),
    /// Not run: a dependency failed or the walk was stopped.
    Skipped,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn chain() -> Dag {
        let mut g = Dag::default();
        g.add_edge("subnet", "vpc");
        g.add_edge("sg", "vpc");
        g.add_edge("instance", "subnet");
        g.add_edge("instance", "sg");
        g
    }

    #[test]
    fn topo_order_puts_dependencies_first() {
        let order = chain().topo_order().unwrap();
        let pos = |v: &str| order.iter().position(|o| o == v).unwrap();
        assert!(
            pos("vpc") < pos("subnet")
                && pos("subnet") < pos("instance")
                && pos("sg") < pos("instance")
        );
        assert_eq!(chain().critical_path_len().unwrap(), 3);
    }

    #[test]
    fn cycle_is_named() {
        let mut g = chain();
        g.add_edge("vpc", "instance");
        let err = g.topo_order().unwrap_err();
        assert_eq!(err.0.first(), err.0.last());
        assert!(
            err.to_string().contains("vpc -> ") && err.to_string().contains("instance"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn walk_respects_order_and_skips_dependents_of_failures() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let out = chain()
            .walk(4, Arc::new(AtomicBool::new(false)), move |v| {
                let l = l.clone();
                async move {
                    l.lock().unwrap().push(v.clone());
                    if v == "sg" { Err("boom") } else { Ok(()) }
                }
            })
            .await
            .unwrap();
        assert!(matches!(out["vpc"], Outcome::Done));
        assert!(matches!(out["subnet"], Outcome::Done));
        assert!(matches!(out["sg"], Outcome::Failed("boom")));
        assert!(matches!(out["instance"], Outcome::Skipped));
        assert_eq!(log.lock().unwrap()[0], "vpc");
    }

    #[tokio::test]
    async fn walk_bounds_parallelism() {
        let mut g = Dag::default();
        for i in 0..12 {
            g.add_vertex(format!("v{i}"));
        }
        let live = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (l, p) = (live.clone(), peak.clone());
        g.walk(3, Arc::new(AtomicBool::new(false)), move |_| {
            let (l, p) = (l.clone(), p.clone());
            async move {
                let now = l.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                l.fetch_sub(1, Ordering::SeqCst);
                Ok::<(), ()>(())
            }
        })
        .await
        .unwrap();
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stopped_walk_starts_nothing_new() {
        let stop = Arc::new(AtomicBool::new(true));
        let out = chain()
            .walk(2, stop, |_| async { Ok::<(), ()>(()) })
            .await
            .unwrap();
        assert!(out.values().all(|o| matches!(o, Outcome::Skipped)));
    }
}
