//! Spin's key-value stores and SQLite databases, as `spin up` gives them:
//! `default` of each in the app's state directory, granted per component by
//! `key_value_stores` / `sqlite_databases`, kept across requests and across
//! restarts; a store or database not granted answers `access-denied`; a
//! runtime config file declares more, on SQLite files or a Redis server
//! (a real `redis-server`, started here on a loopback port). The component
//! is `components/spin-probe` (spin-sdk 5.2, Spin 2's interfaces).

use std::path::Path;
use test_harness::services::RedisServer;
use test_harness::{component, request, request_with_body, Host, ManifestFile};

/// `granted` gets the stores and databases; `refused` the same code, none.
fn manifest(extra_granted: &str) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "stores"
[[trigger.http]]
route = "/granted/..."
component = "granted"
[[trigger.http]]
route = "/refused/..."
component = "refused"
[component.granted]
source = "{probe}"
key_value_stores = ["default"{extra_granted}]
sqlite_databases = ["default"]
[component.refused]
source = "{probe}"
"#,
        probe = component("spin_probe").display(),
    )
}

fn start(app: &ManifestFile, state: &Path, extra: &[&str]) -> Host {
    let state = state.to_str().unwrap();
    let mut args = vec!["--state-dir", state];
    args.extend_from_slice(extra);
    Host::start_manifest(&app.path, "127.0.0.1:0", &args, &[])
}

async fn kv(host: &Host, who: &str, query: &str, body: &[u8]) -> (u16, String) {
    let path = format!("/{who}/?probe=kv&{query}");
    let reply = request_with_body(host.public, "POST", &path, &[], bytes::Bytes::copy_from_slice(body)).await;
    (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
}

#[tokio::test]
async fn the_default_store_keeps_values_across_requests_and_restarts() {
    let state = tempfile::tempdir().unwrap();
    let app = ManifestFile::new(|_| manifest(""));
    let host = start(&app, state.path(), &[]);
    assert_eq!(kv(&host, "granted", "op=set&key=greeting", b"hello").await.0, 200);
    assert_eq!(
        kv(&host, "granted", "op=get&key=greeting", b"").await,
        (200, "hello".into())
    );
    assert_eq!(kv(&host, "granted", "op=get&key=absent", b"").await.0, 404);
    assert_eq!(
        kv(&host, "granted", "op=keys", b"").await,
        (200, r#"["greeting"]"#.into())
    );
    // As `spin up` keeps it: one SQLite file in the state directory.
    assert!(state.path().join("sqlite_key_value.db").exists());
    drop(host);

    let again = start(&app, state.path(), &[]);
    assert_eq!(
        kv(&again, "granted", "op=get&key=greeting", b"").await,
        (200, "hello".into())
    );
    assert_eq!(kv(&again, "granted", "op=delete&key=greeting", b"").await.0, 200);
    assert_eq!(kv(&again, "granted", "op=get&key=greeting", b"").await.0, 404);
}

#[tokio::test]
async fn stores_not_granted_are_denied_as_spin_denies_them() {
    let state = tempfile::tempdir().unwrap();
    let app = ManifestFile::new(|_| manifest(""));
    let host = start(&app, state.path(), &[]);
    let (status, said) = kv(&host, "refused", "op=get&key=k", b"").await;
    assert_eq!((status, said.as_str()), (500, "open: Error::AccessDenied"));
    let (status, said) = kv(&host, "granted", "store=other&op=get&key=k", b"").await;
    assert_eq!((status, said.as_str()), (500, "open: Error::AccessDenied"));
    let refused = request(host.public, "GET", "/refused/?probe=sqlite&sql=select+1", &[]).await;
    assert_eq!(String::from_utf8_lossy(&refused.body), "open: Error::AccessDenied");
    // Nothing granted, nothing made.
    drop(host);
    let app = ManifestFile::new(|_| {
        manifest("").replace(
            "key_value_stores = [\"default\"]\nsqlite_databases = [\"default\"]\n",
            "",
        )
    });
    let empty = tempfile::tempdir().unwrap();
    let host = start(&app, empty.path(), &[]);
    assert_eq!(kv(&host, "refused", "op=get&key=k", b"").await.0, 500);
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0, "no store was made");
}

#[tokio::test]
async fn a_store_the_runtime_config_does_not_declare_refuses_the_app() {
    let state = tempfile::tempdir().unwrap();
    let app = ManifestFile::new(|_| manifest(", \"cache\""));
    let output = std::process::Command::new(test_harness::host_binary())
        .arg("--manifest")
        .arg(&app.path)
        .args([
            "--listen-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(state.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("key_value_store.cache"), "{log}");
}

#[tokio::test]
async fn sqlite_runs_statements_on_the_default_database() {
    let state = tempfile::tempdir().unwrap();
    let app = ManifestFile::new(|_| manifest(""));
    let host = start(&app, state.path(), &[]);
    let sql = |host: &Host, sql: &str| {
        let path = format!(
            "/granted/?probe=sqlite&sql={}",
            sql.replace(' ', "+").replace(',', "%2C")
        );
        let addr = host.public;
        async move { request(addr, "GET", &path, &[]).await }
    };
    for statement in [
        "CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT, age REAL)",
        "INSERT INTO pets (name, age) VALUES ('Rover', 3.5), ('Kiki', NULL)",
    ] {
        let reply = sql(&host, statement).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    }
    let rows = sql(&host, "SELECT id, name, age FROM pets ORDER BY id").await;
    let json: serde_json::Value = serde_json::from_slice(&rows.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"columns": ["id", "name", "age"], "rows": [[1, "Rover", 3.5], [2, "Kiki", null]]})
    );
    let broken = sql(&host, "SELECT * FROM nowhere").await;
    assert_eq!(broken.status, 500);
    assert!(
        String::from_utf8_lossy(&broken.body).starts_with("Error::Io("),
        "{:?}",
        broken.body
    );
    assert!(state.path().join("sqlite_db.db").exists());
}

/// Two hosts (two replicas) with the runtime config's `default` store on one
/// Redis server share what either writes.
#[tokio::test]
async fn replicas_share_a_store_on_redis() {
    let Some(redis) = RedisServer::start("replicas_share_a_store_on_redis") else {
        return;
    };
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("runtime-config.toml");
    std::fs::write(
        &file,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{}\"\n",
            redis.port
        ),
    )
    .unwrap();
    let app = ManifestFile::new(|_| manifest(""));
    let file = file.to_str().unwrap();
    let one = start(&app, config.path(), &["--runtime-config-file", file]);
    let two = start(&app, config.path(), &["--runtime-config-file", file]);
    assert_eq!(kv(&one, "granted", "op=set&key=shared", b"from one").await.0, 200);
    assert_eq!(
        kv(&two, "granted", "op=get&key=shared", b"").await,
        (200, "from one".into())
    );
    assert_eq!(kv(&two, "granted", "op=delete&key=shared", b"").await.0, 200);
    assert_eq!(kv(&one, "granted", "op=get&key=shared", b"").await.0, 404);
    assert!(
        !config.path().join("sqlite_key_value.db").exists(),
        "nothing kept locally"
    );
}
