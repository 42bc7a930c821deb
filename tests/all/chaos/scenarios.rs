//! The eight chaos scenarios of `docs/reliability.md`. Each runs the real host
//! and components on loopback, bounded in requests and time, and returns its
//! row: the pass criterion, the figures, and whether they meet it. `Scale`
//! picks full counts (`make chaos`) or the quick ones `make test` runs.

use super::load::{self, Load, Sample, Summary, Until};
use std::time::{Duration, Instant};
use test_harness::{
    component, never_reads, request, start_doc_proxy, start_dummy_upstream, Host, Script, ScriptedUpstream,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Quick,
    Full,
}

impl Scale {
    fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Scale::Quick => quick,
            Scale::Full => full,
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub criterion: String,
    pub summary: Summary,
    /// Peak RSS of the doc-proxy host, bytes.
    pub peak_rss: u64,
    /// Scenario-specific figures, one sentence.
    pub figures: String,
    /// Criteria that were not met (empty: passed).
    pub failures: Vec<String>,
}

impl Row {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Records `what` as a failure unless `ok`.
fn check(failures: &mut Vec<String>, ok: bool, what: impl Into<String>) {
    if !ok {
        failures.push(what.into());
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn doc_path(n: u64) -> String {
    format!("/{}", n % 100_000 + 1)
}

/// Four keep-alive clients requesting documents for `seconds`: the normal
/// traffic a scenario's hostile clients run beside.
fn normal_clients(seconds: u64) -> Load {
    Load {
        clients: 4,
        until: Until::Elapsed(Duration::from_secs(seconds)),
        pause_after_503: Duration::ZERO,
    }
}

/// Normal clients beside hostile ones: every request 200, and the p99 within
/// three times their p99 alone plus 20 ms.
fn check_normal_beside(failures: &mut Vec<String>, beside: &Summary, alone: &Summary) {
    check(
        failures,
        beside.ok == beside.requests,
        format!("normal clients: {}", beside.mix()),
    );
    check(
        failures,
        beside.p99 < alone.p99 * 3 + Duration::from_millis(20),
        format!("normal p99 {} vs {} alone", ms(beside.p99), ms(alone.p99)),
    );
}

/// Upstream calls per client request, from the host's own counters.
async fn upstream_calls_per_request(proxy: &Host, requests: usize) -> f64 {
    let first = proxy.metric("outbound_attempts_total{attempt=\"first\"}").await;
    let retry = proxy.metric("outbound_attempts_total{attempt=\"retry\"}").await;
    (first + retry) / requests.max(1) as f64
}

/// The worst case the host computed for its memory flags ("memory plan").
fn planned_worst_case(host: &Host) -> u64 {
    let plan = host
        .log_lines()
        .into_iter()
        .find(|l| l["message"] == "memory plan")
        .expect("the host logs its memory plan");
    let text = plan["worst_case"].as_str().expect("worst_case is a size");
    text.parse::<bytesize::ByteSize>()
        .expect("a size the host printed")
        .as_u64()
}

/// 1. The emulator at the real 10% corrupt rate.
pub async fn corrupt_rate(scale: Scale) -> Row {
    let requests = scale.pick(5_000, 100_000);
    let target = scale.pick(0.999, 0.9999);
    let upstream = start_dummy_upstream(&[]);
    let proxy = start_doc_proxy(&format!("http://{}", upstream.public), &[]);
    // Below the host's concurrency (32 with the default memory flags): at
    // exactly the limit, a client's next request can arrive before the last
    // one's slot is free and be shed, which is scenario 7's subject, not this one's.
    let load = Load {
        clients: 24,
        until: Until::Requests(requests),
        pause_after_503: Duration::ZERO,
    };
    let samples = load::run(proxy.public, load, doc_path).await;
    let summary = Summary::of(&samples);
    let calls = upstream_calls_per_request(&proxy, summary.requests).await;
    let retries = proxy.metric("outbound_attempts_total{attempt=\"retry\"}").await as u64;
    let refused = proxy
        .metric("outbound_requests_total{status=\"retry_budget_exhausted\"}")
        .await as u64;
    let mut failures = Vec::new();
    check(&mut failures, summary.bad_documents == 0, "a bad document was served");
    check(
        &mut failures,
        summary.ok_share() >= target,
        format!("200s {:.4}% < {:.2}%", summary.ok_share() * 100.0, target * 100.0),
    );
    check(
        &mut failures,
        calls <= 1.2,
        format!("{calls:.3} upstream calls per request > 1.2"),
    );
    Row {
        scenario: format!("1. emulator at 10% corrupt, {requests} requests, 24 clients"),
        criterion: format!("0 bad documents; ≥ {:.2}% 200s; upstream calls ≤ 1.2 per request", target * 100.0),
        peak_rss: proxy.memory_high_water_mark(),
        figures: format!(
            "{}; 200s: {:.4}%; upstream calls per request: {calls:.3} ({retries} retries, {refused} refused by the budget)",
            summary.mix(),
            summary.ok_share() * 100.0
        ),
        summary,
        failures,
    }
}

/// 2. The upstream is killed mid-run, then started again on the same port.
pub async fn upstream_killed(scale: Scale) -> Row {
    let (before, down, after) = scale.pick((1, 2, 3), (2, 5, 4));
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let upstream_addr = upstream.public.to_string();
    let proxy = start_doc_proxy(&format!("http://{upstream_addr}"), &[]);
    let load = Load {
        clients: 8,
        until: Until::Elapsed(Duration::from_secs(before + down + after)),
        pause_after_503: Duration::from_millis(5),
    };
    let started = Instant::now();
    let running = tokio::spawn(load::run(proxy.public, load, doc_path));
    tokio::time::sleep(Duration::from_secs(before)).await;
    drop(upstream);
    let killed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(down)).await;
    let _restarted = Host::start_on(
        &component("dummy_pdf_or_png"),
        &upstream_addr,
        &["--variable", "corrupt_percent=0"],
    );
    let back = started.elapsed();
    let samples = running.await.unwrap();
    let summary = Summary::of(&samples);

    let breaker_503s = Summary::of(samples.iter().filter(|s| s.breaker));
    // Recovery: from the upstream's return to the first request after which
    // every answer is a 200.
    let last_failure_start = samples
        .iter()
        .filter(|s| s.status != 200 && s.at >= back)
        .map(|s| s.at)
        .max()
        .unwrap_or(back);
    let recovery = last_failure_start.saturating_sub(back);
    let while_down = Summary::of(samples.iter().filter(|s| s.at >= killed && s.at < back));
    let mut failures = Vec::new();
    check(
        &mut failures,
        !summary.statuses.contains_key(&0),
        "a request got no answer",
    );
    check(
        &mut failures,
        summary.max < Duration::from_secs(6),
        format!("slowest {}", ms(summary.max)),
    );
    check(&mut failures, breaker_503s.requests > 0, "the breaker never answered");
    check(
        &mut failures,
        breaker_503s.p99 < Duration::from_millis(50),
        format!("breaker 503 p99 {}", ms(breaker_503s.p99)),
    );
    check(
        &mut failures,
        recovery <= Duration::from_secs(2),
        format!("recovery took {}", ms(recovery)),
    );
    check(&mut failures, summary.bad_documents == 0, "a bad document was served");
    Row {
        scenario: format!("2. upstream killed for {down} s mid-run, restarted on its port; 8 clients"),
        criterion: "every request answered within the deadline; 503s from the open breaker in < 50 ms (p99); all 200s again within 2 s of the upstream's return".into(),
        peak_rss: proxy.memory_high_water_mark(),
        figures: format!(
            "while down: {}; breaker 503s: {} (p50 {}, p99 {}); recovered {} after the upstream returned",
            while_down.mix(),
            breaker_503s.requests,
            ms(breaker_503s.p50),
            ms(breaker_503s.p99),
            ms(recovery)
        ),
        summary,
        failures,
    }
}

/// 3. The upstream misbehaves in five ways, one after another.
pub async fn sick_upstream(scale: Scale) -> Row {
    let per_case = scale.pick(40, 200);
    let cases: [(&str, Script); 6] = [
        ("never answers", Script::Hang),
        (
            "drips a byte per 50 ms",
            Script::Drip {
                every: Duration::from_millis(50),
            },
        ),
        ("resets connections", Script::Reset),
        (
            "answers 500",
            Script::Respond {
                status: 500,
                content_type: "text/html",
                body: b"<html>500</html>".to_vec(),
                content_length: None,
            },
        ),
        (
            "sends 256 MiB with its length",
            Script::Flood {
                bytes: 256 << 20,
                declared: true,
            },
        ),
        (
            "sends 256 MiB close-delimited",
            Script::Flood {
                bytes: 256 << 20,
                declared: false,
            },
        ),
    ];
    let mut all = Vec::new();
    let mut figures = Vec::new();
    let mut failures = Vec::new();
    let mut peak_rss = 0;
    let mut worst_case = 0;
    for (name, script) in cases {
        let upstream = ScriptedUpstream::start(move |_| script.clone()).await;
        // Sized as in k8s/base: 10 instances of 32 MiB, 8 MiB documents, 128
        // client connections with 16 KiB send buffers.
        let url = upstream.url();
        let proxy = Host::start(
            &component("doc_proxy"),
            &[
                "--upstream-url",
                &url,
                "--guest-memory-budget",
                "320MiB",
                "--max-instance-memory-bytes",
                "32MiB",
                "--max-connections",
                "128",
                "--client-send-buffer-bytes",
                "16KiB",
                "--variable",
                "max_document_bytes=8388608",
                "--variable",
                "deadline_ms=1000",
                "--variable",
                "attempt_timeout_ms=400",
            ],
        );
        worst_case = worst_case.max(planned_worst_case(&proxy));
        // Fewer clients than the 10 instances: this scenario is about the
        // upstream, and shedding is scenario 7's.
        let load = Load {
            clients: 8,
            until: Until::Requests(per_case),
            pause_after_503: Duration::ZERO,
        };
        let started = Instant::now();
        let samples = load::run(proxy.public, load, doc_path).await;
        let summary = Summary::of(&samples);
        let hits = upstream.hits.load(std::sync::atomic::Ordering::SeqCst);
        let calls = hits as f64 / summary.requests.max(1) as f64;
        // 20% of first attempts, plus the floor (10/s) over the run and the
        // window (10 s) it slides over.
        let floor = 10.0 * (10.0 + started.elapsed().as_secs_f64());
        let budget = 1.2 + floor / summary.requests.max(1) as f64;
        check(
            &mut failures,
            summary.ok == 0 && !summary.statuses.contains_key(&0),
            format!("{name}: {}", summary.mix()),
        );
        check(
            &mut failures,
            summary.max < Duration::from_millis(2000),
            format!("{name}: slowest {}", ms(summary.max)),
        );
        check(
            &mut failures,
            calls <= budget,
            format!("{name}: {calls:.2} upstream calls per request"),
        );
        let rss = proxy.memory_high_water_mark();
        peak_rss = peak_rss.max(rss);
        figures.push(format!(
            "{name}: {} in p99 {}, {calls:.2} upstream calls/request, peak RSS {} MiB",
            summary.mix(),
            ms(summary.p99),
            rss >> 20
        ));
        all.extend(samples);
    }
    check(
        &mut failures,
        peak_rss <= worst_case,
        format!(
            "peak RSS {} MiB over the memory plan's {} MiB",
            peak_rss >> 20,
            worst_case >> 20
        ),
    );
    Row {
        scenario: format!("3. sick upstream: six behaviours × {per_case} requests, 8 clients, deadline 1 s"),
        criterion: "every request answered with a problem within 2 s; upstream calls within the retry budget; peak RSS within the host's memory plan (k8s sizing: 10 × 32 MiB instances, 128 connections, worst case 494.75 MiB)".into(),
        summary: Summary::of(&all),
        peak_rss,
        figures: figures.join("; "),
        failures,
    }
}

/// 4. SIGTERM during steady load, while the load balancer still sends traffic.
pub async fn sigterm_under_load(scale: Scale) -> Row {
    let clients = scale.pick(4, 16);
    let upstream = start_dummy_upstream(&["DELAY_MS=20"]);
    let url = format!("http://{}", upstream.public);
    let mut proxy = Host::start(
        &component("doc_proxy"),
        &[
            "--upstream-url",
            &url,
            "--shutdown-delay",
            "3s",
            "--drain-timeout",
            "5s",
        ],
    );
    let load = Load {
        clients,
        until: Until::Elapsed(Duration::from_millis(2500)),
        pause_after_503: Duration::ZERO,
    };
    let running = tokio::spawn(load::run(proxy.public, load, doc_path));
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.terminate();
    let samples = running.await.unwrap();
    let summary = Summary::of(&samples);
    let after_sigterm = samples.iter().filter(|s| s.at >= Duration::from_secs(1)).count();
    let peak_rss = proxy.memory_high_water_mark();
    let exit = proxy.wait_exit(Duration::from_secs(10));
    let mut failures = Vec::new();
    check(
        &mut failures,
        summary.ok == summary.requests,
        format!("failed: {}", summary.mix()),
    );
    check(&mut failures, after_sigterm > 0, "no request was sent after SIGTERM");
    check(
        &mut failures,
        exit.is_some_and(|s| s.success()),
        format!("exit: {exit:?}"),
    );
    check(&mut failures, summary.bad_documents == 0, "a bad document was served");
    Row {
        scenario: format!("4. SIGTERM during steady load, {clients} keep-alive clients, shutdown delay 3 s"),
        criterion: "0 failed requests; clean exit".into(),
        summary,
        peak_rss,
        figures: format!("{after_sigterm} requests sent after SIGTERM, all 200; exit {exit:?}"),
        failures,
    }
}

/// 5. Thousands of clients send their headers a byte at a time.
pub async fn slow_clients(scale: Scale) -> Row {
    let slow = scale.pick(200, 2_000);
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let url = format!("http://{}", upstream.public);
    let proxy = Host::start(
        &component("doc_proxy"),
        // The connection cap above the slow clients: this scenario is about
        // the header timeout, not the cap (`e2e_host_limits` tests that).
        &[
            "--upstream-url",
            &url,
            "--header-read-timeout",
            "3s",
            "--max-connections",
            "4096",
        ],
    );
    let alone = Summary::of(&load::run(proxy.public, normal_clients(2), doc_path).await);

    let addr = proxy.public;
    let mut dribblers = Vec::new();
    for _ in 0..slow {
        dribblers.push(tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
                return false;
            };
            let head = b"GET /1 HTTP/1.1\r\nhost: x\r\nx-slow: ";
            for byte in head.iter().chain(std::iter::repeat(&b'a')).take(200) {
                if stream.write_all(&[*byte]).await.is_err() {
                    // Closed by the host: the header-read timeout.
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            false
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let beside = load::run(proxy.public, normal_clients(4), doc_path).await;
    let summary = Summary::of(&beside);
    let mut cut_off = 0;
    for dribbler in dribblers {
        cut_off += usize::from(dribbler.await.unwrap());
    }
    let timeouts = proxy
        .metric("http_connection_errors_total{kind=\"header_timeout\",listener=\"public\"}")
        .await as u64;
    let peak_rss = proxy.memory_high_water_mark();
    let mut failures = Vec::new();
    check_normal_beside(&mut failures, &summary, &alone);
    check(
        &mut failures,
        cut_off == slow,
        format!("{cut_off} of {slow} slow clients were cut off"),
    );
    check(
        &mut failures,
        timeouts as usize >= slow,
        format!("{timeouts} header timeouts counted"),
    );
    check(
        &mut failures,
        peak_rss < 256 << 20,
        format!("peak RSS {} MiB", peak_rss >> 20),
    );
    Row {
        scenario: format!("5. {slow} clients sending headers a byte per 500 ms, beside 4 normal clients"),
        criterion: "normal clients all 200 with p99 < 3× their p99 alone + 20 ms; every slow client cut off at the header timeout (3 s); peak RSS < 256 MiB".into(),
        summary,
        peak_rss,
        figures: format!(
            "normal p99 alone {}, beside the slow clients {}; {cut_off} slow clients cut off ({timeouts} header timeouts counted)",
            ms(alone.p99),
            ms(Summary::of(&beside).p99)
        ),
        failures,
    }
}

/// Scenario 8: clients that ask for a large document and never read its body: each
/// holds its request only until the write timeout, while normal clients are
/// served beside them.
pub async fn never_reading_clients(scale: Scale) -> Row {
    let stalled = scale.pick(16, 100);
    // 2 MiB of plain stream data: far more than a connection's buffers.
    let big = doc_fixtures::hostile::one_stream_pdf("", &vec![b'x'; 2 << 20]);
    let upstream = ScriptedUpstream::start(move |_| Script::ok("application/pdf", big.clone())).await;
    let url = upstream.url();
    // 128 instances of 16 MiB: each stalled request pins one until the write
    // timeout, and the normal clients still find free ones.
    let proxy = Host::start(
        &component("doc_proxy"),
        &[
            "--upstream-url",
            &url,
            "--client-write-timeout",
            "2s",
            "--max-instance-memory-bytes",
            "16MiB",
        ],
    );
    let alone = Summary::of(&load::run(proxy.public, normal_clients(2), doc_path).await);

    let addr = proxy.public;
    let mut readers = Vec::new();
    for n in 0..stalled {
        // Each keeps its connection, unread, until the end.
        readers.push(tokio::spawn(async move {
            never_reads(addr, &format!("/{}", n + 1)).await.0
        }));
    }
    let mut held = Vec::new();
    for reader in readers {
        held.push(reader.await.unwrap());
    }
    let stuck_at_start = proxy.metric("http_requests_in_flight").await as usize;
    let started = Instant::now();
    let beside = load::run(proxy.public, normal_clients(4), doc_path).await;
    let summary = Summary::of(&beside);
    let mut freed_after = None;
    while started.elapsed() < Duration::from_secs(15) {
        if proxy.metric("http_requests_in_flight").await == 0.0 {
            freed_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cut_off = proxy
        .metric("http_connection_errors_total{kind=\"write_timeout\",listener=\"public\"}")
        .await as usize;
    let peak_rss = proxy.memory_high_water_mark();
    drop(held);
    let mut failures = Vec::new();
    check_normal_beside(&mut failures, &summary, &alone);
    check(
        &mut failures,
        stuck_at_start == stalled,
        format!("{stuck_at_start} of {stalled} stalled requests in flight at first"),
    );
    check(
        &mut failures,
        freed_after.is_some() && cut_off == stalled,
        format!("in flight freed after {freed_after:?}; {cut_off} of {stalled} cut off by the write timeout"),
    );
    check(
        &mut failures,
        peak_rss < 1 << 30,
        format!("peak RSS {} MiB", peak_rss >> 20),
    );
    Row {
        scenario: format!("8. {stalled} clients that never read a 2 MiB document, beside 4 normal clients"),
        criterion: "normal clients all 200 with p99 < 3× their p99 alone + 20 ms; every stalled request freed within 15 s (write timeout 2 s) and counted; peak RSS < 1 GiB (128 instances of 16 MiB)".into(),
        summary,
        peak_rss,
        figures: format!(
            "normal p99 alone {}, beside the stalled clients {}; {stuck_at_start} stalled requests in flight, all freed {} after the normal load started; {cut_off} write timeouts counted",
            ms(alone.p99),
            ms(Summary::of(&beside).p99),
            freed_after.map_or("never".to_string(), ms)
        ),
        failures,
    }
}

/// Scenario 6: guests that trap, compute forever, or allocate without end,
/// beside ordinary requests on the same host.
pub async fn guest_faults(scale: Scale) -> Row {
    let each = scale.pick(20, 1_000);
    let host = Host::start(
        &component("dummy_pdf_or_png"),
        &[
            "--variable",
            "fault_routes=1",
            "--variable",
            "corrupt_percent=0",
            "--request-timeout",
            "250ms",
        ],
    );
    let faults = ["/fault/trap", "/fault/spin", "/fault/grow"];
    let hostile = Load {
        clients: 6,
        until: Until::Requests(each * 3),
        pause_after_503: Duration::ZERO,
    };
    let ordinary = Load {
        clients: 2,
        until: Until::Requests(each * 3),
        pause_after_503: Duration::ZERO,
    };
    let (bad, good) = tokio::join!(
        load::run(host.public, hostile, move |n| faults[(n % 3) as usize].to_string()),
        load::run(host.public, ordinary, doc_path),
    );
    let bad = Summary::of(&bad);
    let summary = Summary::of(&good);
    let traps = host.metric("wasm_traps_total").await as u64;
    let health = request(host.admin, "GET", "/readyz", &[]).await.status;
    let peak_rss = host.memory_high_water_mark();
    let mut failures = Vec::new();
    let answered = bad.statuses.get(&500).copied().unwrap_or(0) + bad.statuses.get(&504).copied().unwrap_or(0);
    check(
        &mut failures,
        answered == bad.requests,
        format!("hostile: {}", bad.mix()),
    );
    check(
        &mut failures,
        summary.ok == summary.requests,
        format!("ordinary: {}", summary.mix()),
    );
    check(&mut failures, summary.bad_documents == 0, "a bad document was served");
    check(
        &mut failures,
        traps as usize == bad.requests,
        format!("{traps} traps counted"),
    );
    check(&mut failures, health == 200, format!("/readyz {health}"));
    Row {
        scenario: format!(
            "6. {each} each of trap / endless loop / memory bomb, beside ordinary requests; request timeout 250 ms"
        ),
        criterion:
            "every hostile request answered 500 or 504 and counted; every ordinary one 200; the host stays ready".into(),
        summary,
        peak_rss,
        figures: format!("hostile: {} (p99 {}); {traps} traps counted", bad.mix(), ms(bad.p99)),
        failures,
    }
}

/// 7. Three times the load the host admits.
pub async fn overload(scale: Scale) -> Row {
    let seconds = scale.pick(2, 5);
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0", "DELAY_MS=50"]);
    let url = format!("http://{}", upstream.public);
    let proxy = Host::start(
        &component("doc_proxy"),
        &["--upstream-url", &url, "--max-concurrent-requests", "8"],
    );
    let with = |clients| Load {
        clients,
        until: Until::Elapsed(Duration::from_secs(seconds)),
        pause_after_503: Duration::from_millis(10),
    };
    let at_capacity = Summary::of(&load::run(proxy.public, with(8), doc_path).await);
    let samples: Vec<Sample> = load::run(proxy.public, with(24), doc_path).await;
    let summary = Summary::of(&samples);
    let accepted = Summary::of(samples.iter().filter(|s| s.status == 200));
    let shed = Summary::of(samples.iter().filter(|s| s.status == 503));
    let mut failures = Vec::new();
    check(&mut failures, shed.requests > 0, "nothing was shed");
    check(
        &mut failures,
        shed.p99 < Duration::from_millis(20),
        format!("shed p99 {}", ms(shed.p99)),
    );
    check(
        &mut failures,
        accepted.p99 < at_capacity.p99 * 2 + Duration::from_millis(20),
        format!(
            "accepted p99 {} vs {} at capacity",
            ms(accepted.p99),
            ms(at_capacity.p99)
        ),
    );
    check(
        &mut failures,
        summary.ok + shed.requests == summary.requests,
        format!("other answers: {}", summary.mix()),
    );
    Row {
        scenario: "7. 24 clients against --max-concurrent-requests 8 (3× capacity), upstream 50 ms".into(),
        criterion: "excess shed with 503 in < 20 ms (p99); accepted requests' p99 < 2× their p99 at capacity + 20 ms"
            .into(),
        peak_rss: proxy.memory_high_water_mark(),
        figures: format!(
            "at capacity: {} req, p99 {}; at 3×: {} accepted (p99 {}), {} shed (p99 {})",
            at_capacity.requests,
            ms(at_capacity.p99),
            accepted.requests,
            ms(accepted.p99),
            shed.requests,
            ms(shed.p99)
        ),
        summary,
        failures,
    }
}
