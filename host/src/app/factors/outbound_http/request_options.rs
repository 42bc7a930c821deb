//! `wasi:http/outgoing-handler.handle` (0.2) as wasmtime-wasi-http 48
//! implements it, and what it leaves undone: the guest hands over its
//! `request-options` (an owned resource), and wasmtime's `handle` reads them
//! but never deletes them from the store's table. A fresh instance per
//! request never noticed; an instance that serves many (`app/reuse.rs`) grew
//! one entry per outbound call and was retired as leaked every 15-20 requests.
//! Shadowed here: wasmtime's own `handle`, then the options deleted.

use crate::app::state::HostState;
use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi_http::p2::bindings::http::outgoing_handler::{ErrorCode, Host as OutgoingHandler};
use wasmtime_wasi_http::p2::bindings::http::types::RequestOptions;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, HostOutgoingRequest};
use wasmtime_wasi_http::WasiHttpView;

/// Puts the deleting `handle` over the one `wasmtime_wasi_http` linked.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    linker.allow_shadowing(true);
    let result = linker
        .instance("wasi:http/outgoing-handler@0.2.12")
        .and_then(|mut handler| {
            handler.func_wrap(
            "handle",
            |mut store: StoreContextMut<'_, HostState>,
             (request, options): (Resource<HostOutgoingRequest>, Option<Resource<RequestOptions>>)| {
                let owned = options.as_ref().map(Resource::rep);
                let mut http = store.data_mut().http();
                let sent = OutgoingHandler::handle(&mut http, request, options);
                if let Some(rep) = owned {
                    // Read by `handle` above and never needed again.
                    http.table.delete(Resource::<RequestOptions>::new_own(rep))?;
                }
                let answer: Result<Resource<HostFutureIncomingResponse>, ErrorCode> = match sent {
                    Ok(response) => Ok(response),
                    Err(error) => Err(error.downcast()?),
                };
                Ok((answer,))
            },
        )
        });
    linker.allow_shadowing(false);
    result.map_err(anyhow::Error::from)
}
