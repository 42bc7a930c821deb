//! `loadgen run`: requests at a fixed rate, whatever the server does.
//!
//! Every millisecond tick sends the requests that fell due since the last one,
//! each on its own task over a pooled keep-alive client that opens another
//! connection rather than queue, so a slow answer never delays the next send.
//! Latency runs from the send; how late the generator itself was against the
//! schedule (the timer's millisecond, a busy CPU) is reported apart as lag, so
//! neither hides in the other. A request due while `--max-in-flight` others
//! are still waiting is not sent and is counted, so the generator's own limit
//! is never mistaken for the server's.

use crate::report::{Sample, Summary};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{Instant, MissedTickBehavior};

#[derive(clap::Args)]
pub struct Args {
    /// The URL to GET; `{n}` is replaced by the request's number (1, 2, …).
    url: String,
    /// Requests per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// How long to send for.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Requests waiting for an answer at once, at most (each holds a connection).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_in_flight: u32,
    /// A request not answered (body included) this long after it was sent is a `timeout`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Write one line per request here (tab-separated: due_ms, lag_ms,
    /// latency_ms, outcome, content_type, bytes), for `scripts/load-chart.py`.
    #[arg(long)]
    samples: Option<PathBuf>,
    /// Print the summary as one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

pub fn main(args: Args) -> ExitCode {
    if !(args.rate > 0.0 && args.rate <= 1_000_000.0) || args.duration.is_zero() {
        eprintln!("loadgen: --rate must be in (0, 1000000] and --duration above 0");
        return ExitCode::FAILURE;
    }
    if !args.url.starts_with("http://") {
        eprintln!("loadgen: only http:// URLs");
        return ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (summary, samples) = runtime.block_on(run(&args));
    if let Some(path) = &args.samples {
        if let Err(e) = write_samples(path, &samples) {
            eprintln!("loadgen: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary).expect("summary serialises"));
    } else {
        print!("{summary}");
    }
    ExitCode::SUCCESS
}

async fn run(args: &Args) -> (Summary, Vec<Sample>) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(args.timeout));
    let client: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.max_in_flight as usize)
        .build(connector);
    let in_flight = Arc::new(Semaphore::new(args.max_in_flight as usize));
    let (tx, rx) = mpsc::unbounded_channel::<Sample>();
    let expected = (args.rate * args.duration.as_secs_f64()).ceil() as u64;
    let collector = tokio::spawn(collect(rx, progress_bar(expected)));

    let start = Instant::now();
    let mut ticks = tokio::time::interval_at(start, Duration::from_millis(1));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let (mut sent, mut not_sent) = (0u64, 0u64);
    loop {
        let due_at = ticks.tick().await;
        let since_start = due_at - start;
        if since_start >= args.duration {
            break;
        }
        let due_by_now = ((args.rate * since_start.as_secs_f64()).floor() as u64 + 1).min(expected);
        while sent + not_sent < due_by_now {
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                not_sent += 1;
                continue;
            };
            sent += 1;
            let uri = args.url.replace("{n}", &sent.to_string());
            let (client, tx, timeout) = (client.clone(), tx.clone(), args.timeout);
            let lag = Instant::now() - due_at;
            tokio::spawn(async move {
                let sample = fetch(&client, &uri, since_start, lag, timeout).await;
                drop(permit);
                let _ = tx.send(sample);
            });
        }
    }
    drop(tx);
    let samples = collector.await.expect("collector task");
    let summary = Summary::new(args.rate, args.duration, not_sent, &samples);
    (summary, samples)
}

async fn fetch(
    client: &Client<HttpConnector, Empty<Bytes>>,
    uri: &str,
    due: Duration,
    lag: Duration,
    timeout: Duration,
) -> Sample {
    let sent_at = Instant::now();
    let answer = tokio::time::timeout_at(sent_at + timeout, async {
        let uri: hyper::Uri = uri.parse().map_err(|_| "error")?;
        let response = client.get(uri).await.map_err(|_| "error")?;
        let status = response.status().as_u16().to_string();
        let content_type = response
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        let body = response.into_body().collect().await.map_err(|_| "error")?;
        Ok::<_, &str>((status, content_type, body.to_bytes().len() as u64))
    })
    .await;
    let (outcome, content_type, bytes) = match answer {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => (e.to_string(), String::new(), 0),
        Err(_) => ("timeout".to_string(), String::new(), 0),
    };
    Sample {
        due,
        lag,
        latency: sent_at.elapsed(),
        outcome,
        content_type,
        bytes,
    }
}

/// Gathers the samples and keeps the progress bar's status mix current.
async fn collect(mut rx: mpsc::UnboundedReceiver<Sample>, bar: ProgressBar) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut mix: BTreeMap<String, u64> = BTreeMap::new();
    let mut shown = Instant::now();
    while let Some(sample) = rx.recv().await {
        *mix.entry(sample.outcome.clone()).or_insert(0) += 1;
        samples.push(sample);
        bar.inc(1);
        if shown.elapsed() >= Duration::from_millis(200) {
            shown = Instant::now();
            let text: Vec<String> = mix.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            bar.set_message(text.join("  "));
        }
    }
    bar.finish_and_clear();
    samples
}

/// A bar on stderr when it is a terminal; hidden otherwise (CI logs, pipes).
fn progress_bar(expected: u64) -> ProgressBar {
    let bar = ProgressBar::new(expected);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} answered  {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar
}

fn write_samples(path: &std::path::Path, samples: &[Sample]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "due_ms\tlag_ms\tlatency_ms\toutcome\tcontent_type\tbytes")?;
    for s in samples {
        writeln!(
            out,
            "{:.3}\t{:.3}\t{:.3}\t{}\t{}\t{}",
            s.due.as_secs_f64() * 1e3,
            s.lag.as_secs_f64() * 1e3,
            s.latency.as_secs_f64() * 1e3,
            s.outcome,
            s.content_type,
            s.bytes
        )?;
    }
    out.flush()
}
