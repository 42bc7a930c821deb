//! Spin cannot be installed here, so `spin up` is not run; this checks what can
//! be checked without it: the manifests parse, point at the artifacts `make
//! build` produces, allow outbound HTTP to exactly the configured upstream, and
//! set only configuration the component understands.

mod support;

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest(path: &Path) -> toml::Value {
    let text = std::fs::read_to_string(path).unwrap();
    text.parse::<toml::Table>()
        .map(toml::Value::Table)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn component_source(file: &Path, name: &str) -> PathBuf {
    let m = manifest(file);
    let source = m["component"][name]["source"].as_str().unwrap();
    file.parent().unwrap().join(source)
}

#[test]
fn doc_proxy_manifest_points_at_the_built_component_and_allows_the_upstream() {
    check_doc_proxy_manifest(&repo().join("spin.toml"));
}

#[test]
fn spinkube_manifest_is_the_top_level_one_with_the_clusters_upstream() {
    let cluster = repo().join("k8s/overlays/spinkube/spin.toml");
    check_doc_proxy_manifest(&cluster);
    let env = |file: &Path| {
        let mut table = manifest(file)["component"]["doc-proxy"]["environment"]
            .as_table()
            .unwrap()
            .clone();
        table.remove("UPSTREAM_URL");
        table
    };
    assert_eq!(
        env(&cluster),
        env(&repo().join("spin.toml")),
        "the two manifests differ in more than UPSTREAM_URL"
    );
}

/// A manifest for doc-proxy: one catch-all route to the built component,
/// outbound allowed to exactly its upstream, and only settings it accepts.
fn check_doc_proxy_manifest(file: &Path) {
    let m = manifest(file);
    assert_eq!(m["spin_manifest_version"].as_integer(), Some(2));
    let trigger = &m["trigger"]["http"].as_array().unwrap()[0];
    assert_eq!(trigger["route"].as_str(), Some("/..."));
    assert_eq!(trigger["component"].as_str(), Some("doc-proxy"));

    let source = component_source(file, "doc-proxy");
    assert_eq!(
        source.canonicalize().unwrap(),
        support::component("doc_proxy").canonicalize().unwrap()
    );

    let component = &m["component"]["doc-proxy"];
    let env = component["environment"].as_table().unwrap();
    let upstream = env["UPSTREAM_URL"].as_str().unwrap();
    let parsed = doc_core::config::UpstreamUrl::parse(upstream).unwrap();
    let allowed: Vec<&str> = component["allowed_outbound_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, vec![format!("{}://{}", parsed.scheme, parsed.authority)]);

    // The configuration is accepted by the component's own parser, and names
    // only known variables.
    let known: Vec<&str> = doc_core::config::KNOBS
        .iter()
        .map(|k| k.name)
        .chain([doc_core::config::UPSTREAM_URL])
        .collect();
    for key in env.keys() {
        assert!(known.contains(&key.as_str()), "spin.toml sets unknown variable {key}");
    }
    let config = doc_core::config::Config::from_lookup(|k| env.get(k).and_then(|v| v.as_str()).map(String::from));
    assert!(config.is_ok(), "{config:?}");
}

#[test]
fn upstream_manifest_points_at_the_built_emulator() {
    let file = repo().join("components/dummy-pdf-or-png/spin.toml");
    let source = component_source(&file, "dummy-pdf-or-png");
    assert_eq!(
        source.canonicalize().unwrap(),
        support::component("dummy_pdf_or_png").canonicalize().unwrap()
    );
}

/// `make run`'s app: doc-proxy on every path with the production settings,
/// and the emulator below `/upstream/`, where doc-proxy's `UPSTREAM_URL` and
/// allow-list point.
#[test]
fn dev_manifest_serves_doc_proxy_and_the_emulator_below_upstream() {
    let file = repo().join("dev/spin.toml");
    let m = manifest(&file);
    let routes: Vec<(&str, &str)> = m["trigger"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["route"].as_str().unwrap(), t["component"].as_str().unwrap()))
        .collect();
    assert_eq!(
        routes,
        vec![("/...", "doc-proxy"), ("/upstream/...", "dummy-pdf-or-png")]
    );
    for (name, artifact) in [("doc-proxy", "doc_proxy"), ("dummy-pdf-or-png", "dummy_pdf_or_png")] {
        assert_eq!(
            component_source(&file, name).canonicalize().unwrap(),
            support::component(artifact).canonicalize().unwrap()
        );
    }
    let env = m["component"]["doc-proxy"]["environment"].as_table().unwrap();
    let listen = m["variables"]["listen_addr"]["default"].as_str().unwrap();
    assert_eq!(
        env["UPSTREAM_URL"].as_str(),
        Some(format!("http://{listen}/upstream").as_str())
    );
    assert_eq!(
        m["component"]["doc-proxy"]["allowed_outbound_hosts"]
            .as_array()
            .unwrap()[0]
            .as_str(),
        Some("http://{{ listen_addr }}")
    );
    let production = manifest(&repo().join("spin.toml"));
    let without_upstream = |table: &toml::Value| {
        let mut table = table.as_table().unwrap().clone();
        table.remove("UPSTREAM_URL");
        table
    };
    assert_eq!(
        without_upstream(&m["component"]["doc-proxy"]["environment"]),
        without_upstream(&production["component"]["doc-proxy"]["environment"]),
        "make run's doc-proxy settings differ from production's"
    );
}
