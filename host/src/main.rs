//! The `doc-proxy-host` binary: parses the command line, starts logging and
//! the async runtime, and runs a [`Host`] until SIGTERM or SIGINT, or one of
//! the two helpers (`compile`, `probe`). Everything else is the library.

use clap::Parser;
use doc_proxy_host::cli::{Args, Command};
use doc_proxy_host::edge::shutdown;
use doc_proxy_host::ops::{logging, probe};
use doc_proxy_host::{host, Host, HostFlags};
use std::process::ExitCode;
use std::time::Duration;

// musl's allocator serialises threads on one lock; the static image would pay
// for it on every request. mimalloc is used in every build so the image and the
// regular release build behave alike (`make bench-image` compares them).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = logging::init(&args.log.filter(), args.log.log_queue_lines as usize) {
        eprintln!("doc-proxy-host: invalid --log-level: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match args.command {
        None => runtime.block_on(serve(args.host)),
        Some(Command::Compile { input, output, levels }) => host::compile(&args.host, &levels, &input, &output),
        Some(Command::Probe { url, timeout }) => match runtime.block_on(probe::probe(&url, timeout)) {
            Ok(status) if status.is_success() => Ok(()),
            Ok(status) => Err(anyhow::anyhow!("{url} answered {status}")),
            Err(e) => Err(e),
        },
    };
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "exiting");
            ExitCode::FAILURE
        }
    };
    logging::flush(Duration::from_secs(2));
    code
}

/// Serve until the first SIGTERM or SIGINT, then drain.
async fn serve(flags: HostFlags) -> anyhow::Result<()> {
    let signal = shutdown::on_signal()?;
    Host::builder(flags).shutdown_on(signal).start().await?.serve().await
}
