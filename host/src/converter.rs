//! The converter component under wasmtime: compiled once (and cached on
//! disk precompiled), pre-instantiated once, and run in a fresh, capped
//! store for every call.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "summary-converter",
    // Batches are lowered straight from the host's bytes, not from a copy.
    ownership: Borrowing { duplicate_if_necessary: true },
});

// The generated `wit/` types stay in this module: everything outside it
// sees the converter as `summary_pipeline::convert` types.
use exports::serratus::summary::converter::{self as wit, Kind, Layout};
use summary_pipeline::convert::{Batch, Convert, Merged, Summary};

/// How much the guest may use per call. Both grow with the input so a large
/// but honest batch passes while a runaway guest is stopped.
#[derive(Clone, Copy, Debug)]
pub struct GuestLimits {
    /// Linear memory allowed regardless of input size.
    pub base_memory: usize,
    /// Extra linear memory allowed per input byte.
    pub memory_per_input_byte: usize,
    /// Run time allowed regardless of input size.
    pub base_time: Duration,
    /// Extra run time allowed per MiB of input.
    pub time_per_mib: Duration,
}

impl Default for GuestLimits {
    fn default() -> Self {
        GuestLimits {
            base_memory: 128 << 20,
            memory_per_input_byte: 16,
            base_time: Duration::from_secs(10),
            time_per_mib: Duration::from_secs(1),
        }
    }
}

const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Guest instances that may run at once: slots of wasmtime's pooling
/// allocator, reused from call to call. A call beyond them waits for one.
const INSTANCE_SLOTS: u32 = 16;

/// Linear memory a slot keeps mapped and zeroes with `memset` between calls
/// instead of handing it back to the kernel: a batch of 1,000 runs touches
/// about 100 MiB, and taking those pages fresh from the kernel on every call
/// (a page fault and a page clear each) cost the component 12-13% of its
/// time on such batches. At most this much stays resident per slot used.
const KEEP_RESIDENT: usize = 128 << 20;

/// State of one guest call: WASI with no capabilities at all (no files,
/// environment, sockets or stdio) and the memory limiter.
struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: PeakLimiter,
}

/// The store's limits, remembering the largest linear memory the guest
/// asked for (what the benchmark reports as the guest's peak memory) and
/// whether it asked for more than allowed.
struct PeakLimiter {
    limits: StoreLimits,
    peak_memory: usize,
    over_limit: bool,
}

/// Why a call gave no answer: `GaveUp` when the guest was over its memory
/// or time, or trapped (only the inputs of that call are affected; the
/// host carries on).
pub use summary_pipeline::convert::ConvertError;

impl ResourceLimiter for PeakLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum);
        match allowed {
            Ok(true) => self.peak_memory = self.peak_memory.max(desired),
            _ => self.over_limit = true,
        }
        allowed
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A loaded converter, shared by all threads; each call gets its own store.
pub struct Converter {
    engine: Engine,
    pre: SummaryConverterPre<GuestState>,
    limits: GuestLimits,
    ticker_stop: Arc<AtomicBool>,
    slots: SlotGate,
}

/// Counts the pool's free instance slots, so that more concurrent calls
/// than slots wait instead of failing to instantiate.
struct SlotGate {
    free: Mutex<u32>,
    freed: Condvar,
}

/// A slot held for one call; handed back when dropped.
struct Slot<'a>(&'a SlotGate);

impl SlotGate {
    fn new(slots: u32) -> Self {
        SlotGate {
            free: Mutex::new(slots),
            freed: Condvar::new(),
        }
    }

    fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

impl Drop for Converter {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Converter {
    /// Loads the component at `path`, reusing a precompiled copy from
    /// `cache_dir` when one matches both the component and this engine.
    pub fn load(path: &Path, cache_dir: Option<&Path>, limits: GuestLimits) -> Result<Self> {
        let engine = engine()?;
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the converter component {}", path.display()))?;
        let component = match cache_dir {
            Some(dir) => load_cached(&engine, &bytes, dir)?,
            None => Component::new(&engine, &bytes)
                .map_err(wasm_error)
                .with_context(|| format!("compiling the converter component {}", path.display()))?,
        };
        let mut linker = Linker::<GuestState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(wasm_error)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(SummaryConverterPre::new)
            .map_err(wasm_error)
            .context("the component does not match wit/summary.wit")?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), ticker_stop.clone());
        Ok(Converter {
            engine,
            pre,
            limits,
            ticker_stop,
            slots: SlotGate::new(INSTANCE_SLOTS),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Converts a batch in a fresh store capped by the guest limits; also
    /// returns the guest's peak linear memory in bytes.
    pub fn convert_measured(
        &self,
        layout: summary_lake::Layout,
        summaries: &[Summary],
    ) -> Result<(Batch, usize), ConvertError> {
        let started = std::time::Instant::now();
        // Named here, natively (SHA-NI where the CPU has it), not in the
        // guest: see `convert` in wit/.
        let batch_name = summary_pipeline::convert::batch_name(summaries);
        let summaries: Vec<wit::Summary> = summaries
            .iter()
            .map(|s| wit::Summary {
                kind: s.kind.into(),
                source: &s.source,
                bytes: &s.bytes,
            })
            .collect();
        let input_bytes: usize = summaries
            .iter()
            .map(|s| s.bytes.len() + s.source.len())
            .sum();
        let called = self.call(input_bytes, |converter, store| {
            converter.call_convert(store, layout.into(), batch_name.as_str(), &summaries)
        });
        summary_pipeline::metrics::conversion(started.elapsed());
        let (result, peak) = called?;
        match result {
            Ok(batch) => Ok((summary_pipeline::batch_from_wit!(batch, wit), peak)),
            Err(message) => Err(ConvertError::Failed(format!(
                "the converter refused the batch: {message}"
            ))),
        }
    }

    /// One guest call in a fresh store whose memory and time grow with the
    /// input; also returns the guest's peak linear memory in bytes.
    fn call<T>(
        &self,
        input_bytes: usize,
        f: impl FnOnce(&Guest, &mut Store<GuestState>) -> wasmtime::Result<T>,
    ) -> Result<(T, usize), ConvertError> {
        let memory = self
            .limits
            .base_memory
            .saturating_add(input_bytes.saturating_mul(self.limits.memory_per_input_byte));
        let time = self.limits.base_time
            + self
                .limits
                .time_per_mib
                .mul_f64(input_bytes as f64 / (1 << 20) as f64);
        let state = GuestState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: PeakLimiter {
                limits: StoreLimitsBuilder::new()
                    .memory_size(memory)
                    .instances(8)
                    .trap_on_grow_failure(true)
                    .build(),
                peak_memory: 0,
                over_limit: false,
            },
        };
        // Declared before the store, so dropped after it: the store's drop
        // is what returns the instance's slot to the pool.
        let _slot = self.slots.take();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // What the guest hands back (a batch's objects) is copied out of its
        // memory, which the limit already bounds; wasmtime's own cap on that
        // copy (128 MiB) would fail a large batch the memory limit allows.
        store.set_hostcall_fuel(memory.saturating_mul(2));
        store.set_epoch_deadline((time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64);
        store.epoch_deadline_trap();
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| ConvertError::Failed(format!("instantiating the converter: {e:#}")))?;
        let result = f(instance.serratus_summary_converter(), &mut store).map_err(|trap| {
            let over_memory = store.data().limits.over_limit;
            let reason = match trap.downcast_ref::<wasmtime::Trap>() {
                Some(wasmtime::Trap::Interrupt) => format!(
                    "too slow: took longer than {time:?}, the limit for {input_bytes} input bytes"
                ),
                _ if over_memory => format!(
                    "too large: needed more than {memory} bytes of guest memory, the limit for {input_bytes} input bytes"
                ),
                _ => format!("the guest trapped: {trap:#}"),
            };
            ConvertError::GaveUp(format!("the converter failed on this batch: {reason}"))
        })?;
        Ok((result, store.data().limits.peak_memory))
    }
}

type Guest = exports::serratus::summary::converter::Guest;

/// The converter as both hosts' pipeline calls it.
impl Convert for Converter {
    /// Converts a batch in a fresh store capped by the guest limits.
    fn convert(
        &self,
        layout: summary_lake::Layout,
        summaries: &[Summary],
    ) -> Result<Batch, ConvertError> {
        self.convert_measured(layout, summaries)
            .map(|(batch, _)| batch)
    }

    /// Merges Parquet objects of one table (see `merge` in `wit/`).
    fn merge(
        &self,
        layout: summary_lake::Layout,
        kind: summary_lake::Kind,
        table: &str,
        parts: &[Vec<u8>],
        drop_runs: &[String],
    ) -> Result<Option<Merged>, ConvertError> {
        let input_bytes = parts.iter().map(Vec::len).sum::<usize>()
            + drop_runs.iter().map(String::len).sum::<usize>();
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let drop_runs: Vec<&str> = drop_runs.iter().map(String::as_str).collect();
        let (result, _) = self.call(input_bytes, |converter, store| {
            converter.call_merge(store, layout.into(), kind.into(), table, &parts, &drop_runs)
        })?;
        let merged = result.map_err(|message| {
            ConvertError::Failed(format!("the converter could not merge {table}: {message}"))
        })?;
        Ok(merged.map(|m| Merged {
            rows: m.rows,
            runs: m.runs,
            bytes: m.bytes,
        }))
    }
}

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool()));
    // `SUMMARY_GUEST_PROFILER=perfmap` writes /tmp/perf-<pid>.map, naming
    // the guest's compiled functions for `perf record`/`perf report` (build
    // the guest unstripped to get its function names).
    if std::env::var("SUMMARY_GUEST_PROFILER").as_deref() == Ok("perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&config).map_err(wasm_error)
}

/// Instance slots reused across calls (instantiating into a warm slot takes
/// no mmap/munmap), each keeping [`KEEP_RESIDENT`] of its memory.
fn pool() -> PoolingAllocationConfig {
    // The component instantiates a few core modules (the guest, and the
    // shims wit-component adds around its imports) with one memory.
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(INSTANCE_SLOTS)
        .total_core_instances(INSTANCE_SLOTS * 8)
        .total_memories(INSTANCE_SLOTS * 2)
        .total_tables(INSTANCE_SLOTS * 8)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(1 << 20);
    pool
}

/// wasmtime 48 has its own error type; keep its whole chain in the message.
fn wasm_error(error: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{error:#}")
}

/// Drives epoch-based deadlines for every store of the engine.
fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("guest-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch ticker thread");
}

/// Precompiled components are keyed by the component's hash and the
/// engine's compatibility hash, so a rebuilt guest or wasmtime never loads
/// a stale artifact.
fn cached_path(engine: &Engine, bytes: &[u8], dir: &Path) -> (String, PathBuf) {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let digest = Sha256::digest(bytes);
    let name = summary_lake::text::hex(&digest[..12]);
    let path = dir.join(format!(
        "converter-{name}-{:016x}.cwasm",
        engine_hash.finish()
    ));
    (name, path)
}

/// Compiles the component at `component` into `dir` ahead of time, where
/// [`Converter::load`] with that cache dir finds it; returns the file.
pub fn precompile_into(component: &Path, dir: &Path) -> Result<PathBuf> {
    let engine = engine()?;
    let bytes = std::fs::read(component)
        .with_context(|| format!("reading the converter component {}", component.display()))?;
    let (name, path) = cached_path(&engine, &bytes, dir);
    let compiled = engine
        .precompile_component(&bytes)
        .map_err(wasm_error)
        .context("compiling the converter component")?;
    store_compiled(dir, &name, &path, &compiled)?;
    Ok(path)
}

fn load_cached(engine: &Engine, bytes: &[u8], dir: &Path) -> Result<Component> {
    let (name, path) = cached_path(engine, bytes, dir);
    if path.exists() {
        // SAFETY: the file was written by `precompile_component` of an engine
        // with the same compatibility hash, into the user's own cache dir.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "ignoring unusable precompiled component")
            }
        }
    }
    let compiled = engine
        .precompile_component(bytes)
        .map_err(wasm_error)
        .context("compiling the converter component")?;
    if let Err(error) = store_compiled(dir, &name, &path, &compiled) {
        // A read-only deployment (a Lambda task root): run uncached.
        tracing::warn!(error = %format!("{error:#}"), "could not cache the precompiled component");
    }
    // SAFETY: compiled just above by this engine.
    unsafe { Component::deserialize(engine, &compiled) }.map_err(wasm_error)
}

fn store_compiled(dir: &Path, name: &str, path: &Path, compiled: &[u8]) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating cache dir {}", dir.display()))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name, std::process::id()));
    std::fs::write(&tmp, compiled).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// The default place for precompiled components: `$XDG_CACHE_HOME` or
/// `~/.cache`, under `summary-uploader`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|base| base.join("summary-uploader"))
}

impl From<summary_lake::Layout> for Layout {
    fn from(layout: summary_lake::Layout) -> Self {
        match layout {
            summary_lake::Layout::ScorePctid => Layout::ScorePctid,
            summary_lake::Layout::RunBucket => Layout::RunBucket,
        }
    }
}

impl From<summary_lake::Kind> for Kind {
    fn from(kind: summary_lake::Kind) -> Self {
        match kind {
            summary_lake::Kind::Nucleotide => Kind::Nucleotide,
            summary_lake::Kind::Protein => Kind::Protein,
            summary_lake::Kind::Rdrp => Kind::Rdrp,
        }
    }
}
