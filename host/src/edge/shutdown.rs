//! Turns SIGTERM (Kubernetes) or SIGINT (Ctrl-C) into a shutdown broadcast. A
//! second signal, while the first one's delay and drain are still under way,
//! exits at once: the operator asked twice.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Exit status of a forced exit: 128 + SIGINT, as a shell reports it.
const FORCED_EXIT: i32 = 130;

/// Returns a receiver that turns true at the first SIGTERM or SIGINT.
pub fn on_signal() -> anyhow::Result<watch::Receiver<bool>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let which = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = which, "shutting down: readiness off, delay, then drain");
        let _ = tx.send(true);
        let which = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::warn!(signal = which, "second signal: exiting without draining");
        crate::ops::logging::flush(std::time::Duration::from_millis(200));
        std::process::exit(FORCED_EXIT);
    });
    Ok(rx)
}
