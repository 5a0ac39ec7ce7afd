//! Events the engine emits instead of printing; the CLI turns them into bars or lines.

use std::time::Duration;

use crate::plan::Action;
use crate::provider::Tally;

#[derive(Debug, Clone)]
pub enum Event {
    /// A provider call for one resource starts (`Delete` for the delete half of a replace).
    Started { address: String, action: Action },
    Finished {
        address: String,
        action: Action,
        id: Option<String>,
        elapsed: Duration,
        /// Its API requests and pauses, for `-v` and the apply benchmark.
        tally: Tally,
    },
    Failed {
        address: String,
        action: Action,
        error: String,
    },
    Retrying {
        address: String,
        attempt: u32,
        delay: Duration,
        error: String,
    },
    /// Not run: a dependency failed or the run was interrupted.
    Skipped { address: String, action: Action },
    /// How far a long provider call is (an instance refresh's share done).
    Progress { address: String, message: String },
    /// A resource the state lost, found by its tags and deleted by `destroy`.
    Swept { kind: String, id: String },
}

pub trait Hooks: Send + Sync {
    fn event(&self, e: Event);
}

/// Drops every event (library callers and tests that do not care).
pub struct Silent;

impl Hooks for Silent {
    fn event(&self, _: Event) {}
}
