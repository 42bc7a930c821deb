//! What a reload asks of a new version of a component before it serves:
//! that it instantiates (its start code runs and its memory, tables and
//! imports fit the host's limits), and, where the manifest names a probe
//! (`probe = "/path"` in its `[component.X.tool.doc-proxy-host]` table), that
//! it answers a `GET` of that path with a status below 500 in time. A version
//! that does not is refused before any client sees it; one that passes and
//! still fails its first real requests is rolled back (`app::reload`).

use crate::app::factors::{Factors, Prepare};
use crate::app::Component;
use crate::ops::trace::TraceContext;
use crate::outbound::verdict::SeenDigests;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;

/// Instantiates `component` once, and asks its probe if it has one, within
/// `timeout` for the whole of it. `reload_id` names the check in the logs
/// the guest writes.
pub async fn check(component: &Component, factors: &Factors, timeout: Duration, reload_id: u64) -> anyhow::Result<()> {
    match tokio::time::timeout(timeout, check_now(component, factors, reload_id)).await {
        Ok(checked) => checked,
        Err(_) => anyhow::bail!(
            "component {} did not instantiate and answer its probe within {} ms",
            component.id,
            timeout.as_millis()
        ),
    }
}

async fn check_now(component: &Component, factors: &Factors, reload_id: u64) -> anyhow::Result<()> {
    let request_id = format!("reload-{reload_id}-{}", component.id);
    let trace = TraceContext::for_request(&http::HeaderMap::new());
    let seen = SeenDigests::default();
    let prepare = Prepare {
        request_id: &request_id,
        trace: &trace,
        sha256: &component.code.sha256,
        seen: &seen,
        depth: 0,
        service_slots: Default::default(),
    };
    let handler = &component.code.handler;
    let mut store = component.new_store(factors, &prepare);
    handler
        .instantiate(&mut store)
        .await
        .map_err(|e| anyhow::anyhow!("component {} does not instantiate: {e:?}", component.id))?;
    let Some(path) = &component.spec.probe else {
        return Ok(());
    };
    let mut store = component.new_store(factors, &prepare);
    let request = http::Request::get(path.as_str())
        .header(http::header::HOST, "localhost")
        .body(Full::new(Bytes::new()))?;
    let (sender, mut receiver) = tokio::sync::oneshot::channel();
    let trapped = |e: wasmtime::Error| anyhow::anyhow!("component {} trapped on its probe {path}: {e:?}", component.id);
    let unanswered = || anyhow::anyhow!("component {} set no response to its probe {path}", component.id);
    let run = handler.run(&mut store, None, request, sender, |_| {});
    tokio::pin!(run);
    // The answer may come before the guest is done (its body still to be
    // read, which a 0.3 guest waits for), or the guest may end first.
    let (answer, still_running) = tokio::select! {
        ended = &mut run => {
            ended.map_err(trapped)?;
            (receiver.try_recv().map_err(|_| unanswered())?, false)
        }
        answer = &mut receiver => (answer.map_err(|_| unanswered())?, true),
    };
    let response =
        answer.map_err(|code| anyhow::anyhow!("component {} answered its probe {path} with {code}", component.id))?;
    let status = response.status();
    let body = response.into_body().collect();
    if still_running {
        let (_, ran) = tokio::join!(body, run);
        ran.map_err(trapped)?;
    } else {
        let _ = body.await;
    }
    if status.is_server_error() {
        anyhow::bail!("component {} answered its probe {path} with {status}", component.id);
    }
    tracing::info!(component = %component.id, probe = %path, status = status.as_u16(), "probe answered");
    Ok(())
}
