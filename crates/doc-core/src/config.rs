//! The component's configuration, read from environment variables: the one
//! configuration channel that Spin, `wasmtime serve` and our host all provide.
//! Every value is bounded; a value out of bounds is an error, never clamped
//! silently.

use crate::document::pdf::PdfLimits;
use crate::retry::RetryPolicy;
use std::fmt;
use std::time::Duration;

/// One configuration knob: its variable, default and bounds (for docs and errors).
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
    help: "attempts per request, the first included",
};
pub const MAX_CONTENT_ATTEMPTS: Knob = Knob {
    name: "MAX_CONTENT_ATTEMPTS",
    default: 5,
    min: 1,
    max: 10,
    help: "attempts per request while the upstream's documents are rejected (corrupt, truncated, mislabelled); retried at once",
};
pub const DEADLINE_MS: Knob = Knob {
    name: "DEADLINE_MS",
    default: 5_000,
    min: 100,
    max: 60_000,
    help: "overall deadline per request, backoff included",
};
pub const ATTEMPT_TIMEOUT_MS: Knob = Knob {
    name: "ATTEMPT_TIMEOUT_MS",
    default: 2_000,
    min: 50,
    max: 60_000,
    help: "time one attempt may take, body included",
};
pub const CONNECT_TIMEOUT_MS: Knob = Knob {
    name: "CONNECT_TIMEOUT_MS",
    default: 1_000,
    min: 10,
    max: 30_000,
    help: "TCP connect timeout per attempt",
};
pub const BACKOFF_BASE_MS: Knob = Knob {
    name: "BACKOFF_BASE_MS",
    default: 50,
    min: 0,
    max: 10_000,
    help: "backoff before the first retry (jittered, doubles per retry)",
};
pub const BACKOFF_MAX_MS: Knob = Knob {
    name: "BACKOFF_MAX_MS",
    default: 500,
    min: 0,
    max: 30_000,
    help: "backoff ceiling",
};
pub const MAX_DOCUMENT_BYTES: Knob = Knob {
    name: "MAX_DOCUMENT_BYTES",
    default: 10 * 1024 * 1024,
    min: 1024,
    max: 100 * 1024 * 1024,
    help: "largest document served; bigger ones are refused unread",
};

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

fn read_knob(lookup: &impl Fn(&str) -> Option<String>, knob: &Knob) -> Result<u64, ConfigError> {
    let Some(raw) = lookup(knob.name) else {
        return Ok(knob.default);
    };
    let value: u64 = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{}={raw:?} is not a whole number", knob.name)))?;
    if !(knob.min..=knob.max).contains(&value) {
        return Err(ConfigError(format!(
            "{}={value} is outside {}..={}",
            knob.name, knob.min, knob.max
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
    /// Reads the configuration through `lookup` (the environment, in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let url = lookup(UPSTREAM_URL).unwrap_or_else(|| DEFAULT_UPSTREAM_URL.into());
        let upstream = UpstreamUrl::parse(url.trim()).map_err(|e| ConfigError(format!("{UPSTREAM_URL}: {e}")))?;
        let ms = |knob: &Knob| read_knob(&lookup, knob).map(Duration::from_millis);
        let retry = retry_policy(|knob| read_knob(&lookup, knob))?;
        if retry.backoff_max < retry.backoff_base {
            return Err(ConfigError(format!(
                "{} must be at least {}",
                BACKOFF_MAX_MS.name, BACKOFF_BASE_MS.name
            )));
        }
        Ok(Config {
            upstream,
            retry,
            connect_timeout: ms(&CONNECT_TIMEOUT_MS)?,
            max_document_bytes: read_knob(&lookup, &MAX_DOCUMENT_BYTES)?,
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
        Config::from_lookup(|k| map.get(k).cloned())
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
    fn values_are_read_and_bounded() {
        let c = config(&[
            ("MAX_ATTEMPTS", "5"),
            ("MAX_CONTENT_ATTEMPTS", "7"),
            ("DEADLINE_MS", "800"),
            ("UPSTREAM_URL", "http://up:3000/docs/"),
        ])
        .unwrap();
        assert_eq!(c.retry.max_attempts, 5);
        assert_eq!(c.retry.max_content_attempts, 7);
        assert!(config(&[("MAX_CONTENT_ATTEMPTS", "0")]).is_err());
        assert_eq!(c.retry.deadline, Duration::from_millis(800));
        assert_eq!(c.upstream.document_path(7), "/docs/7");
        assert!(config(&[("MAX_ATTEMPTS", "0")]).is_err());
        assert!(config(&[("MAX_ATTEMPTS", "11")]).is_err());
        assert!(config(&[("DEADLINE_MS", "abc")]).is_err());
        assert!(config(&[("MAX_DOCUMENT_BYTES", "1")]).is_err());
        assert!(config(&[("BACKOFF_BASE_MS", "900"), ("BACKOFF_MAX_MS", "100")]).is_err());
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
