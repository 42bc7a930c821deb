//! A closed-loop load generator for the chaos scenarios: `clients` tasks, each
//! on its own keep-alive connection, send `GET /{n}` until a count or a time is
//! reached, and every answer is recorded: when it started, how long it took,
//! its status, and whether a 200 carried exactly one of the fixture documents
//! under its true type.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One answered (or failed) request.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was sent, from the start of the run.
    pub at: Duration,
    pub latency: Duration,
    /// 0 when no HTTP answer came (connection failed or timed out).
    pub status: u16,
    /// A 200 whose body is not the fixture its Content-Type names.
    pub bad_document: bool,
    /// A 503 answered by the host's open circuit breaker.
    pub breaker: bool,
    /// The problem type's last segment, for a problem+json answer.
    pub problem: Option<String>,
}

/// `upstream-unavailable` from `..."type":"tag:doc-proxy,2026:problem:upstream-unavailable"...`.
fn problem_slug(body: &[u8]) -> Option<String> {
    let problem: serde_json::Value = serde_json::from_slice(body).ok()?;
    let type_uri = problem["type"].as_str()?;
    Some(type_uri.rsplit(':').next()?.to_string())
}

#[derive(Debug, Clone, Copy)]
pub enum Until {
    Requests(u64),
    Elapsed(Duration),
}

#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub clients: usize,
    pub until: Until,
    /// Pause after a 503 before the client's next request, so shed clients
    /// do not spin the CPU the accepted ones need.
    pub pause_after_503: Duration,
}

/// Drives `addr` with `load`; `path(n)` names the n-th request's path.
pub async fn run(addr: SocketAddr, load: Load, path: impl Fn(u64) -> String + Send + Sync + 'static) -> Vec<Sample> {
    let client: Client<HttpConnector, Full<Bytes>> = {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(load.clients)
            .build(connector)
    };
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let path = Arc::new(path);
    let (png, pdf) = (Bytes::from(doc_fixtures::png()), Bytes::from(doc_fixtures::pdf()));
    let mut tasks = Vec::new();
    for _ in 0..load.clients {
        let (client, next, path, png, pdf) = (client.clone(), next.clone(), path.clone(), png.clone(), pdf.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let done = match load.until {
                    Until::Requests(total) => n >= total,
                    Until::Elapsed(limit) => started.elapsed() >= limit,
                };
                if done {
                    break;
                }
                let at = started.elapsed();
                let uri: http::Uri = format!("http://{addr}{}", path(n)).parse().unwrap();
                let sent = Instant::now();
                let outcome = tokio::time::timeout(Duration::from_secs(30), async {
                    let response = client.get(uri).await.ok()?;
                    let status = response.status().as_u16();
                    let content_type = response
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let body = response.into_body().collect().await.ok()?.to_bytes();
                    Some((status, content_type, body))
                })
                .await
                .ok()
                .flatten();
                let latency = sent.elapsed();
                let sample = match outcome {
                    None => Sample {
                        at,
                        latency,
                        status: 0,
                        bad_document: false,
                        breaker: false,
                        problem: None,
                    },
                    Some((status, content_type, body)) => Sample {
                        at,
                        latency,
                        status,
                        bad_document: status == 200
                            && !((content_type == "image/png" && body == png)
                                || (content_type == "application/pdf" && body == pdf)),
                        breaker: status == 503 && body.windows(15).any(|w| w == b"circuit breaker"),
                        problem: if status == 200 { None } else { problem_slug(&body) },
                    },
                };
                let shed = sample.status == 503;
                samples.push(sample);
                if shed && !load.pause_after_503.is_zero() {
                    tokio::time::sleep(load.pause_after_503).await;
                }
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("a load client panicked"));
    }
    all.sort_by_key(|s| s.at);
    all
}

/// Figures over a set of samples.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub requests: usize,
    pub ok: usize,
    /// Status → count, no-answer as 0.
    pub statuses: std::collections::BTreeMap<u16, usize>,
    /// (status, problem type) → count, for answers other than 200.
    pub problems: std::collections::BTreeMap<(u16, String), usize>,
    pub bad_documents: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Summary {
        let mut latencies = Vec::new();
        let mut summary = Summary::default();
        for s in samples {
            summary.requests += 1;
            *summary.statuses.entry(s.status).or_default() += 1;
            summary.ok += usize::from(s.status == 200);
            if s.status != 200 {
                let slug = s.problem.clone().unwrap_or_else(|| "-".into());
                *summary.problems.entry((s.status, slug)).or_default() += 1;
            }
            summary.bad_documents += usize::from(s.bad_document);
            latencies.push(s.latency);
        }
        latencies.sort();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or_default()
        };
        summary.p50 = at(0.50);
        summary.p99 = at(0.99);
        summary.max = latencies.last().copied().unwrap_or_default();
        summary
    }

    pub fn ok_share(&self) -> f64 {
        self.ok as f64 / self.requests.max(1) as f64
    }

    /// `200: 99990 · 502 bad-upstream-document: 10`; no answer shown as `none`.
    pub fn mix(&self) -> String {
        let ok = (self.ok > 0).then(|| format!("200: {}", self.ok));
        let others = self
            .problems
            .iter()
            .map(|((status, slug), n)| match (status, slug.as_str()) {
                (0, _) => format!("none: {n}"),
                (s, "-") => format!("{s}: {n}"),
                (s, slug) => format!("{s} {slug}: {n}"),
            });
        ok.into_iter().chain(others).collect::<Vec<_>>().join(" · ")
    }
}
