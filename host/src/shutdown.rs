//! Turns SIGTERM (Kubernetes) or SIGINT (Ctrl-C) into a shutdown broadcast.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

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
        tracing::info!(signal = which, "shutting down: draining");
        let _ = tx.send(true);
    });
    Ok(rx)
}
