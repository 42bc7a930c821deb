//! `loadgen`: the load generator behind `make load` and `make bench`'s
//! open-loop figures, and the stopwatch for a host's start to its first 200.
//!
//! `loadgen run` sends requests at a fixed rate whatever the server does
//! (open loop), so a slow server shows up as latency instead of as a lower
//! request rate (closed-loop tools like wrk wait for answers before sending
//! more). Latency is measured from when a request was due, not from when it
//! went out, so a generator that falls behind does not hide the delay.
//!
//! `loadgen first-200` starts a server command and times how long it takes to
//! answer its first 200.

mod first_200;
mod open_loop;
mod report;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open-loop load: GET the URL at --rate for --duration, then a summary.
    Run(open_loop::Args),
    /// Start a server and time its start to the first 200 on --url.
    #[command(name = "first-200")]
    First200 {
        /// URL polled until it answers 200; `{port}` is replaced by a free
        /// loopback port, which is also put into the command's arguments.
        #[arg(long)]
        url: String,
        /// Give up after this long.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Starts to time: the figure printed is the median.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
        repeat: u32,
        /// The server command and its arguments (`{port}` is replaced).
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => open_loop::main(args),
        Command::First200 {
            url,
            timeout,
            repeat,
            command,
        } => first_200::main(&url, timeout, repeat, &command),
    }
}
