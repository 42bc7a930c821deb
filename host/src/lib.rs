//! doc-proxy-host: serves `wasi:http` components (WASI 0.2 and 0.3), the app
//! of a Spin manifest or one component on every path, and adds what Spin and
//! `wasmtime serve` lack: Prometheus metrics, liveness and readiness, outbound
//! allow-lists, timeouts and protection, memory and connection limits, live
//! reloads and graceful drain. `main.rs` parses the command line and runs a
//! [`Host`]; tests start one the same way.
//!
//! # Where is what
//!
//! Four wings, each a folder, each importing only the wings below it:
//!
//! | wing | what it holds | imports |
//! |---|---|---|
//! | [`edge`] | the listeners and their limits (per listener and per client, idle connections evicted first), the public request path (`proxy`), the host's own problem answers, request ids, admin and control (token) endpoints, shutdown | app, outbound, ops |
//! | [`app`] | the served app: manifest and routes, engine and compiled code, the per-component registry of factors (WASI, Spin variables, outbound HTTP, limits, Server-Timing), the per-request store, invoking a handler, reloads with their checks and roll-back | outbound, ops |
//! | [`outbound`] | the client components call through: allow-lists, timeouts, pool, per-component breakers and retry budgets, the host's own addresses refused, the verdict cache | ops |
//! | [`ops`] | metrics, `Server-Timing` to metrics, logs, trace context, the memory plan, file descriptors, the compile cache, the image's health probe | none |
//!
//! Each wing's flags are declared beside it (`edge::flags`, `app::flags`,
//! `outbound::flags`, `ops::flags`) and gathered by [`cli::Args`];
//! docs/configuration.md is generated from them. [`host`] assembles the
//! wings: [`Host::builder`], [`HostBuilder::start`], [`Host::serve`].
//!
//! The split follows the two hosts this one sits beside. As in wasmtime's
//! `serve` command, the per-request state implements the WASI view traits
//! and owns `add_to_linker` (`app::state`), and flag groups are flattened
//! into one command. As in Spin's `trigger-http`, the server that accepts and
//! routes (`edge::proxy`) is apart from the code that calls a handler of
//! either WASI version (`app::invoke`), and Spin's request headers are set
//! where a request is routed.

pub mod app;
pub mod cli;
pub mod edge;
pub mod host;
pub mod ops;
pub mod outbound;

pub use host::{Host, HostBuilder, HostFlags, Stopper};

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The wings from the top down: each may import only those after it.
    const LAYERS: [&str; 4] = ["edge", "app", "outbound", "ops"];

    /// Every `crate::<wing>` a wing's source names, as (file, line, wing named).
    fn wings_named(dir: &Path) -> Vec<(String, usize, &'static str)> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(wings_named(&path));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (number, line) in text.lines().enumerate() {
                for wing in LAYERS {
                    let named = format!("crate::{wing}");
                    let mentions = line.match_indices(&named).any(|(at, _)| {
                        let next = line[at + named.len()..].chars().next();
                        !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    });
                    if mentions {
                        found.push((path.display().to_string(), number + 1, wing));
                    }
                }
            }
        }
        found
    }

    /// Upward imports, as `file:line names wing`.
    fn upward_imports(src: &Path) -> Vec<String> {
        let mut upward = Vec::new();
        for (rank, wing) in LAYERS.iter().enumerate() {
            for (file, line, named) in wings_named(&src.join(wing)) {
                let named_rank = LAYERS.iter().position(|w| *w == named).unwrap();
                if named_rank < rank {
                    upward.push(format!("{file}:{line} ({wing}) names {named}"));
                }
            }
        }
        upward
    }

    #[test]
    fn wings_import_only_the_wings_below_them() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let upward = upward_imports(&src);
        assert!(
            upward.is_empty(),
            "imports toward a higher wing:\n{}",
            upward.join("\n")
        );
    }

    #[test]
    fn an_upward_import_is_found() {
        let dir = tempfile::tempdir().unwrap();
        for wing in LAYERS {
            std::fs::create_dir(dir.path().join(wing)).unwrap();
        }
        std::fs::write(
            dir.path().join("ops/metrics.rs"),
            "use crate::outbound;\nuse crate::ops_extra::x;\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("edge/proxy.rs"), "use crate::ops::metrics;\n").unwrap();
        let upward = upward_imports(dir.path());
        assert_eq!(upward.len(), 1, "{upward:?}");
        assert!(
            upward[0].contains("ops/metrics.rs:1 (ops) names outbound"),
            "{upward:?}"
        );
    }
}
