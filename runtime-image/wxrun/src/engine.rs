//! The wasmtime `Engine` (pooling allocator, epoch interruption, component
//! model async for WASI 0.3), per-request limits, the store data `Host`, and
//! the linker with everything wxrun implements. Owns no HTTP serving.

use crate::outbound::OutboundHooks;
use crate::variables::ComponentVariables;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, StoreLimits,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How often the epoch advances; wall-time limits are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-request resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest size of any one linear memory of an instance.
    pub memory_bytes: usize,
    /// Wall time a request may run before it is answered with 504.
    pub timeout: Duration,
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// Instances alive at once (the pooling allocator's size).
    pub max_instances: u32,
    /// Requests one instance serves before it is dropped. 1 (the default,
    /// as Spin) gives every request a fresh instance; more trades that
    /// isolation (globals outlive a request) for throughput.
    pub instance_reuse: u32,
    /// Requests one WASI 0.3 instance serves at once when reused (a WASI
    /// 0.2 instance serves one at a time).
    pub instance_concurrency: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            timeout: Duration::from_secs(30),
            max_body_bytes: 10 << 20,
            max_instances: 200,
            instance_reuse: 1,
            instance_concurrency: 16,
        }
    }
}

impl Limits {
    /// The epoch deadline for `timeout`, in ticks.
    /// One more than the timeout's ticks: the deadline counts from the
    /// store's creation, which falls anywhere between two ticks, and the
    /// trap must not come before the timeout has passed.
    pub fn epoch_ticks(&self) -> u64 {
        (self.timeout.as_millis() / EPOCH_TICK.as_millis()) as u64 + 1
    }
}

/// Bytes of each linear memory, and of each table, that a freed pool slot keeps resident
/// (where the kernel can say which pages were written). A slot's resident pages stay
/// counted in RSS while it waits for reuse, so these bound what one idle slot holds.
const KEEP_RESIDENT_MEMORY: usize = 16 << 20;
const KEEP_RESIDENT_TABLE: usize = 1 << 20;

/// Builds the engine every component of a process is compiled with.
pub fn new_engine(limits: &Limits) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances);
    pool.total_core_instances(limits.max_instances * 16);
    pool.total_memories(limits.max_instances * 8);
    pool.total_tables(limits.max_instances * 8);
    // A fiber stack per instance, as Spin sizes its pool (spin-core's `total_stacks`): a
    // fresh instance runs one call at a time. A reused WASI 0.3 instance serves several
    // requests at once, and a task suspended inside a synchronous call keeps its stack, so
    // reuse keeps four. Each stack's guard page is an mprotect when the engine is made: at
    // four per instance, the 800 calls were about 2 ms of a 10 ms cold start.
    let stacks_per_instance = if limits.instance_reuse > 1 { 4 } else { 1 };
    pool.total_stacks(limits.max_instances * stacks_per_instance);
    pool.max_memory_size(limits.memory_bytes);
    pool.max_core_instances_per_component(64);
    pool.max_memories_per_component(32);
    pool.max_tables_per_component(32);
    pool.table_elements(100_000);
    pool.max_core_instance_size(4 << 20);
    pool.max_component_instance_size(4 << 20);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        // Without this, every request's instance ends with madvise(DONTNEED) of its memory
        // and tables, and its next use takes a page fault per page: the TLB shootdowns
        // (IPIs to every core) were a quarter of the CPU profile under load. The
        // PAGEMAP_SCAN ioctl (Linux 6.7+) finds the pages an instance dirtied, which are
        // restored in place and stay resident; only memory beyond these sizes is
        // decommitted. Without the ioctl the reset would memset the whole prefix, so older
        // kernels keep wasmtime's defaults.
        pool.pagemap_scan(Enabled::Yes);
        pool.linear_memory_keep_resident(KEEP_RESIDENT_MEMORY);
        pool.table_keep_resident(KEEP_RESIDENT_TABLE);
    }
    // Only allocator settings depend on `limits`: compiled code (and so the
    // AOT cache fingerprint) is the same whatever the limits are.
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// Advances `engine`'s epoch every [`EPOCH_TICK`] from a dedicated thread
/// for the life of the process. Not a tokio task: a guest spinning on a
/// runtime worker must not be able to delay its own interruption.
pub fn spawn_epoch_ticker(engine: Engine) {
    std::thread::Builder::new()
        .name("wxrun-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("cannot start the epoch thread");
}

/// The data of one request's store.
pub struct Host {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    pub hooks: OutboundHooks,
    pub variables: Arc<ComponentVariables>,
    pub hosts: crate::hosts::HostState,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// A linker with the WASI generations (0.2, 0.3, each with `wasi:http`) that
/// `imports` use; Spin's interfaces are added per component (`hosts`,
/// `variables`). Each generation is some hundreds of functions, and defining
/// both took about half a millisecond of every cached start.
pub fn linker(engine: &Engine, imports: &[&str]) -> wasmtime::Result<Linker<Host>> {
    let mut linker = Linker::new(engine);
    if imports_wasi(imports, "0.2") {
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    }
    if imports_wasi(imports, "0.3") {
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    }
    Ok(linker)
}

/// Whether any of `imports` is a `wasi:` interface of the `series` (`0.2`)
/// versions, pre-releases included.
fn imports_wasi(imports: &[&str], series: &str) -> bool {
    imports.iter().any(|name| {
        name.strip_prefix("wasi:")
            .and_then(|n| n.split_once('@'))
            .and_then(|(_, version)| version.strip_prefix(series))
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::imports_wasi;

    #[test]
    fn a_component_gets_the_wasi_generations_it_imports() {
        let p2 = ["wasi:http/types@0.2.6", "fermyon:spin/variables@2.0.0"];
        assert!(imports_wasi(&p2, "0.2") && !imports_wasi(&p2, "0.3"));
        let p3 = [
            "wasi:http/handler@0.3.0-rc-2025-09-16",
            "wasi:cli/stdout@0.3.0",
        ];
        assert!(imports_wasi(&p3, "0.3") && !imports_wasi(&p3, "0.2"));
        assert!(imports_wasi(&["wasi:keyvalue/store@0.2.0-draft2"], "0.2"));
        assert!(!imports_wasi(&["wasi:io/streams@0.20.0"], "0.2"));
        assert!(!imports_wasi(&["spin:postgres/postgres@0.2.0"], "0.2"));
        assert!(!imports_wasi(&["wasi:io/streams"], "0.2"));
    }
}
