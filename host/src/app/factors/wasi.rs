//! The WASI factor: every `wasi:*` 0.2 and 0.3 interface a component may
//! import (Rust's std alone pulls in `wasi:cli/*`), with the component's
//! environment and its stdout and stderr re-emitted as log lines
//! (`app::guest_log`). Sockets, files and stdin are not given: a component
//! reaches the network only through `wasi:http` and its allow-list. Random
//! bytes asked of the host in one call are capped, so a guest cannot make the
//! host allocate what it likes.

use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::guest_log::{GuestLogSettings, GuestOutput};
use crate::app::state::HostState;
use wasmtime::component::Linker;
use wasmtime_wasi::WasiCtx;

/// Random bytes one call may ask of the host (wasmtime's default is 64 MiB).
pub const MAX_RANDOM_BYTES: u64 = 64 * 1024;

pub struct WasiFactor {
    /// Output re-emitted per request and stream.
    pub guest_log_budget: usize,
    /// Lines of lower severity are dropped.
    pub guest_log_min_rank: u8,
}

/// A component's environment and how its output is logged.
pub struct WasiState {
    env: Vec<(String, String)>,
    guest_log: GuestLogSettings,
}

impl WasiState {
    /// Sets (or, with `None`, removes) one environment variable the host
    /// itself gives the component.
    pub fn set_env(&mut self, name: &str, value: Option<&str>) {
        self.env.retain(|(k, _)| k != name);
        if let Some(value) = value {
            self.env.push((name.to_string(), value.to_string()));
        }
    }
}

impl Factor for WasiFactor {
    type ComponentState = WasiState;
    type InstanceState = WasiCtx;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        wasmtime_wasi::p2::add_to_linker_async(linker)?;
        wasmtime_wasi::p3::add_to_linker(linker)?;
        Ok(())
    }

    fn configure(&self, ctx: &Configure<'_>, _previous: Option<&WasiState>) -> anyhow::Result<WasiState> {
        Ok(WasiState {
            env: ctx.spec.environment.clone(),
            guest_log: GuestLogSettings {
                component: ctx.id.clone(),
                budget: self.guest_log_budget,
                min_rank: self.guest_log_min_rank,
            },
        })
    }

    fn prepare(&self, state: &WasiState, ctx: &Prepare<'_>) -> WasiCtx {
        let fields = crate::app::guest_log::request_fields(ctx.request_id, ctx.trace, ctx.sha256);
        let mut wasi = WasiCtx::builder();
        wasi.envs(&state.env)
            .stdout(GuestOutput::new("stdout", fields.clone(), &state.guest_log))
            .stderr(GuestOutput::new("stderr", fields, &state.guest_log))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .max_random_size(MAX_RANDOM_BYTES);
        wasi.build()
    }
}
