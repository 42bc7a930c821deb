//! Runs this program's own wasm32-wasip2 build on the host's engine
//! (`doc_proxy_host::app::engine::new_engine`: the pooling allocator, epoch
//! checks and code target the service runs with), so a guest median is what a
//! validation costs inside the service, without HTTP around it.

use crate::measure::Cost;
use anyhow::Context as _;
use doc_proxy_host::app::engine::{new_engine, CodeTarget, Tuning};
use std::path::Path;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

/// Where the guest sees the real upstream's files.
const GUEST_SHARED: &str = "/upstream";

struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The compiled guest, run as many times as asked.
pub struct Guest {
    engine: Engine,
    component: Component,
    linker: Linker<State>,
}

impl Guest {
    /// `target`: this CPU's features, as the release host compiles a `.wasm`,
    /// or a level the image's `.cwasm` tiers are compiled for.
    pub fn load(wasm: &Path, perfmap: bool, target: CodeTarget) -> anyhow::Result<Guest> {
        let engine = new_engine(
            1,
            256 << 20,
            Tuning {
                keep_resident: 0,
                perfmap,
            },
            target,
        )?;
        let component = Component::from_file(&engine, wasm)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("compiling {}", wasm.display()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        Ok(Guest {
            engine,
            component,
            linker,
        })
    }

    /// One run of the guest over every document, `iterations` validations each.
    pub async fn measure(&self, iterations: u32, shared: &Path) -> anyhow::Result<Vec<Cost>> {
        let stdout = MemoryOutputPipe::new(1 << 20);
        let mut wasi = WasiCtx::builder();
        wasi.stdout(stdout.clone())
            .inherit_stderr()
            .args(&["validate-cost", "--tsv", &iterations.to_string()]);
        if shared.is_dir() {
            wasi.preopened_dir(shared, GUEST_SHARED, FsPerms::ReadOnly)?
                .env("DOC_PROXY_SHARED_UPSTREAM", GUEST_SHARED);
        } else {
            wasi.env("DOC_PROXY_SHARED_UPSTREAM", "/nowhere");
        }
        let mut store = Store::new(
            &self.engine,
            State {
                wasi: wasi.build(),
                table: ResourceTable::new(),
            },
        );
        // The engine compiles epoch checks in, as the service's does; no
        // ticker runs here, so they never fire.
        store.set_epoch_deadline(u64::MAX);
        let command = Command::instantiate_async(&mut store, &self.component, &self.linker).await?;
        command
            .wasi_cli_run()
            .call_run(&mut store)
            .await?
            .map_err(|()| anyhow::anyhow!("the guest's run failed"))?;
        let out = String::from_utf8(stdout.contents().to_vec())?;
        let costs: Vec<Cost> = out.lines().filter_map(Cost::from_tsv).collect();
        anyhow::ensure!(!costs.is_empty(), "the guest printed no cost lines: {out:?}");
        Ok(costs)
    }
}
