//! Spin cannot be installed here, so `spin up` is not run; this checks what can
//! be checked without it: the manifests parse, point at the artifacts `make
//! build` produces, allow outbound HTTP to exactly the configured upstream, and
//! give the components only variables they read. Each doc-proxy setting is
//! declared once in the production `spin.toml`, with `config::KNOBS`'s
//! default; `dev/spin.toml` repeats those declarations (a manifest cannot
//! include another) and is held equal to it here.

use doc_core::config::{variable_name, Config, UpstreamUrl, DEFAULT_UPSTREAM_URL, KNOBS, UPSTREAM_URL};
use std::collections::BTreeMap;
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

/// A table of strings (`[component.X.variables]`), or of `{ default = … }`
/// (`[variables]`, by default), as name → value.
fn strings(table: &toml::Value, field: Option<&str>) -> BTreeMap<String, String> {
    table
        .as_table()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = match field {
                Some(field) => &v[field],
                None => v,
            };
            (
                k.clone(),
                v.as_str().unwrap_or_else(|| panic!("{k}: {v:?}")).to_string(),
            )
        })
        .collect()
}

/// The application variables doc-proxy's settings need: each setting's
/// variable with its default, as `config.rs` writes them.
fn settings_with_defaults() -> BTreeMap<String, String> {
    KNOBS
        .iter()
        .map(|k| (k.variable_name(), k.default.to_string()))
        .chain([(variable_name(UPSTREAM_URL), DEFAULT_UPSTREAM_URL.to_string())])
        .collect()
}

/// `name = "{{ name }}"` for each setting: the component gets the
/// application's variable of the same name.
fn passed_through(names: impl IntoIterator<Item = String>) -> BTreeMap<String, String> {
    names
        .into_iter()
        .map(|n| (n.clone(), format!("{{{{ {n} }}}}")))
        .collect()
}

fn without(mut map: BTreeMap<String, String>, names: &[&str]) -> BTreeMap<String, String> {
    for name in names {
        assert!(map.remove(*name).is_some(), "{name} missing");
    }
    map
}

#[test]
fn doc_proxy_manifest_declares_each_setting_once_and_allows_the_upstream() {
    let file = repo().join("spin.toml");
    let m = manifest(&file);
    assert_eq!(m["spin_manifest_version"].as_integer(), Some(2));
    let trigger = &m["trigger"]["http"].as_array().unwrap()[0];
    assert_eq!(trigger["route"].as_str(), Some("/..."));
    assert_eq!(trigger["component"].as_str(), Some("doc-proxy"));
    assert_eq!(
        component_source(&file, "doc-proxy").canonicalize().unwrap(),
        test_harness::component("doc_proxy").canonicalize().unwrap()
    );

    // Every setting, with config.rs's default; nothing else.
    let declared = strings(&m["variables"], Some("default"));
    assert_eq!(declared, settings_with_defaults(), "spin.toml's [variables]");
    let component = &m["component"]["doc-proxy"];
    let variables = strings(&component["variables"], None);
    assert_eq!(
        variables,
        passed_through(declared.keys().cloned()),
        "[component.doc-proxy.variables]"
    );
    assert!(
        component.get("environment").is_none(),
        "doc-proxy's settings are variables, not environment"
    );

    // The defaults make a valid configuration, and outbound HTTP is allowed to
    // exactly the upstream; Spin refuses an allowed host with a path.
    let config = Config::from_variables(|k| declared.get(k).cloned());
    assert!(config.is_ok(), "{config:?}");
    let allowed: Vec<&str> = component["allowed_outbound_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["{{ upstream_url }}"]);
    let upstream = UpstreamUrl::parse(&declared["upstream_url"]).unwrap();
    assert_eq!(upstream.base_path, "", "upstream_url is an allowed host too: no path");

    // The host's verdict cache is on for doc-proxy, which validates.
    assert_eq!(
        component["tool"]["doc-proxy-host"]["verdict_cache"].as_bool(),
        Some(true)
    );
}

#[test]
fn upstream_manifest_points_at_the_built_emulator() {
    let file = repo().join("components/dummy-pdf-or-png/spin.toml");
    let source = component_source(&file, "dummy-pdf-or-png");
    assert_eq!(
        source.canonicalize().unwrap(),
        test_harness::component("dummy_pdf_or_png").canonicalize().unwrap()
    );
    let m = manifest(&file);
    let declared = strings(&m["variables"], Some("default"));
    let variables = strings(&m["component"]["dummy-pdf-or-png"]["variables"], None);
    assert_eq!(variables, passed_through(declared.keys().cloned()));
    check_emulator_reads(variables.keys());
}

/// Each name is a fault knob the emulator's source reads.
fn check_emulator_reads<'a>(names: impl IntoIterator<Item = &'a String>) {
    let source = std::fs::read_to_string(repo().join("components/dummy-pdf-or-png/src/lib.rs")).unwrap();
    for name in names {
        assert!(
            source.contains(&format!("knob(\"{name}\"")),
            "the emulator reads no variable {name}"
        );
    }
}

/// `make run`'s app: doc-proxy on every path with the production settings,
/// and the emulator below `/upstream/`, where doc-proxy's `upstream_url` and
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
            test_harness::component(artifact).canonicalize().unwrap()
        );
    }

    let production = manifest(&repo().join("spin.toml"));
    let declared = strings(&m["variables"], Some("default"));
    let emulator = strings(&m["component"]["dummy-pdf-or-png"]["variables"], None);
    let emulator_names: Vec<&str> = emulator.keys().map(String::as_str).collect();
    let mut own = vec!["listen_addr"];
    own.extend(&emulator_names);
    assert_eq!(
        without(declared.clone(), &own),
        without(strings(&production["variables"], Some("default")), &["upstream_url"]),
        "dev/spin.toml declares doc-proxy's settings otherwise than spin.toml"
    );
    let doc_proxy = &m["component"]["doc-proxy"];
    let variables = strings(&doc_proxy["variables"], None);
    assert_eq!(
        without(variables.clone(), &["upstream_url"]),
        without(
            strings(&production["component"]["doc-proxy"]["variables"], None),
            &["upstream_url"]
        ),
        "make run's doc-proxy gets other variables than production's"
    );
    assert_eq!(variables["upstream_url"], "http://{{ listen_addr }}/upstream");
    assert_eq!(
        doc_proxy["allowed_outbound_hosts"].as_array().unwrap()[0].as_str(),
        Some("http://{{ listen_addr }}")
    );
    assert_eq!(
        doc_proxy["tool"]["doc-proxy-host"]["verdict_cache"].as_bool(),
        Some(true)
    );
    // The resolved defaults are a valid configuration with the emulator's
    // route as upstream.
    let listen = &declared["listen_addr"];
    let config = Config::from_variables(|k| match k {
        "upstream_url" => Some(format!("http://{listen}/upstream")),
        k => declared.get(k).cloned(),
    })
    .unwrap();
    assert_eq!(config.upstream.to_string(), format!("http://{listen}/upstream"));

    // The emulator's knobs: each one it reads, each passed through, and the
    // Makefile's list of per-run overrides names exactly them.
    assert_eq!(emulator, passed_through(emulator.keys().cloned()));
    check_emulator_reads(emulator.keys());
    let makefile = std::fs::read_to_string(repo().join("Makefile")).unwrap();
    let listed = makefile
        .lines()
        .find_map(|l| l.strip_prefix("EMULATOR_SETTINGS :="))
        .expect("the Makefile defines EMULATOR_SETTINGS");
    let mut listed: Vec<String> = listed.split_whitespace().map(variable_name).collect();
    listed.sort();
    assert_eq!(listed, emulator_names, "the Makefile's EMULATOR_SETTINGS");
}
