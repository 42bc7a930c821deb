//! The WASI factor: every `wasi:*` 0.2 and 0.3 interface a component may
//! import (Rust's std alone pulls in `wasi:cli/*`), with the component's
//! environment and its stdout and stderr re-emitted as log lines
//! (`app::guest_log`). Its `files` are preopened read-only at `/`
//! (`factors::files`); its sockets are what `factors::sockets` grants, and
//! stdin is not given. Random
//! bytes asked of the host in one call are capped, so a guest cannot make the
//! host allocate what it likes.

use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::guest_log::{GuestLogSettings, GuestOutput};
use crate::app::state::HostState;
use wasmtime::component::Linker;
use wasmtime_wasi::{FsPerms, WasiCtx};

/// Random bytes one call may ask of the host (wasmtime's default is 64 MiB).
pub const MAX_RANDOM_BYTES: u64 = 64 * 1024;

pub struct WasiFactor {
    /// Output re-emitted per request and stream.
    pub guest_log_budget: usize,
    /// Lines of lower severity are dropped.
    pub guest_log_min_rank: u8,
}

/// A component's environment, its files, and how its output is logged.
pub struct WasiState {
    env: Vec<(String, String)>,
    /// The copy of its `files` (`factors::files`), preopened read-only at `/`.
    mount: Option<std::path::PathBuf>,
    /// What `factors::sockets` grants it.
    sockets: Option<std::sync::Arc<crate::app::factors::sockets::SocketGrant>>,
    guest_log: GuestLogSettings,
}

impl WasiState {
    /// The directory preopened read-only at the guest's `/`.
    pub fn set_mount(&mut self, mount: Option<std::path::PathBuf>) {
        self.mount = mount;
    }

    /// The sockets its instances may use.
    pub fn set_sockets(&mut self, grant: Option<std::sync::Arc<crate::app::factors::sockets::SocketGrant>>) {
        self.sockets = grant;
    }

    /// Sets (or, with `None`, removes) one environment variable the host
    /// itself gives the component.
    pub fn set_env(&mut self, name: &str, value: Option<&str>) {
        self.env.retain(|(k, _)| k != name);
        if let Some(value) = value {
            self.env.push((name.to_string(), value.to_string()));
        }
    }
}

/// One instance's WASI context, and its two output streams, kept so a
/// reused instance's output can be handed to its next request.
pub struct WasiInstance {
    pub ctx: WasiCtx,
    outputs: [GuestOutput; 2],
}

impl WasiInstance {
    /// Its stdout and stderr.
    pub fn outputs(&self) -> &[GuestOutput; 2] {
        &self.outputs
    }
}

impl WasiFactor {
    /// [`Factor::prepare`], writing to `outputs` when given (a reused
    /// instance's, whose handles the guest may hold): they are handed to
    /// this request first.
    pub fn prepare_with(
        &self,
        state: &WasiState,
        ctx: &Prepare<'_>,
        outputs: Option<[GuestOutput; 2]>,
    ) -> WasiInstance {
        let fields = crate::app::guest_log::request_fields(ctx.request_id, ctx.trace, ctx.sha256);
        let outputs = match outputs {
            Some(outputs) => {
                outputs.iter().for_each(|output| output.retarget(fields.clone()));
                outputs
            }
            None => [
                GuestOutput::new("stdout", fields.clone(), &state.guest_log),
                GuestOutput::new("stderr", fields, &state.guest_log),
            ],
        };
        let mut wasi = WasiCtx::builder();
        wasi.envs(&state.env)
            .stdout(outputs[0].clone())
            .stderr(outputs[1].clone())
            .max_random_size(MAX_RANDOM_BYTES);
        crate::app::factors::sockets::give(&mut wasi, state.sockets.as_ref());
        if let Some(mount) = &state.mount {
            if let Err(e) = wasi.preopened_dir(mount, "/", FsPerms::ReadOnly) {
                tracing::error!(component = %state.guest_log.component, error = %e, "the component's files could not be opened");
            }
        }
        WasiInstance {
            ctx: wasi.build(),
            outputs,
        }
    }
}

impl Factor for WasiFactor {
    type ComponentState = WasiState;
    type InstanceState = WasiInstance;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        wasmtime_wasi::p2::add_to_linker_async(linker)?;
        wasmtime_wasi::p3::add_to_linker(linker)?;
        Ok(())
    }

    fn configure(&self, ctx: &Configure<'_>, _previous: Option<&WasiState>) -> anyhow::Result<WasiState> {
        Ok(WasiState {
            env: ctx.spec.environment.clone(),
            mount: None,
            sockets: None,
            guest_log: GuestLogSettings {
                component: ctx.id.clone(),
                budget: self.guest_log_budget,
                min_rank: self.guest_log_min_rank,
            },
        })
    }

    fn prepare(&self, state: &WasiState, ctx: &Prepare<'_>) -> WasiInstance {
        self.prepare_with(state, ctx, None)
    }
}
