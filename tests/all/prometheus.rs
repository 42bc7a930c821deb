//! The host's metrics as a real Prometheus sees them: Debian's `prometheus`
//! started here on 127.0.0.1 scrapes a running doc-proxy and its upstream
//! every second and loads the production rules; after known traffic, PromQL
//! returns the counts that were sent, every rule evaluates, and the dashboard
//! and the rules name only metrics the host exports. `promtool check metrics`
//! lints a live `/metrics`.
//!
//! Needs `prometheus` and `promtool` on the PATH (`apt install prometheus`;
//! `.ci/run` installs it); without them these tests show as ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use test_harness::{request, start_doc_proxy, start_dummy_upstream};

const NEEDS_TOOLS: &str = "needs prometheus and promtool on the PATH (apt install prometheus)";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rules_file() -> PathBuf {
    repo().join("observability/prometheus/rules/doc-proxy.rules.yml")
}

/// CI installs the tools, so there the tests below must not be ignored.
#[test]
fn ci_runs_the_prometheus_tests() {
    let tools_found = cfg!(prometheus_tools);
    if std::env::var_os("CI").is_some() {
        assert!(tools_found, "CI is set but {NEEDS_TOOLS}");
    }
}

#[cfg_attr(
    not(prometheus_tools),
    ignore = "needs prometheus and promtool on the PATH (apt install prometheus)"
)]
#[tokio::test]
async fn live_metrics_pass_promtool_check_metrics() {
    let upstream = start_dummy_upstream(&[]);
    let proxy = start_doc_proxy(&format!("http://{}", upstream.public), &[]);
    for id in 1..=20 {
        request(proxy.public, "GET", &format!("/{id}"), &[]).await;
    }
    request(proxy.public, "GET", "/x", &[]).await;
    let metrics = request(proxy.admin, "GET", "/metrics", &[]).await.body;
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    std::io::Write::write_all(promtool.stdin.as_mut().unwrap(), &metrics).unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}");
}

/// A Prometheus server on 127.0.0.1, stopped and its data removed when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (job name → admin address) every
    /// second, with the production rules evaluated every second.
    fn start(targets: &[(&str, SocketAddr)]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let mut config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n",
            rules_file().canonicalize().unwrap().display()
        );
        for (job, addr) in targets {
            config += &format!("  - job_name: {job}\n    static_configs:\n      - targets: [\"{addr}\"]\n");
        }
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("prometheus starts");
        let prometheus = Prometheus { child, addr, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "prometheus did not listen on {addr} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        prometheus
    }

    /// Waits until Prometheus says it is ready to serve queries (bounded: 30 s).
    async fn ready(self) -> Prometheus {
        let deadline = Instant::now() + Duration::from_secs(30);
        while request(self.addr, "GET", "/-/ready", &[]).await.status != 200 {
            assert!(Instant::now() < deadline, "prometheus not ready within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self
    }

    async fn get(&self, path: &str) -> serde_json::Value {
        let reply = request(self.addr, "GET", path, &[]).await;
        serde_json::from_slice(&reply.body)
            .unwrap_or_else(|_| panic!("{path}: {}", String::from_utf8_lossy(&reply.body)))
    }

    /// An instant query's result vector; panics when Prometheus reports an error.
    async fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let answer = self.get(&format!("/api/v1/query?query={}", encode(promql))).await;
        assert_eq!(answer["status"], "success", "{promql}: {answer}");
        answer["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The value of a query that returns one sample, if it does.
    async fn value(&self, promql: &str) -> Option<f64> {
        let result = self.query(promql).await;
        result.first().map(|s| s["value"][1].as_str().unwrap().parse().unwrap())
    }

    /// Polls `promql` until its single value is `want` (bounded: 20 s).
    async fn wait_for(&self, promql: &str, want: f64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.value(promql).await;
            if got == Some(want) {
                return;
            }
            assert!(Instant::now() < deadline, "{promql}: {got:?}, waited for {want}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query-string value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg_attr(
    not(prometheus_tools),
    ignore = "needs prometheus and promtool on the PATH (apt install prometheus)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_counts_what_was_sent_and_every_rule_and_panel_evaluates() {
    let upstream = start_dummy_upstream(&[]);
    let proxy = start_doc_proxy(&format!("http://{}", upstream.public), &[]);
    let prometheus = Prometheus::start(&[("doc-proxy", proxy.admin), ("dummy-pdf-or-png", upstream.admin)])
        .ready()
        .await;
    prometheus
        .wait_for(r#"sum(up{job=~"doc-proxy|dummy-pdf-or-png"})"#, 2.0)
        .await;

    // Known traffic: documents (some retried past corrupt ones) and bad ids.
    // One of each first, scraped before the rest, so increase() below sees
    // those series start before the traffic it measures.
    let mut by_status: BTreeMap<u16, f64> = BTreeMap::new();
    let mut documents = 0.0;
    for path in ["/1", "/abc"] {
        let reply = request(proxy.public, "GET", path, &[]).await;
        *by_status.entry(reply.status).or_default() += 1.0;
        documents += f64::from(reply.status == 200);
    }
    prometheus
        .wait_for(r#"sum(http_requests_total{job="doc-proxy",route="/..."})"#, 2.0)
        .await;
    for id in 2..=61 {
        let reply = request(proxy.public, "GET", &format!("/{id}"), &[]).await;
        *by_status.entry(reply.status).or_default() += 1.0;
        if reply.status == 200 {
            documents += 1.0;
        }
    }
    for bad in ["/abc", "/-1", "/1.5"] {
        let reply = request(proxy.public, "GET", bad, &[]).await;
        *by_status.entry(reply.status).or_default() += 1.0;
    }
    let sent: f64 = by_status.values().sum();
    prometheus
        .wait_for(r#"sum(http_requests_total{job="doc-proxy",route="/..."})"#, sent)
        .await;

    for (status, count) in &by_status {
        let promql = format!(r#"sum(http_requests_total{{job="doc-proxy",route="/...",status="{status}"}})"#);
        assert_eq!(prometheus.value(&promql).await, Some(*count), "{promql}");
    }
    let served = r#"sum(http_responses_by_type_total{job="doc-proxy",content_type=~"application/pdf|image/png"})"#;
    assert_eq!(prometheus.value(served).await, Some(documents));
    let ok_attempts = r#"sum(server_timing_entries_total{job="doc-proxy",entry="upstream",desc="ok"})"#;
    assert_eq!(prometheus.value(ok_attempts).await, Some(documents));
    // What the component reported equals what the host sent out.
    let reported = prometheus
        .value(r#"sum(server_timing_entries_total{job="doc-proxy",entry="upstream"})"#)
        .await
        .unwrap();
    let sent_out = prometheus
        .value(r#"sum(outbound_attempts_total{job="doc-proxy"})"#)
        .await
        .unwrap();
    assert_eq!(reported, sent_out);
    assert!(reported >= documents);
    // The emulator's own counter agrees from the other side (scraped apart).
    prometheus
        .wait_for(r#"sum(http_requests_total{job="dummy-pdf-or-png"})"#, sent_out)
        .await;
    // increase() extrapolates to the window's edges, so it is near, not equal.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let measured = sent - 2.0;
    let increase = prometheus
        .value(r#"sum(increase(http_requests_total{job="doc-proxy",route="/..."}[1m]))"#)
        .await
        .unwrap();
    assert!(
        (0.8 * measured..=1.5 * measured).contains(&increase),
        "increase over 1m {increase}, sent {measured} after the first scrape"
    );
    println!("PromQL after {sent} requests: {by_status:?} by status, {documents} documents, {reported} upstream attempts, increase[1m] {increase:.1}");

    // Every rule evaluates without error, and no alert fires on healthy traffic.
    let deadline = Instant::now() + Duration::from_secs(20);
    let rules = loop {
        let answer = prometheus.get("/api/v1/rules").await;
        let rules: Vec<serde_json::Value> = answer["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .collect();
        if !rules.is_empty() && rules.iter().all(|r| r["lastEvaluation"] != "0001-01-01T00:00:00Z") {
            break rules;
        }
        assert!(Instant::now() < deadline, "rules not all evaluated: {answer}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(rules.len(), 25, "every rule in {}", rules_file().display());
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
    let firing = prometheus.query(r#"ALERTS{alertstate="firing"}"#).await;
    assert!(firing.is_empty(), "{firing:?}");
    assert!(
        prometheus
            .value("doc_proxy:availability_errors:ratio_rate5m")
            .await
            .is_some(),
        "the SLI is recorded"
    );

    // The names the host exports, the series Prometheus adds, and the rules' records.
    let exposition = String::from_utf8(request(proxy.admin, "GET", "/metrics", &[]).await.body.to_vec()).unwrap();
    let mut known: BTreeSet<String> = exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect();
    known.insert("up".into());
    known.extend(
        rules
            .iter()
            .filter(|r| r["type"] == "recording")
            .map(|r| r["name"].as_str().unwrap().to_string()),
    );

    for rule in &rules {
        let query = rule["query"].as_str().unwrap();
        let unknown: Vec<_> = metric_names(query).into_iter().filter(|n| !known.contains(n)).collect();
        assert!(
            unknown.is_empty(),
            "rule {} names {unknown:?}, not exported",
            rule["name"]
        );
    }

    let dashboard: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo().join("observability/grafana/dashboards/doc-proxy.json")).unwrap())
            .expect("the dashboard is JSON");
    let exprs = dashboard_exprs(&dashboard);
    assert!(exprs.len() >= 20, "{} expressions", exprs.len());
    for (title, expr) in &exprs {
        let unknown: Vec<_> = metric_names(expr).into_iter().filter(|n| !known.contains(n)).collect();
        assert!(unknown.is_empty(), "panel {title:?} names {unknown:?}, not exported");
        // Grafana's interval variables, as Grafana would fill them in.
        let promql = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s");
        prometheus.query(&promql).await;
    }
}

/// Every `expr` of every panel (rows' panels included), with the panel's title.
fn dashboard_exprs(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(panels: &[serde_json::Value], out: &mut Vec<(String, String)>) {
        for panel in panels {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((panel["title"].as_str().unwrap_or("").to_string(), expr.to_string()));
                }
            }
            walk(panel["panels"].as_array().map_or(&[], |v| v), out);
        }
    }
    let mut out = Vec::new();
    walk(dashboard["panels"].as_array().expect("panels"), &mut out);
    out
}

/// The metric names a PromQL expression selects: identifiers that are not
/// functions, keywords, label names (inside `{}` or grouping lists) or numbers.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const GROUPING: [&str; 6] = ["by", "without", "on", "ignoring", "group_left", "group_right"];
    const KEYWORDS: [&str; 7] = ["and", "or", "unless", "bool", "offset", "inf", "nan"];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let skip_to = |i: &mut usize, close: char| {
        while *i < chars.len() && chars[*i] != close {
            if chars[*i] == '"' || chars[*i] == '\'' || chars[*i] == '`' {
                let quote = chars[*i];
                *i += 1;
                while *i < chars.len() && chars[*i] != quote {
                    *i += if chars[*i] == '\\' { 2 } else { 1 };
                }
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            skip_to(&mut i, '}');
        } else if c == '[' {
            skip_to(&mut i, ']');
        } else if c == '"' || c == '\'' || c == '`' {
            i += 1;
            skip_to(&mut i, c);
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let lower = word.to_ascii_lowercase();
            let next_word: String = chars[next..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .collect();
            if GROUPING.contains(&next_word.to_ascii_lowercase().as_str()) {
                // An aggregation written `sum by (…) (…)`.
            } else if GROUPING.contains(&lower.as_str()) {
                if next < chars.len() && chars[next] == '(' {
                    i = next;
                    skip_to(&mut i, ')');
                }
            } else if !(KEYWORDS.contains(&lower.as_str()) || next < chars.len() && chars[next] == '(') {
                names.insert(word);
            }
            continue;
        }
        i += 1;
    }
    names
}

#[test]
fn metric_names_finds_selectors_and_nothing_else() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (le) (rate(a_bucket{job="x",le=~"1|2"}[5m]))) / on (job) group_left sum(b) > bool 1e3 or c:rec unless d offset 5m and sum(e) without (instance)"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["a_bucket", "b", "c:rec", "d", "e"]
    );
    assert!(metric_names(r#"sum(x{a="}[("}) by (le)"#).contains("x"));
}
