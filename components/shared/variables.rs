//! The component's settings, read as its manifest's variables through
//! `wasi:config/store`, whose interface is `wit/deps/config/store.wit`: Spin,
//! SpinKube's shim and doc-proxy-host hand a component its
//! `[component.NAME.variables]` that way (and doc-proxy-host `--component`'s
//! `--variable name=value`). One file for both components (doc-proxy and the
//! emulator take it in with `#[path]`); the WIT path is relative to each
//! crate's directory, which sit side by side.

wit_bindgen::generate!({
    path: "../../wit/deps/config",
    world: "imports",
});

use self::wasi::config::store;

/// The variable `name`: `None` when the component has no such variable, the
/// host's reason when it could not be read.
pub fn get(name: &str) -> Result<Option<String>, String> {
    store::get(name).map_err(|error| match error {
        store::Error::Upstream(reason) | store::Error::Io(reason) => format!("{name}: {reason}"),
    })
}
