//! Calling a component's HTTP handler, for either WASI version: 0.2's
//! `wasi:http/incoming-handler` (a response outparam the guest sets) and
//! 0.3's `wasi:http/handler` (an async export that returns the response while
//! the guest may still be writing its body). Which one a component is comes
//! from its exports, when it is loaded.

use crate::app::state::HostState;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::convert::Infallible;
use std::time::{Duration, Instant};
use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::WasiHttpView;

/// What the component answered: a response, or the `wasi:http` error code
/// it gave instead (formatted: the two versions have their own types).
pub type Answer = Result<http::Response<HyperOutgoingBody>, String>;

/// A linked component, ready to instantiate, by the handler it exports.
#[derive(Clone)]
pub enum Handler {
    P2(ProxyPre<HostState>),
    P3(ServicePre<HostState>),
}

impl Handler {
    /// The handler `pre` exports: 0.3 first, as wasmtime serve does.
    pub fn of(pre: InstancePre<HostState>) -> anyhow::Result<Handler> {
        if let Ok(p3) = ServicePre::new(pre.clone()) {
            return Ok(Handler::P3(p3));
        }
        ProxyPre::new(pre).map(Handler::P2).map_err(|e| {
            anyhow::Error::from(e)
                .context("the component exports neither wasi:http/incoming-handler@0.2.x nor wasi:http/handler@0.3.x")
        })
    }

    pub fn engine(&self) -> &Engine {
        match self {
            Handler::P2(pre) => pre.engine(),
            Handler::P3(pre) => pre.engine(),
        }
    }

    /// The `wasi` label of `wasm_component_info`.
    pub fn wasi_version(&self) -> &'static str {
        match self {
            Handler::P2(_) => "0.2",
            Handler::P3(_) => "0.3",
        }
    }

    /// Instantiates the component in `store`, and nothing more: what a
    /// reload checks of a new version before it serves.
    pub async fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<()> {
        match self {
            Handler::P2(pre) => pre.instantiate_async(store).await.map(drop),
            Handler::P3(pre) => pre.instantiate_async(store).await.map(drop),
        }
    }

    /// Hands `request` to `instance`, or, without one, to a new instance of
    /// the component in `store` (`instantiated` then receives the time
    /// instantiation took). The answer goes to `respond` as soon as there is
    /// one; the future ends when the guest is done, for 0.3 only once the
    /// response body has been sent or dropped (until then the store drives
    /// the guest's body writes), and gives back the instance, which a caller
    /// that reuses instances may call again in the same store
    /// (`app::reuse`). The caller owns the store, and drops it when it has
    /// decided how the run ended.
    pub async fn run(
        &self,
        store: &mut Store<HostState>,
        instance: Option<Instance>,
        request: http::Request<Full<Bytes>>,
        respond: tokio::sync::oneshot::Sender<Answer>,
        instantiated: impl FnOnce(Duration),
    ) -> wasmtime::Result<Instance> {
        let request =
            request.map(|body| body.map_err(|never: Infallible| -> wasmtime_wasi_http::Error { match never {} }));
        let instantiating = Instant::now();
        match self {
            Handler::P2(pre) => {
                let incoming = store.data_mut().http().new_incoming_request(Scheme::Http, request)?;
                let outparam = store
                    .data_mut()
                    .http()
                    .new_response_outparam_from_callback(move |answer| {
                        let _ = respond.send(answer.map_err(|code| format!("{code:?}")));
                    })?;
                let proxy = match instance {
                    Some(Instance::P2(proxy)) => proxy,
                    _ => {
                        let proxy = pre.instantiate_async(&mut *store).await?;
                        instantiated(instantiating.elapsed());
                        proxy
                    }
                };
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut *store, incoming, outparam)
                    .await?;
                Ok(Instance::P2(proxy))
            }
            Handler::P3(pre) => {
                let (request, request_io) =
                    wasmtime_wasi_http::p3::Request::from_http(store.data_mut().http().hooks, request);
                let service = match instance {
                    Some(Instance::P3(service)) => service,
                    _ => {
                        let service = pre.instantiate_async(&mut *store).await?;
                        instantiated(instantiating.elapsed());
                        service
                    }
                };
                let called = &service;
                store
                    .run_concurrent(async move |accessor| -> wasmtime::Result<()> {
                        let response = match called.handle(accessor, request).await? {
                            Ok(response) => response,
                            Err(code) => {
                                let _ = respond.send(Err(format!("{code:?}")));
                                return Ok(());
                            }
                        };
                        let response = accessor.with(|mut access| response.into_http(&mut access, request_io))?;
                        // The body holds `sent` until hyper drops it (sent
                        // whole, or the client went away).
                        let (sent, body_gone) = tokio::sync::oneshot::channel::<()>();
                        let response = response.map(|body| {
                            body.map_frame(move |frame| {
                                let _ = &sent;
                                frame
                            })
                            .boxed_unsync()
                        });
                        if respond.send(Ok(response)).is_ok() {
                            let _ = body_gone.await;
                        }
                        Ok(())
                    })
                    .await??;
                Ok(Instance::P3(service))
            }
        }
    }
}

/// An instance of a component, in the store it was made in.
pub enum Instance {
    P2(wasmtime_wasi_http::p2::bindings::Proxy),
    P3(wasmtime_wasi_http::p3::bindings::Service),
}
