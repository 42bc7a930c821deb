//! Live component swaps: `POST /admin/reload`, SIGHUP and a watched file load
//! the component again and swap it in while requests run; a file that does
//! not load is refused and the served version stays. Two "builds" here are the
//! real doc_proxy.wasm and the same component with one more custom section:
//! a different file and digest, the same behaviour.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use test_harness::{component, request, start_dummy_upstream, Host};

/// `component` with a custom section appended, tagged `tag`: another valid
/// component with another digest.
fn rebuilt(component: &[u8], tag: &[u8]) -> Vec<u8> {
    let name = b"doc-proxy-build";
    let mut out = component.to_vec();
    let contents = 1 + name.len() + tag.len();
    assert!(contents < 128 && name.len() < 128, "one-byte LEB128 lengths");
    out.push(0); // custom section id
    out.push(contents as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(tag);
    out
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Replaces `path` whole (write aside, then rename), as a deployment would.
fn install(path: &Path, bytes: &[u8]) {
    let aside = path.with_extension("new");
    std::fs::write(&aside, bytes).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

async fn reload(host: &Host) -> (u16, serde_json::Value) {
    let reply = host.reload().await;
    let body = serde_json::from_slice(&reply.body).unwrap_or(serde_json::Value::Null);
    (reply.status, body)
}

/// The digest that served `request_id`, from the component's request line.
fn served_by(host: &Host, request_id: &str) -> String {
    host.log_lines()
        .into_iter()
        .find(|l| l["message"] == "request" && l["request_id"] == request_id)
        .and_then(|l| l["component_sha256"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no request line for {request_id}"))
}

async fn get_and_name_the_digest(host: &Host, path: &str) -> String {
    let reply = request(host.public, "GET", path, &[]).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    served_by(host, reply.header("x-request-id").unwrap())
}

struct Builds {
    _dir: tempfile::TempDir,
    path: PathBuf,
    a: Vec<u8>,
    b: Vec<u8>,
}

fn builds() -> Builds {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc_proxy.wasm");
    let a = std::fs::read(component("doc_proxy")).unwrap();
    let b = rebuilt(&a, b"B");
    install(&path, &a);
    Builds { _dir: dir, path, a, b }
}

#[tokio::test]
async fn reloads_swap_the_component_and_refuse_what_does_not_load() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let builds = builds();
    let url = format!("http://{}", upstream.public);
    let host = Host::start(&builds.path, &["--upstream-url", &url]);
    let (sha_a, sha_b) = (sha256(&builds.a), sha256(&builds.b));
    assert_eq!(get_and_name_the_digest(&host, "/1").await, sha_a);

    install(&builds.path, &builds.b);
    let (status, body) = reload(&host).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "swapped");
    assert_eq!(body["components"][0]["id"], "doc-proxy");
    assert_eq!(body["components"][0]["from"], sha_a);
    assert_eq!(body["components"][0]["sha256"], sha_b);
    assert_eq!(get_and_name_the_digest(&host, "/2").await, sha_b);
    let metrics = String::from_utf8(request(host.admin, "GET", "/metrics", &[]).await.body.to_vec()).unwrap();
    let info: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("wasm_component_info{"))
        .collect();
    assert_eq!(info.len(), 1, "only the served version: {info:?}");
    assert!(info[0].contains(&sha_b), "{info:?}");

    let (status, body) = reload(&host).await;
    assert_eq!((status, body["result"].as_str()), (200, Some("unchanged")));

    // Not a component at all, an empty core module (made a component, with
    // no handler), a component that imports what neither this host nor Spin
    // provides, one that exports no handler: each refused, and B keeps
    // serving.
    let imports_unknown =
        wat::parse_str(r#"(component (import "acme:thing/gadget@1.0.0" (instance (export "get" (func)))))"#).unwrap();
    let no_handler = wat::parse_str("(component)").unwrap();
    for (what, bytes, says) in [
        ("garbage", b"not a component".to_vec(), "component"),
        ("a core module", b"\0asm\x01\0\0\0".to_vec(), "component"),
        (
            "an import no one provides",
            imports_unknown,
            "neither this host nor Spin provides",
        ),
        ("no handler", no_handler, "exports neither"),
    ] {
        install(&builds.path, &bytes);
        let (status, body) = reload(&host).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert_eq!(body["status"], 422);
        assert_eq!(body["serving"], format!("doc-proxy={sha_b}"), "{what}");
        assert!(host.refusal_reason(&body).contains(says), "{what}: {body}");
        assert!(
            !body["detail"].as_str().unwrap().contains(says),
            "{what}: logged, not answered: {body}"
        );
        assert_eq!(get_and_name_the_digest(&host, "/3").await, sha_b, "{what}");
        assert_eq!(request(host.admin, "GET", "/readyz", &[]).await.status, 200);
    }
    assert_eq!(
        host.metric(r#"wasm_component_reloads_total{result="refused"}"#).await,
        4.0
    );

    // SIGHUP reloads too.
    install(&builds.path, &builds.a);
    host.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while host.metric(r#"wasm_component_reloads_total{result="swapped"}"#).await < 2.0 {
        assert!(Instant::now() < deadline, "SIGHUP did not swap within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(get_and_name_the_digest(&host, "/4").await, sha_a);
    assert_eq!(request(host.control, "GET", "/admin/reload", &[]).await.status, 405);
    // Whoever can reach the admin port (probes, scrapers) cannot reload.
    let (status, before) = (
        request(host.admin, "POST", "/admin/reload", &[]).await.status,
        host.metric(r#"wasm_component_reloads_total{result="unchanged"}"#).await,
    );
    assert_eq!(status, 405);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        host.metric(r#"wasm_component_reloads_total{result="unchanged"}"#).await,
        before
    );
}

/// Six reloads whose clients give up after 50 ms, with nothing cached: one
/// build at a time (the abandoned requests do not each start a compilation),
/// the requests that arrived during a build share the next one, and every one
/// of the six is accounted for in the log although no client heard the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_reloads_do_not_pile_up_compilations() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let builds = builds();
    let url = format!("http://{}", upstream.public);
    let host = Host::start(&builds.path, &["--upstream-url", &url, "--no-cache"]);
    install(&builds.path, &builds.b);
    let bearer = format!(
        "Bearer {}",
        std::fs::read_to_string(&host.control_token_file).unwrap().trim()
    );
    let impatient: Vec<_> = (0..6)
        .map(|_| {
            let (control, bearer) = (host.control, bearer.clone());
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    Duration::from_millis(50),
                    request(control, "POST", "/admin/reload", &[("authorization", &bearer)]),
                )
                .await;
            })
        })
        .collect();
    for client in impatient {
        client.await.unwrap();
    }
    // Wait for the builds to end: every trigger answered in the log.
    let deadline = Instant::now() + Duration::from_secs(60);
    let reload_lines = || -> Vec<serde_json::Value> {
        host.log_lines()
            .into_iter()
            .filter(|l| l["reload_id"].is_u64() && l["waiting"].is_u64())
            .collect()
    };
    loop {
        let answered: u64 = reload_lines().iter().map(|l| l["waiting"].as_u64().unwrap()).sum();
        if answered == 6 {
            break;
        }
        assert!(
            answered < 6 && Instant::now() < deadline,
            "{answered} of 6 triggers answered"
        );
    }
    let lines = reload_lines();
    assert!(
        (1..=2).contains(&lines.len()),
        "one build, or one plus one for those that came during it: {lines:?}"
    );
    assert_eq!(lines[0]["message"], "app swapped");
    let compiled = host
        .log_lines()
        .into_iter()
        .filter(|l| l["message"] == "component loaded")
        .count();
    assert_eq!(
        compiled,
        1 + lines.len(),
        "one compilation per build, at start and per reload"
    );
    assert_eq!(get_and_name_the_digest(&host, "/1").await, sha256(&builds.b));
}

#[tokio::test]
async fn a_watched_file_is_reloaded_when_it_changes() {
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let builds = builds();
    let url = format!("http://{}", upstream.public);
    let host = Host::start(&builds.path, &["--upstream-url", &url, "--watch-interval", "100ms"]);
    install(&builds.path, &builds.b);
    let deadline = Instant::now() + Duration::from_secs(20);
    while host.metric(r#"wasm_component_reloads_total{result="swapped"}"#).await < 1.0 {
        assert!(Instant::now() < deadline, "the change was not picked up within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(get_and_name_the_digest(&host, "/1").await, sha256(&builds.b));
}

/// 100 swaps alternating two builds while four clients keep requesting: no
/// request fails, every one is served by one of the two digests, and memory
/// after the 100th swap is within 10% of after the 10th (no instance or
/// compiled code is left behind).
///
/// The pool has 8 slots here. Each new version's instances land on slots the
/// old one did not use, and a freed slot keeps 1 MiB resident
/// (`--pool-keep-resident`), so with the default 32 slots RSS climbs by up to
/// about that many MiB over the first ~50 swaps, then stays flat (measured to
/// the 400th swap): bounded, and counted in the memory plan. With 8 slots
/// that warm-up is over by the 10th swap, and growth after it would be a leak.
/// With `--pool-keep-resident 0` and 32 slots, RSS is flat from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_swaps_under_load_lose_no_request_and_no_memory() {
    const SWAPS: usize = 100;
    const CLIENTS: usize = 4;
    let upstream = start_dummy_upstream(&["CORRUPT_PERCENT=0"]);
    let builds = builds();
    let url = format!("http://{}", upstream.public);
    let host = Host::start(
        &builds.path,
        &["--upstream-url", &url, "--max-concurrent-requests", "8"],
    );
    let (sha_a, sha_b) = (sha256(&builds.a), sha256(&builds.b));

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let answers: Arc<Mutex<Vec<(u16, String)>>> = Arc::default();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (stop, sent, answers, addr) = (stop.clone(), sent.clone(), answers.clone(), host.public);
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let reply = request(addr, "GET", &format!("/{}", client * 1_000_000 + n), &[]).await;
                sent.fetch_add(1, Ordering::Relaxed);
                let id = reply.header("x-request-id").unwrap_or_default().to_string();
                answers.lock().unwrap().push((reply.status, id));
            }
        }));
    }

    let started = Instant::now();
    let mut rss_after_10th = 0;
    for swap in 1..=SWAPS {
        let (bytes, sha) = if swap % 2 == 1 {
            (&builds.b, &sha_b)
        } else {
            (&builds.a, &sha_a)
        };
        install(&builds.path, bytes);
        let (status, body) = reload(&host).await;
        assert_eq!(status, 200, "swap {swap}: {body}");
        assert_eq!(body["components"][0]["sha256"], **sha, "swap {swap}");
        // Let requests run on each version.
        tokio::time::sleep(Duration::from_millis(20)).await;
        if swap == 10 {
            rss_after_10th = host.resident_memory();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "bounded: 100 swaps in 2 minutes"
        );
    }
    let rss_after_100th = host.resident_memory();
    let swapping = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    let answers = answers.lock().unwrap().clone();
    let failed: Vec<_> = answers.iter().filter(|(status, _)| *status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(5)]
    );
    let lines = host.log_lines();
    let mut by_digest = std::collections::BTreeMap::<String, usize>::new();
    let digests: std::collections::HashMap<&str, &str> = lines
        .iter()
        .filter(|l| l["message"] == "request")
        .filter_map(|l| Some((l["request_id"].as_str()?, l["component_sha256"].as_str()?)))
        .collect();
    for (_, id) in &answers {
        let digest = digests
            .get(id.as_str())
            .unwrap_or_else(|| panic!("no request line for {id}"));
        *by_digest.entry(digest.to_string()).or_default() += 1;
    }
    assert_eq!(
        by_digest.keys().cloned().collect::<Vec<_>>(),
        {
            let mut both = vec![sha_a.clone(), sha_b.clone()];
            both.sort();
            both
        },
        "every response from one of the two builds, and both served"
    );
    assert_eq!(
        host.metric(r#"wasm_component_reloads_total{result="swapped"}"#).await,
        SWAPS as f64
    );
    let growth = rss_after_100th as f64 / rss_after_10th as f64;
    println!(
        "{SWAPS} swaps in {:.1} s under {} requests from {CLIENTS} clients: 0 failed; {} by build A, {} by build B; \
         RSS after the 10th swap {:.1} MiB, after the 100th {:.1} MiB ({growth:.3}x)",
        swapping.as_secs_f64(),
        answers.len(),
        by_digest[&sha_a],
        by_digest[&sha_b],
        rss_after_10th as f64 / 1048576.0,
        rss_after_100th as f64 / 1048576.0,
    );
    assert!(
        growth <= 1.10,
        "RSS grew {growth:.3}x between the 10th and the 100th swap"
    );
}
