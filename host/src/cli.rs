//! The command line: the serve flags, grouped by the wing each configures and
//! declared there (`edge::flags`, `app::flags`, `outbound::flags`,
//! `ops::flags`), and the two helpers a container image needs. Every timeout
//! and limit the host enforces is one of these flags, with its default and its
//! reason; docs/configuration.md is generated from them
//! ([`flag_reference`]).

use crate::host::HostFlags;
use crate::ops::flags::LogFlags;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Serves `wasi:http` components (WASI 0.2's `incoming-handler` and 0.3's
/// `handler`) over HTTP, with
/// Prometheus metrics, health endpoints, outbound allow-lists, limits,
/// live reload and graceful drain.
///
/// Without a subcommand it serves the app of `--manifest` (a Spin manifest),
/// or the one `--component` on every path; `compile` and `probe` are the
/// two helpers a container image needs (ahead-of-time compilation at build
/// time, and a health check without a shell or curl).
#[derive(Debug, Clone, Parser)]
#[command(name = "doc-proxy-host", version, args_override_self = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub host: HostFlags,

    #[command(flatten)]
    pub log: LogFlags,
}

/// Helpers that run instead of the server.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Compile a component ahead of time into a `.cwasm` the host loads without
    /// Cranelift. Code is generated for x86-64-v2 (not this machine's CPU), so
    /// an image built in CI runs on any node. The wasmtime version and engine
    /// settings are recorded in the file; a host that differs refuses it.
    Compile {
        /// The component (`.wasm`).
        input: PathBuf,
        /// Where to write the precompiled component.
        #[arg(short, long)]
        output: PathBuf,
        /// CPU levels to generate code for, best first (x86-64-v2,
        /// x86-64-v3). More than one writes them all in one file, and the
        /// host runs the first this CPU has the features of: an image built
        /// once runs the faster code where it can and the portable code
        /// anywhere.
        #[arg(long, value_delimiter = ',', default_value = "x86-64-v2")]
        levels: Vec<crate::app::engine::CodeTarget>,
    },
    /// GET a URL on this machine and exit 0 on a 2xx answer, 1 otherwise: a
    /// health check for images with no shell and no curl (Docker `HEALTHCHECK`).
    Probe {
        /// An `http://` URL, e.g. `http://127.0.0.1:9090/readyz`.
        url: String,
        /// Give up after this long.
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

/// The flag reference of docs/configuration.md, from the flags' own
/// declarations: a table per group, in the order `--help` gives, then the
/// helpers. Hidden flags are left out, as `--help` leaves them out.
pub fn flag_reference() -> String {
    use clap::CommandFactory;
    let command = Args::command();
    let mut out = String::new();
    let mut heading: Option<Option<&str>> = None;
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        let name = arg.get_id().as_str();
        if name == "help" || name == "version" {
            continue;
        }
        if heading != Some(arg.get_help_heading()) {
            heading = Some(arg.get_help_heading());
            out.push_str(&format!(
                "\n### {}\n\n| flag | environment | default | what it does |\n|---|---|---|---|\n",
                arg.get_help_heading().unwrap_or("Options")
            ));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            flag_spelling(arg),
            arg.get_env()
                .map_or_else(String::new, |env| format!("`{}`", env.to_string_lossy())),
            default_of(arg),
            one_line(arg.get_long_help().or(arg.get_help())),
        ));
    }
    out.push_str("\n### Helpers (subcommands)\n");
    for sub in command.get_subcommands() {
        out.push_str(&format!(
            "\n`doc-proxy-host {}`: {}\n\n",
            sub.get_name(),
            one_line(sub.get_long_about().or(sub.get_about()))
        ));
        for arg in sub.get_arguments().filter(|a| a.get_id() != "help") {
            out.push_str(&format!(
                "- {}{}: {}\n",
                flag_spelling(arg),
                match default_of(arg) {
                    d if d.is_empty() => String::new(),
                    d => format!(" (default {d})"),
                },
                one_line(arg.get_long_help().or(arg.get_help()))
            ));
        }
    }
    out
}

/// `--long-name` (and `-s`), or `<NAME>` for a positional argument.
fn flag_spelling(arg: &clap::Arg) -> String {
    match arg.get_long() {
        Some(long) => match arg.get_short() {
            Some(short) => format!("`--{long}`, `-{short}`"),
            None => format!("`--{long}`"),
        },
        None => format!("`<{}>`", arg.get_id().as_str().to_ascii_uppercase()),
    }
}

/// The default as `--help` shows it, with an enum's other values; a switch
/// is off unless given.
fn default_of(arg: &clap::Arg) -> String {
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| format!("`{}`", v.to_string_lossy()))
        .collect();
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    // The action, not `get_num_args`, which clap fills in only once the
    // command is built.
    let takes_value = arg.get_action().takes_values();
    match (defaults.is_empty(), values.len() > 1 && takes_value) {
        _ if !takes_value && arg.get_long().is_some() => "off".to_string(),
        (false, true) => format!("{} (of {})", defaults.join(", "), values.join(", ")),
        (false, false) => defaults.join(", "),
        (true, _) => String::new(),
    }
}

/// Help text on one table row: paragraphs joined, pipes escaped.
fn one_line(text: Option<&clap::builder::StyledStr>) -> String {
    text.map(|t| t.to_string())
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}
