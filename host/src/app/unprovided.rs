//! The Spin features this host does not provide, named where a component asks
//! for them by importing their interface, so a Spin app that needs one is
//! refused when it is loaded, with the feature's name, not when its first
//! request fails (the manifest's own keys for them are refused by
//! `app::manifest`). TCP and UDP sockets count: the host gives components
//! outbound HTTP only, so `wasi:sockets` is linked but always denied.

use wasmtime::component::Component;
use wasmtime::Engine;

/// Import name prefixes (before the `@version`) and the feature they mean.
const UNPROVIDED: &[(&str, &str)] = &[
    ("fermyon:spin/key-value", "Spin's key-value store"),
    ("spin:key-value/", "Spin's key-value store"),
    ("wasi:keyvalue/", "wasi:keyvalue stores"),
    ("fermyon:spin/sqlite", "Spin's SQLite databases"),
    ("spin:sqlite/", "Spin's SQLite databases"),
    ("fermyon:spin/redis", "outbound Redis"),
    ("spin:redis/", "outbound Redis"),
    ("fermyon:spin/mqtt", "outbound MQTT"),
    ("spin:mqtt/", "outbound MQTT"),
    ("fermyon:spin/postgres", "outbound PostgreSQL"),
    ("spin:postgres/", "outbound PostgreSQL"),
    ("fermyon:spin/mysql", "outbound MySQL"),
    ("spin:mysql/", "outbound MySQL"),
    ("fermyon:spin/llm", "Spin's AI models (LLM)"),
    (
        "wasi:sockets/tcp",
        "TCP sockets (wasi:sockets; outbound HTTP only here)",
    ),
    (
        "wasi:sockets/udp",
        "UDP sockets (wasi:sockets; outbound HTTP only here)",
    ),
];

/// The feature an import name asks for, if this host does not provide it.
pub fn feature_of(import: &str) -> Option<&'static str> {
    UNPROVIDED
        .iter()
        .find(|(prefix, _)| import.starts_with(prefix))
        .map(|(_, feature)| *feature)
}

/// Refuses a component that imports an interface of a feature this host does
/// not provide, naming the import and the feature.
pub fn check_imports(engine: &Engine, component: &Component) -> anyhow::Result<()> {
    let asked: Vec<String> = component
        .component_type()
        .imports(engine)
        .filter_map(|(name, _)| feature_of(name).map(|feature| format!("{name} ({feature})")))
        .collect();
    if asked.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "the component needs what this host does not provide: {}; it serves wasi:http components \
             with outbound HTTP, wasi:config and Spin's variables",
            asked.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::feature_of;

    #[test]
    fn spin_features_this_host_lacks_are_named() {
        for (import, says) in [
            ("fermyon:spin/key-value@2.0.0", "key-value"),
            ("spin:key-value/key-value@3.0.0", "key-value"),
            ("fermyon:spin/redis@2.0.0", "Redis"),
            ("spin:postgres/postgres@4.0.0", "PostgreSQL"),
            ("fermyon:spin/mqtt@2.0.0", "MQTT"),
            ("fermyon:spin/sqlite@2.0.0", "SQLite"),
            ("wasi:sockets/tcp-create-socket@0.2.0", "TCP"),
            ("wasi:sockets/udp@0.2.6", "UDP"),
        ] {
            assert!(feature_of(import).is_some_and(|f| f.contains(says)), "{import}");
        }
        for provided in [
            "wasi:http/outgoing-handler@0.2.0",
            "wasi:config/store@0.2.0-draft-2024-09-27",
            "fermyon:spin/variables@2.0.0",
            "spin:variables/variables@3.0.0",
            "wasi:sockets/ip-name-lookup@0.2.0",
            "wasi:cli/environment@0.2.6",
        ] {
            assert_eq!(feature_of(provided), None, "{provided}");
        }
    }
}
