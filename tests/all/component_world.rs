//! The built components stay portable: they import only `wasi:*` interfaces
//! (so Spin, SpinKube's shim and this host all run them) and export
//! `wasi:http/incoming-handler@0.2.x`. Their settings come through exactly one
//! configuration interface, `wasi:config/store@0.2.0-draft-2024-09-27`, the
//! version Spin 3 and SpinKube's shim provide (`wasmtime serve` provides only
//! rc.1, so it no longer runs them). The WASI 0.3 test component
//! (`components/hello-p3`) exports `wasi:http/handler@0.3.x` instead, and
//! reads Spin 3's variables interface.

use wasmtime::component::Component;
use wasmtime::{Config, Engine};

fn world(name: &str) -> (Vec<String>, Vec<String>) {
    let mut config = Config::new();
    config.wasm_component_model(true).wasm_component_model_async(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::from_file(&engine, test_harness::component(name)).unwrap();
    let ty = component.component_type();
    let imports = ty.imports(&engine).map(|(n, _)| n.to_string()).collect();
    let exports = ty.exports(&engine).map(|(n, _)| n.to_string()).collect();
    (imports, exports)
}

/// The interfaces (with versions) that `wit/world.wit` imports and exports.
fn declared_world() -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/world.wit")).unwrap();
    let names = |keyword: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix(keyword))
            .map(|rest| rest.trim().trim_end_matches(';').to_string())
            .collect()
    };
    (names("import "), names("export "))
}

/// The one configuration interface, at the one version the hosts that run
/// these components provide: a pre-release version links only to itself.
const CONFIG_STORE: &str = "wasi:config/store@0.2.0-draft-2024-09-27";

fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap()
}

fn check(name: &str) {
    let (imports, exports) = world(name);
    eprintln!("{name} imports: {imports:#?}\n{name} exports: {exports:#?}");
    let (declared_imports, declared_exports) = declared_world();
    for import in &imports {
        assert!(
            declared_imports.iter().any(|d| unversioned(d) == unversioned(import)),
            "{name} imports {import}, which wit/world.wit does not declare"
        );
    }
    for export in &declared_exports {
        assert!(
            exports.iter().any(|e| unversioned(e) == unversioned(export)),
            "{name} does not export {export}"
        );
    }
    // Its settings: through wasi:config/store at exactly the declared version,
    // and no other configuration interface.
    assert!(
        declared_imports.iter().any(|d| d == CONFIG_STORE),
        "wit/world.wit: {CONFIG_STORE}"
    );
    let config: Vec<_> = imports.iter().filter(|i| i.starts_with("wasi:config/")).collect();
    assert_eq!(config, [CONFIG_STORE], "{name}'s configuration imports");
    let foreign: Vec<_> = imports.iter().filter(|i| !i.starts_with("wasi:")).collect();
    assert!(foreign.is_empty(), "{name} imports non-WASI interfaces: {foreign:?}");
    assert!(imports.iter().any(|i| i.starts_with("wasi:http/outgoing-handler@0.2.")) || name != "doc_proxy");
    // Only WASI 0.2: a 0.3 import would not run on released Spin.
    let not_p2: Vec<_> = imports.iter().filter(|i| !i.contains("@0.2.")).collect();
    assert!(not_p2.is_empty(), "{name} imports non-0.2 interfaces: {not_p2:?}");
    assert!(
        exports.iter().any(|e| e.starts_with("wasi:http/incoming-handler@0.2.")),
        "{name} does not export wasi:http/incoming-handler@0.2.x: {exports:?}"
    );
    assert!(
        !exports.iter().any(|e| e.starts_with("wasi:cli/run")),
        "{name} is a command, not a handler"
    );
}

#[test]
fn doc_proxy_imports_only_wasi_and_exports_the_http_handler() {
    check("doc_proxy");
}

#[test]
fn dummy_upstream_imports_only_wasi_and_exports_the_http_handler() {
    check("dummy_pdf_or_png");
}

#[test]
fn the_wasi_p3_test_component_exports_the_0_3_handler() {
    let (imports, exports) = world("hello_p3");
    eprintln!("hello_p3 imports: {imports:#?}\nhello_p3 exports: {exports:#?}");
    // It is a Spin app too: it reads a variable through Spin 3's interface
    // and queries MySQL through Spin 4's async one (the tests' spin-sdk 7
    // guest for `spin:mysql@3.0.0`), and nothing else outside WASI.
    let foreign: Vec<_> = imports.iter().filter(|i| !i.starts_with("wasi:")).collect();
    assert_eq!(
        foreign,
        ["spin:mysql/mysql@3.0.0", "spin:variables/variables@3.0.0"],
        "hello_p3's non-WASI imports"
    );
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:http/client@0.3.")),
        "{imports:?}"
    );
    assert!(
        exports.iter().any(|e| e.starts_with("wasi:http/handler@0.3.")),
        "{exports:?}"
    );
    assert!(!exports.iter().any(|e| e.starts_with("wasi:http/incoming-handler")));
}
