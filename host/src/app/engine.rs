//! The wasmtime engine and the served component: a pooling allocator sized for
//! the concurrency limit, epoch interruption so a guest that spins still yields
//! to timeouts, a compile cache keyed by the component's hash and the engine's
//! settings, and ahead-of-time compiled `.cwasm` files, so a restart (or a
//! container start) does not pay Cranelift again.

use crate::app::compile_cache;
use anyhow::Context as _;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, Instant};
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Precompiled};

/// How often the epoch advances: the granularity at which guests yield.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Which CPU the engine compiles for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeTarget {
    /// Every feature this CPU has: for code compiled and run in one process.
    Native,
    /// On x86_64, the x86-64-v2 level (SSE4.2, POPCNT), which every cloud
    /// machine type has: for `.cwasm` files built on one machine (CI) and run
    /// on others (cluster nodes). wasmtime refuses a `.cwasm` that needs a
    /// feature the running CPU lacks; this keeps that from happening.
    Portable,
    /// On x86_64, the x86-64-v3 level (v2 and AVX, AVX2, BMI1, BMI2, FMA,
    /// LZCNT): Haswell (2013) and Zen 1 on; the faster tier of a tiered
    /// `.cwasm` (`code_tiers`), loaded where the CPU has those features.
    X86_64V3,
}

impl CodeTarget {
    /// The level's name, as `compile --levels` takes it and logs show it.
    pub fn name(self) -> &'static str {
        match self {
            CodeTarget::Native => "native",
            CodeTarget::Portable => "x86-64-v2",
            CodeTarget::X86_64V3 => "x86-64-v3",
        }
    }

    /// The Cranelift flags of the level beyond x86-64's baseline.
    fn x86_64_flags(self) -> &'static [&'static str] {
        const V2: &[&str] = &["has_sse3", "has_ssse3", "has_sse41", "has_sse42", "has_popcnt"];
        const V3: &[&str] = &[
            "has_sse3",
            "has_ssse3",
            "has_sse41",
            "has_sse42",
            "has_popcnt",
            "has_avx",
            "has_avx2",
            "has_bmi1",
            "has_bmi2",
            "has_fma",
            "has_lzcnt",
        ];
        match self {
            CodeTarget::Native => &[],
            CodeTarget::Portable => V2,
            CodeTarget::X86_64V3 => V3,
        }
    }
}

impl std::str::FromStr for CodeTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [CodeTarget::Portable, CodeTarget::X86_64V3]
            .into_iter()
            .find(|t| t.name() == text)
            .ok_or_else(|| format!("{text:?} is not a level this host compiles for (x86-64-v2, x86-64-v3)"))
    }
}

/// Run-time settings of the engine that do not change the compiled code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tuning {
    /// A freed pool slot keeps up to this many bytes of its linear memory and
    /// tables mapped, zeroed with `memset`, instead of handing all of it back
    /// with `madvise` (wasmtime's default, 0).
    pub keep_resident: u64,
    /// Write `/tmp/perf-PID.map`, so `perf report` names guest functions.
    pub perfmap: bool,
}

/// The engine for `concurrency` instances of at most `instance_memory_bytes`
/// each (see `ops::memory` for how the two come from the memory budget).
pub fn new_engine(
    concurrency: u32,
    instance_memory_bytes: u64,
    tuning: Tuning,
    target: CodeTarget,
) -> anyhow::Result<Engine> {
    // A slot per concurrent request, plus headroom for instances being torn
    // down. Slots only reserve address space; what a slot holds in memory is
    // bounded per store by `state::InstanceMemory`, and stores by the permits.
    let slots = crate::ops::memory::pool_slots(concurrency);
    let max_memory_bytes = usize::try_from(instance_memory_bytes).unwrap_or(usize::MAX);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots * 8)
        .total_memories(slots * 2)
        .total_tables(slots * 4)
        .total_stacks(slots)
        .max_memory_size(max_memory_bytes)
        .linear_memory_keep_resident(usize::try_from(tuning.keep_resident).unwrap_or(usize::MAX))
        .table_keep_resident(usize::try_from(tuning.keep_resident).unwrap_or(usize::MAX));
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // WASI 0.3 components (`wasi:http/handler@0.3`) are async in the
        // component model itself: futures, streams and async exports.
        .wasm_component_model_async(true)
        // Components built for wasm32-wasip2 use 32-bit memories. A 64-bit one
        // could ask the resource limiter for sizes near `usize::MAX`; refusing
        // the feature keeps such a component from loading at all.
        .wasm_memory64(false)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if tuning.perfmap {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if target != CodeTarget::Native && cfg!(target_arch = "x86_64") {
        // Naming the target turns off detection of this CPU's features; then
        // enable exactly the level's set.
        config.target("x86_64-unknown-linux-gnu")?;
        for flag in target.x86_64_flags() {
            // SAFETY: these are x86_64 CPU-feature flags; wasmtime checks at load
            // time that the running CPU has each of them.
            unsafe {
                config.cranelift_flag_enable(flag);
            }
        }
    }
    Ok(Engine::new(&config)?)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] for the life of the process.
pub fn start_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        })
        .expect("spawning a thread");
}

pub struct LoadedComponent {
    pub component: Component,
    pub sha256: String,
    /// The file was a `.cwasm` made by `doc-proxy-host compile`.
    pub precompiled: bool,
    /// The CPU level of the tier loaded, when the file held tiers.
    pub code_level: Option<String>,
    pub from_cache: bool,
    pub load_time: Duration,
}

impl LoadedComponent {
    /// How the code was obtained: `precompiled`, `compile_cache` or `compiled`.
    pub fn loaded_from(&self) -> &'static str {
        match (self.precompiled, self.from_cache) {
            (true, _) => "precompiled",
            (false, true) => "compile_cache",
            (false, false) => "compiled",
        }
    }
}

/// Loads `path`: a precompiled `.cwasm` as it is, or a `.wasm` from the compile
/// cache when it holds this exact component for this exact engine, compiling
/// (and caching) it otherwise.
pub fn load_component(engine: &Engine, path: &Path, cache_dir: Option<&Path>) -> anyhow::Result<LoadedComponent> {
    let started = Instant::now();
    let bytes = std::fs::read(path).with_context(|| format!("reading component {}", path.display()))?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));

    if let Some(tiers) = crate::app::code_tiers::read(&bytes) {
        let tiers = tiers.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut refused = Vec::new();
        for tier in tiers {
            // SAFETY: as for a `.cwasm` below: each tier was written by
            // `doc-proxy-host compile` into the same image; wasmtime checks its
            // version, engine settings and that this CPU has its features.
            match unsafe { Component::deserialize(engine, tier.code) } {
                Ok(component) => {
                    return Ok(LoadedComponent {
                        component,
                        sha256,
                        precompiled: true,
                        code_level: Some(tier.level.to_string()),
                        from_cache: false,
                        load_time: started.elapsed(),
                    })
                }
                Err(e) => refused.push(format!("{}: {e:#}", tier.level)),
            }
        }
        anyhow::bail!(
            "{}: no tier of its precompiled code runs on this host ({}); compile it again with              `doc-proxy-host compile` of this build",
            path.display(),
            refused.join("; ")
        );
    }

    match Engine::detect_precompiled(&bytes) {
        Some(Precompiled::Component) => {
            // SAFETY: a `.cwasm` is native code and is trusted like the host
            // binary itself: it is built by `doc-proxy-host compile` into the
            // same image. wasmtime checks its version and engine settings.
            let component = unsafe { Component::deserialize(engine, &bytes) }
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!(
                        "{} was precompiled by another wasmtime version or with other engine settings; \
                         compile it again with `doc-proxy-host compile` of this build",
                        path.display()
                    )
                })?;
            return Ok(LoadedComponent {
                component,
                sha256,
                precompiled: true,
                code_level: None,
                from_cache: false,
                load_time: started.elapsed(),
            });
        }
        Some(Precompiled::Module) => anyhow::bail!(
            "{} is a precompiled core module, not a component; compile the .wasm with `doc-proxy-host compile`",
            path.display()
        ),
        None => {}
    }
    let entry = cache_dir.and_then(|dir| compile_cache::Entry::new(engine, dir, &sha256));
    if let Some(code) = entry.as_ref().and_then(compile_cache::Entry::read) {
        // SAFETY: the bytes are what this host wrote to a directory only its
        // user can write (`app::compile_cache`), for an engine with the same
        // settings, checked against their recorded digest after reading.
        match unsafe { Component::deserialize(engine, &code) } {
            Ok(component) => {
                return Ok(LoadedComponent {
                    component,
                    sha256,
                    precompiled: false,
                    code_level: None,
                    from_cache: true,
                    load_time: started.elapsed(),
                })
            }
            Err(e) => tracing::warn!(error = %e, "ignoring unusable compile cache entry"),
        }
    }

    let (adapted, how) = crate::app::adapt::adapt(&bytes).with_context(|| format!("loading {}", path.display()))?;
    if how != crate::app::adapt::Adapted::default() {
        tracing::info!(
            component = %path.display(),
            componentized = how.componentized,
            renamed_wasi_0_3_release_candidate = how.renamed_rc,
            "component adapted before compiling"
        );
    }
    let serialized = engine
        .precompile_component(&adapted)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling component {}", path.display()))?;
    if let Some(entry) = &entry {
        if let Err(e) = entry.write(&serialized) {
            tracing::warn!(file = %entry.path().display(), error = %e, "compile cache not written; starts will compile");
        }
    }
    // SAFETY: `serialized` was produced just now by this engine.
    let component = unsafe { Component::deserialize(engine, &serialized)? };
    Ok(LoadedComponent {
        component,
        sha256,
        precompiled: false,
        code_level: None,
        from_cache: false,
        load_time: started.elapsed(),
    })
}

/// Compiles `input` with each of `engines` (a level's name and its engine,
/// best first) and writes the result to `output` (atomically): one engine's
/// code as a plain `.cwasm`, several as a tiered file (`code_tiers`).
pub fn compile_to_file(engines: &[(&str, Engine)], input: &Path, output: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(input).with_context(|| format!("reading component {}", input.display()))?;
    if Engine::detect_precompiled(&bytes).is_some() || crate::app::code_tiers::read(&bytes).is_some() {
        anyhow::bail!("{} is already precompiled", input.display());
    }
    let (bytes, _) = crate::app::adapt::adapt(&bytes).with_context(|| format!("loading {}", input.display()))?;
    let mut compiled = Vec::new();
    for (level, engine) in engines {
        let serialized = engine
            .precompile_component(&bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("compiling component {} for {level}", input.display()))?;
        compiled.push((*level, serialized));
    }
    let written = match compiled.as_slice() {
        [(_, only)] => only.clone(),
        tiers => crate::app::code_tiers::bundle(
            &tiers
                .iter()
                .map(|(level, code)| crate::app::code_tiers::Tier { level, code })
                .collect::<Vec<_>>(),
        ),
    };
    compile_cache::write_atomically(output, &written, 0o644).with_context(|| format!("writing {}", output.display()))
}
