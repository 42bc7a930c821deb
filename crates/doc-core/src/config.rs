//! The component's configuration. Each setting has one name here (`KNOBS`,
//! `UPSTREAM_URL`); the component reads it as the Spin variable of that name
//! lower-cased (`max_attempts`, through `wasi:config/store`), which a manifest
//! maps from its `[variables]` and `SPIN_VARIABLE_MAX_ATTEMPTS` overrides.
//! Native tools (bench/native-proxy) read the upper-case names from the
//! environment. Every value is bounded; a value out of bounds is an error,
//! never clamped silently.

use crate::document::pdf::PdfLimits;
use crate::retry::RetryPolicy;
use std::fmt;
use std::time::Duration;

/// One configuration knob: its variable, default, bounds and meaning (for
/// errors, and docs/configuration.md through [`settings_reference`]).
pub struct Knob {
    pub name: &'static str,
    pub default: u64,
    pub min: u64,
    pub max: u64,
    pub help: &'static str,
}

pub const MAX_ATTEMPTS: Knob = Knob {
    name: "MAX_ATTEMPTS",
    default: 3,
    min: 1,
    max: 10,
    help: "Attempts per request, the first included, while attempts fail for transport reasons (5xx, connection, time)",
};
pub const MAX_CONTENT_ATTEMPTS: Knob = Knob {
    name: "MAX_CONTENT_ATTEMPTS",
    default: 5,
    min: 1,
    max: 10,
    help: "Attempts per request while the upstream's documents are rejected (corrupt, truncated, mislabelled); retried at once, without backoff, within the host's retry budget",
};
pub const DEADLINE_MS: Knob = Knob {
    name: "DEADLINE_MS",
    default: 5_000,
    min: 100,
    max: 60_000,
    help: "Overall deadline per request, backoff included",
};
pub const ATTEMPT_TIMEOUT_MS: Knob = Knob {
    name: "ATTEMPT_TIMEOUT_MS",
    default: 2_000,
    min: 50,
    max: 60_000,
    help: "One attempt: connect, headers and the whole body",
};
pub const CONNECT_TIMEOUT_MS: Knob = Knob {
    name: "CONNECT_TIMEOUT_MS",
    default: 1_000,
    min: 10,
    max: 30_000,
    help: "TCP connect per attempt",
};
pub const BACKOFF_BASE_MS: Knob = Knob {
    name: "BACKOFF_BASE_MS",
    default: 50,
    min: 0,
    max: 10_000,
    help: "Backoff before the first retry; doubles per retry, drawn from [d/2, d]",
};
pub const BACKOFF_MAX_MS: Knob = Knob {
    name: "BACKOFF_MAX_MS",
    default: 500,
    min: 0,
    max: 30_000,
    help: "Backoff ceiling",
};
pub const MAX_DOCUMENT_BYTES: Knob = Knob {
    name: "MAX_DOCUMENT_BYTES",
    default: 10 * 1024 * 1024,
    min: 1024,
    max: 100 * 1024 * 1024,
    help: "Larger documents are refused, by `Content-Length` before reading, or as soon as the body passes the cap",
};

impl Knob {
    /// The component variable that carries this knob (`max_attempts`).
    pub fn variable_name(&self) -> String {
        variable_name(self.name)
    }
}

/// The component variable that carries the setting `name`: the name,
/// lower-cased, as Spin variable names must be. The one place the two
/// spellings meet.
pub fn variable_name(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// All numeric knobs, in the order the README documents them.
pub const KNOBS: [&Knob; 8] = [
    &MAX_ATTEMPTS,
    &MAX_CONTENT_ATTEMPTS,
    &DEADLINE_MS,
    &ATTEMPT_TIMEOUT_MS,
    &CONNECT_TIMEOUT_MS,
    &BACKOFF_BASE_MS,
    &BACKOFF_MAX_MS,
    &MAX_DOCUMENT_BYTES,
];

pub const UPSTREAM_URL: &str = "UPSTREAM_URL";
pub const DEFAULT_UPSTREAM_URL: &str = "http://127.0.0.1:3000";

/// The component settings table of docs/configuration.md: `upstream_url`,
/// then every knob, by variable name, with its default, bounds and meaning.
pub fn settings_reference() -> String {
    let mut table = String::from("| variable | default | bounds | meaning |\n|---|---|---|---|\n");
    table.push_str(&format!(
        "| `{}` | `{DEFAULT_UPSTREAM_URL}` | http/https URL | Where documents come from: \
         `{{upstream_url}}/{{id}}`. In `spin.toml` it is also the allow-list entry, so there it has no path |\n",
        variable_name(UPSTREAM_URL)
    ));
    for knob in KNOBS {
        table.push_str(&format!(
            "| `{}` | {} | {}–{} | {} |\n",
            knob.variable_name(),
            knob.default,
            bound(knob.min),
            bound(knob.max),
            knob.help
        ));
    }
    table
}

/// A bound as people write it: whole KiB and MiB by unit.
fn bound(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => n.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub upstream: UpstreamUrl,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    pub max_document_bytes: u64,
    pub pdf_limits: PdfLimits,
}

/// `http[s]://authority[/base-path]`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    pub scheme: String,
    pub authority: String,
    pub base_path: String,
}

impl UpstreamUrl {
    pub fn parse(text: &str) -> Result<UpstreamUrl, String> {
        let (scheme, rest) = text.split_once("://").ok_or("expected http://host[:port][/path]")?;
        if scheme != "http" && scheme != "https" {
            return Err(format!("scheme must be http or https, not {scheme:?}"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority_ok = !authority.is_empty()
            && authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
        if !authority_ok {
            return Err(format!("invalid host {authority:?} (no user info, no spaces)"));
        }
        if path.contains(['?', '#', ' ']) {
            return Err("the base path may not contain '?', '#' or spaces".into());
        }
        Ok(UpstreamUrl {
            scheme: scheme.into(),
            authority: authority.into(),
            base_path: path.trim_end_matches('/').into(),
        })
    }

    /// The path (with base path) at which the upstream serves document `id`.
    pub fn document_path(&self, id: u64) -> String {
        format!("{}/{id}", self.base_path)
    }
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.base_path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a setting is looked up: by its name, or by its variable's.
type Naming = fn(&str) -> String;

fn read_knob(lookup: &impl Fn(&str) -> Option<String>, naming: Naming, knob: &Knob) -> Result<u64, ConfigError> {
    let key = naming(knob.name);
    let Some(raw) = lookup(&key) else {
        return Ok(knob.default);
    };
    let value: u64 = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{key}={raw:?} is not a whole number")))?;
    if !(knob.min..=knob.max).contains(&value) {
        return Err(ConfigError(format!(
            "{key}={value} is outside {}..={}",
            knob.min, knob.max
        )));
    }
    Ok(value)
}

/// The retry policy from each knob's value, as `value` gives it (read from
/// the environment, or the defaults).
pub fn retry_policy<E>(value: impl Fn(&Knob) -> Result<u64, E>) -> Result<RetryPolicy, E> {
    let ms = |knob: &Knob| value(knob).map(Duration::from_millis);
    Ok(RetryPolicy {
        max_attempts: value(&MAX_ATTEMPTS)? as u32,
        max_content_attempts: value(&MAX_CONTENT_ATTEMPTS)? as u32,
        deadline: ms(&DEADLINE_MS)?,
        attempt_timeout: ms(&ATTEMPT_TIMEOUT_MS)?,
        backoff_base: ms(&BACKOFF_BASE_MS)?,
        backoff_max: ms(&BACKOFF_MAX_MS)?,
    })
}

impl Config {
    /// Reads the configuration through `get`, by variable name
    /// (`max_attempts`): the component's variables, in production.
    pub fn from_variables(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::read(get, variable_name)
    }

    /// Reads the configuration through `lookup`, by setting name
    /// (`MAX_ATTEMPTS`): an environment, for native tools.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::read(lookup, str::to_owned)
    }

    fn read(lookup: impl Fn(&str) -> Option<String>, naming: Naming) -> Result<Config, ConfigError> {
        let upstream_key = naming(UPSTREAM_URL);
        let url = lookup(&upstream_key).unwrap_or_else(|| DEFAULT_UPSTREAM_URL.into());
        let upstream = UpstreamUrl::parse(url.trim()).map_err(|e| ConfigError(format!("{upstream_key}: {e}")))?;
        let knob = |knob: &Knob| read_knob(&lookup, naming, knob);
        let retry = retry_policy(knob)?;
        if retry.backoff_max < retry.backoff_base {
            return Err(ConfigError(format!(
                "{} must be at least {}",
                naming(BACKOFF_MAX_MS.name),
                naming(BACKOFF_BASE_MS.name)
            )));
        }
        Ok(Config {
            upstream,
            retry,
            connect_timeout: Duration::from_millis(knob(&CONNECT_TIMEOUT_MS)?),
            max_document_bytes: knob(&MAX_DOCUMENT_BYTES)?,
            pdf_limits: PdfLimits::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_variables(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let c = config(&[]).unwrap();
        assert_eq!(c.retry, RetryPolicy::default());
        assert_eq!(c.max_document_bytes, 10 * 1024 * 1024);
        assert_eq!(c.upstream.to_string(), DEFAULT_UPSTREAM_URL);
        assert_eq!(c.connect_timeout, Duration::from_secs(1));
    }

    #[test]
    fn values_are_read_by_variable_name_and_bounded() {
        let c = config(&[
            ("max_attempts", "5"),
            ("max_content_attempts", "7"),
            ("deadline_ms", "800"),
            ("connect_timeout_ms", "300"),
            ("max_document_bytes", "2048"),
            ("upstream_url", "http://up:3000/docs/"),
        ])
        .unwrap();
        assert_eq!(c.retry.max_attempts, 5);
        assert_eq!(c.retry.max_content_attempts, 7);
        assert_eq!(c.retry.deadline, Duration::from_millis(800));
        assert_eq!(c.connect_timeout, Duration::from_millis(300));
        assert_eq!(c.max_document_bytes, 2048);
        assert_eq!(c.upstream.document_path(7), "/docs/7");
        assert!(config(&[("max_content_attempts", "0")]).is_err());
        assert!(config(&[("max_attempts", "0")]).is_err());
        assert!(config(&[("max_attempts", "11")]).is_err());
        assert!(config(&[("deadline_ms", "abc")]).is_err());
        assert!(config(&[("max_document_bytes", "1")]).is_err());
        assert!(config(&[("backoff_base_ms", "900"), ("backoff_max_ms", "100")]).is_err());
        // The errors name the variable the value came from.
        let error = config(&[("max_attempts", "11")]).unwrap_err().to_string();
        assert!(error.starts_with("max_attempts=11 "), "{error}");
        let error = config(&[("upstream_url", "ftp://x")]).unwrap_err().to_string();
        assert!(error.starts_with("upstream_url: "), "{error}");
        // Upper-case names are not variables: they are not read.
        assert_eq!(config(&[("MAX_ATTEMPTS", "5")]).unwrap().retry.max_attempts, 3);
    }

    #[test]
    fn every_knob_is_read_from_its_lower_case_variable() {
        for knob in KNOBS {
            let name = knob.variable_name();
            assert_eq!(name, knob.name.to_lowercase());
            let error = config(&[(name.as_str(), "x")]).unwrap_err().to_string();
            assert!(error.starts_with(&format!("{name}=")), "{error}");
        }
        assert_eq!(variable_name(UPSTREAM_URL), "upstream_url");
    }

    #[test]
    fn native_tools_read_the_setting_names() {
        let c = Config::from_lookup(|k| (k == "MAX_ATTEMPTS").then(|| "4".to_string())).unwrap();
        assert_eq!(c.retry.max_attempts, 4);
        let c = Config::from_lookup(|k| (k == "max_attempts").then(|| "4".to_string())).unwrap();
        assert_eq!(c.retry.max_attempts, 3);
    }

    #[test]
    fn upstream_urls() {
        assert!(UpstreamUrl::parse("ftp://x").is_err());
        assert!(UpstreamUrl::parse("http://").is_err());
        assert!(UpstreamUrl::parse("http://user@host").is_err());
        assert!(UpstreamUrl::parse("http://host/?q").is_err());
        let u = UpstreamUrl::parse("https://[::1]:8443").unwrap();
        assert_eq!(u.authority, "[::1]:8443");
        assert_eq!(u.document_path(1), "/1");
    }
}
