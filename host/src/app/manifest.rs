//! Reads a Spin application manifest (`spin.toml`, manifest version 2) as
//! Spin reads it, so one file describes the app for `spin up`, SpinKube and
//! this host alike: `[[trigger.http]]` routes (to a component or a
//! `static_response`), `[application.trigger.http]` `base`, `[component.*]`
//! `source` (a local file or `{ url, digest }`), `files` and
//! `exclude_files`, `allowed_outbound_hosts` (with `{{ variable }}`
//! templates), `key_value_stores`, `sqlite_databases`, `environment`,
//! component `variables`, and `[variables]` with `default` or `required`,
//! each overridable by `SPIN_VARIABLE_<NAME>` as in Spin.
//! `[component.*.tool.doc-proxy-host]` holds this host's own per-component
//! settings (`max_concurrent_requests`, `instance_reuse`, `verdict_cache`, `probe`); Spin
//! ignores `tool` tables.
//!
//! A key this host does not know is logged as a warning and ignored. A key
//! Spin acts on that this host does not serve (other triggers, middleware
//! `dependencies`, WAGI, AI models, component dependencies) stops it: serving
//! such an app would change what it does without a word.

use crate::app::reuse::MAX_INSTANCE_REUSE;
use crate::outbound::allowed_hosts::AllowedHost;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// The `tool` table this host reads.
pub const TOOL: &str = "doc-proxy-host";

/// What the manifest asks this host to serve.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    pub name: String,
    /// `[application] version`, empty when not given.
    pub version: String,
    pub components: Vec<ComponentSpec>,
    /// `(route, what serves it)`, in manifest order.
    pub routes: Vec<(String, RouteTarget)>,
    /// Components with an HTTP trigger, private ones included: those a
    /// `<id>.spin.internal` request may reach.
    pub triggered: Vec<String>,
    /// Keys ignored, and components never routed.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComponentSpec {
    pub id: String,
    /// Resolved against the manifest's directory; for a source by URL, the
    /// copy in the cache once fetched (`app::sources`).
    pub source: PathBuf,
    /// `source = { url, digest }`.
    pub remote: Option<RemoteSource>,
    pub allowed_outbound_hosts: Vec<AllowedHost>,
    pub environment: Vec<(String, String)>,
    /// Component variables, templates filled in (`wasi:config/store`).
    pub variables: Vec<(String, String)>,
    /// Requests this component serves at once, at most (within the host's
    /// own limit); `None` means the host's limit.
    pub max_concurrent_requests: Option<u32>,
    /// Requests one instance serves, one after another (`app::reuse`);
    /// `None` is a fresh instance per request, as Spin does.
    pub instance_reuse: Option<u32>,
    /// The component speaks the verdict-cache protocol and gets a cache of
    /// its own (`outbound::verdict`); off unless the manifest opts in.
    pub verdict_cache: bool,
    /// Files mounted read-only in the guest (`files`), as written, relative
    /// to `dir`.
    pub files: Vec<FileMount>,
    /// The manifest's directory.
    pub dir: PathBuf,
    /// Glob patterns of files left out of `files` (`exclude_files`).
    pub exclude_files: Vec<String>,
    /// Key-value stores it may open (`key_value_stores`).
    pub key_value_stores: Vec<String>,
    /// SQLite databases it may open (`sqlite_databases`).
    pub sqlite_databases: Vec<String>,
    /// A path the host asks (GET) of a new version of this component before
    /// swapping it in at a reload; an answer below 500 lets it in
    /// (`app::verify`).
    pub probe: Option<String>,
}

/// A component's `source = { url = "...", digest = "sha256:..." }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSource {
    pub url: String,
    pub digest: String,
}

/// One entry of a component's `files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMount {
    /// A file, a directory, or a glob, relative to the manifest's directory;
    /// it lands at its own relative path.
    Pattern(String),
    /// `{ source, destination }`: a file or directory put at `destination`.
    Placed { source: String, destination: String },
}

/// What a route is served by.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteTarget {
    /// The component with this id.
    Component(String),
    /// A fixed answer (`static_response`), the same for every method.
    Static(StaticResponse),
}

/// A trigger's `static_response = { status_code, headers, body }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Reads `path`; `lookup` is the process environment (`SPIN_VARIABLE_*`).
pub fn read(path: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Result<AppSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, dir, lookup).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a manifest whose relative paths start at `dir`.
pub fn parse(text: &str, dir: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Result<AppSpec, String> {
    let root: Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut warnings = Vec::new();
    let mut unknown = |path: String| warnings.push(format!("{path}: not used by this host, ignored"));

    match root.get("spin_manifest_version") {
        Some(Value::Integer(2)) => {}
        Some(other) => return Err(format!("spin_manifest_version {other} is not supported (only 2)")),
        None => return Err("spin_manifest_version = 2 is missing (version 1 manifests are not supported)".into()),
    }
    let (mut name, mut version) = (String::new(), String::new());
    for (key, value) in &root {
        match key.as_str() {
            "spin_manifest_version" | "variables" | "trigger" | "component" => {}
            "application" => (name, version) = read_application(value, &mut unknown)?,
            other => unknown(other.to_string()),
        }
    }
    let variables = resolve_variables(root.get("variables"), lookup, &mut unknown)?;
    let (routes, triggered) = read_triggers(root.get("trigger"), &mut unknown)?;

    let mut components = Vec::new();
    for (id, value) in table(root.get("component"), "component")?.into_iter().flatten() {
        components.push(read_component(id, value, dir, &variables, &mut unknown)?);
    }
    for component in &triggered {
        if !components.iter().any(|c| &c.id == component) {
            return Err(format!("a trigger names component {component:?}, which is not defined"));
        }
    }
    for component in &components {
        if !triggered.contains(&component.id) {
            warnings.push(format!("component.{}: no trigger serves it", component.id));
        }
    }
    if routes.is_empty() {
        return Err("no [[trigger.http]] route: nothing to serve".into());
    }
    Ok(AppSpec {
        name,
        version,
        components,
        routes,
        triggered,
        warnings,
    })
}

/// `[application]`: its name and version.
fn read_application(value: &Value, unknown: &mut impl FnMut(String)) -> Result<(String, String), String> {
    let application = value.as_table().ok_or("application must be a table")?;
    for (key, value) in application {
        match key.as_str() {
            "name" | "version" | "description" | "authors" | "tool" => {}
            "trigger" => {
                for (trigger, settings) in value.as_table().into_iter().flatten() {
                    if trigger != "http" {
                        return Err(unsupported_trigger(trigger));
                    }
                    read_http_settings(settings, unknown)?;
                }
            }
            other => unknown(format!("application.{other}")),
        }
    }
    let text = |key: &str| application.get(key).and_then(Value::as_str).map(str::to_string);
    Ok((
        text("name").unwrap_or_else(|| "unnamed".into()),
        text("version").unwrap_or_default(),
    ))
}

/// `[application.trigger.http]`: only `base`, and only `/`, as Spin
/// accepts it (any other base is an error there: each route must carry it).
fn read_http_settings(value: &Value, unknown: &mut impl FnMut(String)) -> Result<(), String> {
    let table = value.as_table().ok_or("application.trigger.http must be a table")?;
    for (key, value) in table {
        match (key.as_str(), value.as_str()) {
            ("base", Some("/")) => unknown(
                "application.trigger.http.base: deprecated; '/' is what every route is relative to anyway".into(),
            ),
            ("base", _) => {
                return Err(
                    "application.trigger.http.base is deprecated and only '/' is accepted: prepend the base to each \
                     [[trigger.http]] route, as Spin requires"
                        .into(),
                )
            }
            (other, _) => {
                return Err(format!(
                    "application.trigger.http.{other}: Spin allows only `base` here"
                ))
            }
        }
    }
    Ok(())
}

fn unsupported_trigger(kind: &str) -> String {
    format!("trigger.{kind}: only HTTP triggers are served by this host")
}

/// `[variables]`, each from `SPIN_VARIABLE_<NAME>`, else its default.
fn resolve_variables(
    value: Option<&Value>,
    lookup: &dyn Fn(&str) -> Option<String>,
    unknown: &mut impl FnMut(String),
) -> Result<Vec<(String, String)>, String> {
    let mut resolved = Vec::new();
    for (name, declaration) in table(value, "variables")?.into_iter().flatten() {
        check_variable_name(name)?;
        let declaration = declaration
            .as_table()
            .ok_or_else(|| format!("variables.{name} must be a table, e.g. {{ default = \"...\" }}"))?;
        let mut default = None;
        let mut required = false;
        for (key, value) in declaration {
            match (key.as_str(), value) {
                ("default", Value::String(text)) => default = Some(text.clone()),
                ("required", Value::Boolean(flag)) => required = *flag,
                ("secret", Value::Boolean(_)) | ("description", Value::String(_)) => {}
                ("default" | "required" | "secret" | "description", _) => {
                    return Err(format!("variables.{name}.{key} has the wrong type"))
                }
                (other, _) => unknown(format!("variables.{name}.{other}")),
            }
        }
        if required == default.is_some() {
            return Err(format!("variables.{name}: give either a default or required = true"));
        }
        let from_env = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
        let value = lookup(&from_env)
            .or(default)
            .ok_or_else(|| format!("variables.{name} is required: set {from_env}"))?;
        resolved.push((name.clone(), value));
    }
    Ok(resolved)
}

/// Spin's rule: lower-case letters, digits and `_`, starting with a letter.
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "variable name {name:?}: use lower-case letters, digits and '_', starting with a letter"
        ))
    }
}

/// `[[trigger.http]]` as `(route, what serves it)`, and the components with
/// a trigger; private routes serve no path but their components may be
/// reached by `<id>.spin.internal`.
type Triggers = (Vec<(String, RouteTarget)>, Vec<String>);

fn read_triggers(value: Option<&Value>, unknown: &mut impl FnMut(String)) -> Result<Triggers, String> {
    let mut routes = Vec::new();
    let mut triggered = Vec::new();
    for (kind, triggers) in table(value, "trigger")?.into_iter().flatten() {
        if kind != "http" {
            return Err(unsupported_trigger(kind));
        }
        let triggers = triggers
            .as_array()
            .ok_or("trigger.http must be an array: [[trigger.http]]")?;
        for (index, trigger) in triggers.iter().enumerate() {
            let at = format!("trigger.http[{index}]");
            let trigger = trigger.as_table().ok_or_else(|| format!("{at} must be a table"))?;
            let mut route = None;
            let mut component = None;
            let mut fixed = None;
            for (key, value) in trigger {
                match (key.as_str(), value) {
                    ("route", Value::String(text)) => route = Some(text.clone()),
                    ("route", Value::Table(t)) if t.get("private") == Some(&Value::Boolean(true)) && t.len() == 1 => {}
                    ("route", _) => return Err(format!("{at}.route must be a path or {{ private = true }}")),
                    ("component", Value::String(id)) => component = Some(id.clone()),
                    ("component", _) => {
                        return Err(format!(
                            "{at}.component: inline components are not supported; name a [component.*]"
                        ))
                    }
                    ("static_response", Value::Table(t)) => fixed = Some(static_response(t, &at)?),
                    ("static_response", _) => return Err(format!("{at}.static_response must be a table")),
                    ("id", _) => {}
                    ("executor", Value::Table(t))
                        if matches!(t.get("type").and_then(Value::as_str), Some("spin" | "http")) => {}
                    ("executor", _) => {
                        return Err(format!(
                            "{at}.executor: only the http (spin) executor is served by this host, not WAGI"
                        ))
                    }
                    ("dependencies", _) => {
                        return Err(format!(
                            "{at}.dependencies: trigger dependencies (HTTP middleware) are not served by this host; \
                             serving the component without them would skip them"
                        ))
                    }
                    (other, _) => unknown(format!("{at}.{other}")),
                }
            }
            let target = match (component, fixed) {
                (Some(id), None) => {
                    triggered.push(id.clone());
                    RouteTarget::Component(id)
                }
                (None, Some(fixed)) => RouteTarget::Static(fixed),
                (None, None) => return Err(format!("{at} names neither a component nor a static_response")),
                (Some(_), Some(_)) => return Err(format!("{at} names both a component and a static_response")),
            };
            match (route, target) {
                (Some(route), target) => routes.push((route, target)),
                (None, RouteTarget::Static(_)) => return Err(format!("{at}: a static_response needs a route")),
                (None, RouteTarget::Component(_)) => {}
            }
        }
    }
    Ok((routes, triggered))
}

/// `static_response = { status_code = 200, headers = { ... }, body = "..." }`.
fn static_response(table: &Table, at: &str) -> Result<StaticResponse, String> {
    let at = format!("{at}.static_response");
    let mut fixed = StaticResponse {
        status: 200,
        headers: Vec::new(),
        body: String::new(),
    };
    for (key, value) in table {
        match key.as_str() {
            "status_code" => {
                fixed.status = value
                    .as_integer()
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| (100..=999).contains(n))
                    .ok_or_else(|| format!("{at}.status_code must be an HTTP status"))?
            }
            "headers" => {
                for (name, value) in string_table(value, &format!("{at}.headers"))? {
                    if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                        || http::HeaderValue::from_str(&value).is_err()
                    {
                        return Err(format!("{at}.headers: {name:?} = {value:?} is not a valid header"));
                    }
                    fixed.headers.push((name, value));
                }
            }
            "body" => {
                fixed.body = value
                    .as_str()
                    .ok_or_else(|| format!("{at}.body must be a string"))?
                    .to_string()
            }
            // Spin ignores what else the table holds.
            _ => {}
        }
    }
    Ok(fixed)
}

fn read_component(
    id: &str,
    value: &Value,
    dir: &Path,
    variables: &[(String, String)],
    unknown: &mut impl FnMut(String),
) -> Result<ComponentSpec, String> {
    let at = format!("component.{id}");
    let ok_id = id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok_id {
        return Err(format!(
            "{at}: ids are lower-case letters, digits and '-', starting with a letter"
        ));
    }
    let component = value.as_table().ok_or_else(|| format!("{at} must be a table"))?;
    let mut spec = ComponentSpec {
        id: id.to_string(),
        source: PathBuf::new(),
        remote: None,
        allowed_outbound_hosts: Vec::new(),
        environment: Vec::new(),
        variables: Vec::new(),
        max_concurrent_requests: None,
        instance_reuse: None,
        verdict_cache: false,
        files: Vec::new(),
        dir: dir.to_path_buf(),
        exclude_files: Vec::new(),
        key_value_stores: Vec::new(),
        sqlite_databases: Vec::new(),
        probe: None,
    };
    for (key, value) in component {
        let here = format!("{at}.{key}");
        match key.as_str() {
            "source" => match value {
                Value::String(path) => spec.source = dir.join(path),
                Value::Table(remote) if remote.contains_key("url") => {
                    let field = |key: &str| {
                        remote
                            .get(key)
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .ok_or_else(|| format!("{here}: a source by URL needs `url` and `digest` strings"))
                    };
                    let digest = field("digest")?;
                    if !digest.starts_with("sha256:") {
                        return Err(format!(
                            "{here}: invalid `digest` {digest:?}; must start with 'sha256:'"
                        ));
                    }
                    spec.remote = Some(RemoteSource {
                        url: field("url")?,
                        digest,
                    });
                }
                _ => {
                    return Err(format!(
                        "{here}: a local file or {{ url, digest }} is supported here, not a registry package"
                    ))
                }
            },
            "allowed_outbound_hosts" => {
                for entry in strings(value, &here)? {
                    spec.allowed_outbound_hosts.push(AllowedHost::parse(
                        &expand(&entry, variables).map_err(|e| format!("{here}: {e}"))?,
                    )?);
                }
            }
            "environment" => spec.environment = string_table(value, &here)?,
            "variables" => {
                for (name, template) in string_table(value, &here)? {
                    check_variable_name(&name)?;
                    let filled = expand(&template, variables).map_err(|e| format!("{here}.{name}: {e}"))?;
                    spec.variables.push((name, filled));
                }
            }
            "tool" => {
                for (tool, settings) in value.as_table().into_iter().flatten() {
                    if tool == TOOL {
                        read_tool(settings, &format!("{here}.{tool}"), &mut spec, unknown)?;
                    }
                }
            }
            // `spin build`'s and documentation's business, not a server's.
            "build" | "description" => {}
            "key_value_stores" => spec.key_value_stores = labels(value, &here)?,
            "sqlite_databases" => spec.sqlite_databases = labels(value, &here)?,
            "files" => spec.files = file_mounts(value, &here)?,
            "exclude_files" => spec.exclude_files = strings(value, &here)?,
            "ai_models" | "dependencies" => {
                let empty =
                    value.as_array().is_some_and(Vec::is_empty) || value.as_table().is_some_and(Table::is_empty);
                if !empty {
                    return Err(format!(
                        "{here}: not provided by this host (it serves wasi:http components with outbound HTTP)"
                    ));
                }
            }
            "dependencies_inherit_configuration" if value.as_bool() == Some(false) => {}
            "allowed_http_hosts" => return Err(format!("{here} is manifest version 1; use allowed_outbound_hosts")),
            _ => unknown(here),
        }
    }
    if spec.source.as_os_str().is_empty() && spec.remote.is_none() {
        return Err(format!("{at}.source is missing"));
    }
    Ok(spec)
}

/// `files = ["static/**/*", { source = "assets", destination = "/" }]`.
fn file_mounts(value: &Value, at: &str) -> Result<Vec<FileMount>, String> {
    let entries = value.as_array().ok_or_else(|| format!("{at} must be a list"))?;
    entries
        .iter()
        .map(|entry| match entry {
            Value::String(pattern) => Ok(FileMount::Pattern(pattern.clone())),
            Value::Table(table) => {
                let field = |key: &str| {
                    table
                        .get(key)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| format!("{at}: a placement needs `source` and `destination` strings"))
                };
                if let Some(other) = table.keys().find(|k| !matches!(k.as_str(), "source" | "destination")) {
                    return Err(format!(
                        "{at}: a placement has `source` and `destination`, not `{other}`"
                    ));
                }
                Ok(FileMount::Placed {
                    source: field("source")?,
                    destination: field("destination")?,
                })
            }
            _ => Err(format!(
                "{at}: each entry is a path or glob, or {{ source, destination }}"
            )),
        })
        .collect()
}

/// A list of store or database labels, each as Spin spells them.
fn labels(value: &Value, at: &str) -> Result<Vec<String>, String> {
    let labels = strings(value, at)?;
    for label in &labels {
        let ok = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(format!("{at}: {label:?} is not a label (letters, digits, '_' and '-')"));
        }
    }
    Ok(labels)
}

/// This host's own settings of one component.
fn read_tool(
    value: &Value,
    at: &str,
    spec: &mut ComponentSpec,
    unknown: &mut impl FnMut(String),
) -> Result<(), String> {
    for (key, value) in value.as_table().ok_or_else(|| format!("{at} must be a table"))? {
        match key.as_str() {
            "max_concurrent_requests" => {
                spec.max_concurrent_requests = Some(
                    value
                        .as_integer()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(|| format!("{at}.max_concurrent_requests must be 1..=10000"))?,
                )
            }
            "instance_reuse" => {
                let uses = value
                    .as_integer()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (1..=MAX_INSTANCE_REUSE).contains(n))
                    .ok_or_else(|| {
                        format!("{at}.instance_reuse must be 1..={MAX_INSTANCE_REUSE} (requests one instance serves)")
                    })?;
                spec.instance_reuse = (uses > 1).then_some(uses);
            }
            "verdict_cache" => {
                spec.verdict_cache = value
                    .as_bool()
                    .ok_or_else(|| format!("{at}.verdict_cache must be true or false"))?
            }
            "probe" => {
                let path = value
                    .as_str()
                    .filter(|path| path.starts_with('/') && path.parse::<http::uri::PathAndQuery>().is_ok())
                    .ok_or_else(|| format!("{at}.probe must be a path starting with '/', e.g. \"/health\""))?;
                spec.probe = Some(path.to_string());
            }
            other => unknown(format!("{at}.{other}")),
        }
    }
    Ok(())
}

/// Fills in `{{ name }}` from the application's variables.
pub fn expand(template: &str, variables: &[(String, String)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{template:?}: '{{{{' without '}}}}'"))?;
        let name = after[..end].trim();
        let value = variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("{template:?} uses variable {name:?}, which [variables] does not declare"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn table<'a>(value: Option<&'a Value>, at: &str) -> Result<Option<&'a Table>, String> {
    value
        .map(|v| v.as_table().ok_or_else(|| format!("{at} must be a table")))
        .transpose()
}

fn strings(value: &Value, at: &str) -> Result<Vec<String>, String> {
    value
        .as_array()
        .and_then(|items| items.iter().map(|v| v.as_str().map(str::to_string)).collect())
        .ok_or_else(|| format!("{at} must be a list of strings"))
}

fn string_table(value: &Value, at: &str) -> Result<Vec<(String, String)>, String> {
    value
        .as_table()
        .and_then(|t| {
            t.iter()
                .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .ok_or_else(|| format!("{at} must be a table of strings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const TWO_COMPONENTS: &str = r#"
spin_manifest_version = 2
[application]
name = "two"
[variables]
upstream_host = { default = "127.0.0.1:8080" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "proxy"
[[trigger.http]]
route = "/upstream/..."
component = "upstream"
[component.proxy]
source = "target/proxy.wasm"
allowed_outbound_hosts = ["http://{{ upstream_host }}"]
environment = { UPSTREAM_URL = "http://127.0.0.1:8080/upstream" }
variables = { api_token = "Bearer {{token}}" }
[component.proxy.tool.doc-proxy-host]
max_concurrent_requests = 64
verdict_cache = true
[component.proxy.build]
command = "make"
[component.upstream]
source = "/abs/upstream.wasm"
"#;

    #[test]
    fn a_two_component_app_is_read_whole() {
        let env = |name: &str| match name {
            "SPIN_VARIABLE_TOKEN" => Some("t0k".to_string()),
            "SPIN_VARIABLE_UPSTREAM_HOST" => Some("127.0.0.1:9000".to_string()),
            _ => None,
        };
        let app = parse(TWO_COMPONENTS, Path::new("/app"), &env).unwrap();
        assert_eq!(app.name, "two");
        assert_eq!(
            app.routes,
            vec![
                ("/...".to_string(), RouteTarget::Component("proxy".to_string())),
                (
                    "/upstream/...".to_string(),
                    RouteTarget::Component("upstream".to_string())
                )
            ]
        );
        let proxy = &app.components[0];
        assert_eq!(proxy.source, Path::new("/app/target/proxy.wasm"));
        assert_eq!(proxy.allowed_outbound_hosts[0].to_string(), "http://127.0.0.1:9000");
        assert_eq!(proxy.environment[0].0, "UPSTREAM_URL");
        assert_eq!(
            proxy.variables,
            vec![("api_token".to_string(), "Bearer t0k".to_string())]
        );
        assert_eq!(proxy.max_concurrent_requests, Some(64));
        assert!(proxy.verdict_cache);
        assert!(!app.components[1].verdict_cache, "off unless the manifest opts in");
        assert_eq!(app.components[1].source, Path::new("/abs/upstream.wasm"));
        assert!(app.warnings.is_empty(), "{:?}", app.warnings);
    }

    #[test]
    fn variables_take_defaults_and_required_ones_must_be_set() {
        let error = parse(TWO_COMPONENTS, Path::new("."), &no_env).unwrap_err();
        assert!(error.contains("SPIN_VARIABLE_TOKEN"), "{error}");
        let env = |name: &str| (name == "SPIN_VARIABLE_TOKEN").then(|| "x".to_string());
        let app = parse(TWO_COMPONENTS, Path::new("."), &env).unwrap();
        assert_eq!(
            app.components[0].allowed_outbound_hosts[0].to_string(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn templates_name_declared_variables_only() {
        let vars = vec![("a".to_string(), "1".to_string())];
        assert_eq!(expand("x{{a}}y{{ a }}", &vars).unwrap(), "x1y1");
        assert!(expand("{{ b }}", &vars).is_err());
        assert!(expand("{{ a", &vars).is_err());
    }

    fn minimal(extra: &str) -> String {
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"m\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = \"c.wasm\"\n{extra}"
        )
    }

    #[test]
    fn unknown_keys_warn_and_unsupported_features_fail() {
        let app = parse(
            &minimal("colour = \"blue\"\n[component.c.tool.other]\nx = 1\n"),
            Path::new("."),
            &no_env,
        )
        .unwrap();
        assert_eq!(
            app.warnings,
            vec!["component.c.colour: not used by this host, ignored".to_string()]
        );

        // Stores and databases are granted (the factors check each exists).
        let granted = parse(
            &minimal("key_value_stores = [\"default\"]\nsqlite_databases = [\"default\", \"orders\"]"),
            Path::new("."),
            &no_env,
        )
        .unwrap();
        assert_eq!(granted.components[0].key_value_stores, ["default"]);
        assert_eq!(granted.components[0].sqlite_databases, ["default", "orders"]);
        assert!(parse(&minimal("key_value_stores = [\"a b\"]"), Path::new("."), &no_env).is_err());
        for (extra, says) in [
            ("ai_models = [\"llama2-chat\"]", "ai_models"),
            ("allowed_outbound_hosts = [\"amqp://broker:5672\"]", "amqp"),
            ("allowed_http_hosts = [\"x\"]", "version 1"),
            ("[component.c.dependencies]\n\"a:b/c\" = \"1.0\"", "dependencies"),
            (
                "[[trigger.redis]]\ncomponent = \"c\"\nchannel = \"x\"",
                "only HTTP triggers",
            ),
        ] {
            let error = parse(&minimal(extra), Path::new("."), &no_env).unwrap_err();
            assert!(error.contains(says), "{extra}: {error}");
        }
        // Empty lists are what `spin new` writes: harmless.
        assert!(parse(&minimal("key_value_stores = []"), Path::new("."), &no_env).is_ok());
    }

    #[test]
    fn broken_manifests_say_what_is_wrong() {
        for (text, says) in [
            ("spin_manifest_version = \"1\"", "not supported"),
            ("[application]\nname = \"x\"", "missing"),
            (
                &minimal("").replace("component = \"c\"", "component = \"d\""),
                "not defined",
            ),
            (&minimal("").replace("source = \"c.wasm\"", ""), "source is missing"),
            (
                &minimal("")
                    .replace("[component.c]", "[component.C]")
                    .replace("\"c\"", "\"C\""),
                "lower-case",
            ),
            (
                &minimal("[component.c.tool.doc-proxy-host]\nmax_concurrent_requests = 0"),
                "1..=10000",
            ),
            (&minimal("[variables]\nv = {}"), "either a default"),
            (&minimal("[variables]\nBad = { default = \"1\" }"), "lower-case"),
            (
                &minimal("").replace("[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n", ""),
                "no [[trigger.http]]",
            ),
        ] {
            let error = parse(text, Path::new("."), &no_env).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn private_routes_serve_nothing_and_unrouted_components_warn() {
        let text = minimal(
            "[component.d]\nsource = \"d.wasm\"\n[[trigger.http]]\nroute = { private = true }\ncomponent = \"d\"\n",
        );
        let app = parse(&text, Path::new("."), &no_env).unwrap();
        assert_eq!(app.routes.len(), 1);
        assert_eq!(
            app.triggered,
            ["c", "d"],
            "a private route's component may still be chained to"
        );
        assert!(app.warnings.is_empty(), "{:?}", app.warnings);
        let unrouted = parse(
            &minimal("[component.e]\nsource = \"e.wasm\"\n"),
            Path::new("."),
            &no_env,
        )
        .unwrap();
        assert_eq!(unrouted.warnings, vec!["component.e: no trigger serves it".to_string()]);
    }

    #[test]
    fn the_repositorys_manifests_are_read() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in ["spin.toml", "components/dummy-pdf-or-png/spin.toml", "dev/spin.toml"] {
            let app = read(&repo.join(file), &no_env).unwrap_or_else(|e| panic!("{e}"));
            assert!(app.warnings.is_empty(), "{file}: {:?}", app.warnings);
        }
    }
}
