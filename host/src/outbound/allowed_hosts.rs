//! Outbound allow-lists in Spin's `allowed_outbound_hosts` syntax:
//! `scheme://host[:port]`, where the scheme may be `*`, the host `*` or
//! `*.domain`, and the port `*` or a range `8000..8100` (its end excluded, as
//! Rust's and Spin's ranges are: 8000 to 8099); without a port the scheme's
//! default is meant. Only `http` and `https` are served by this host
//! (outbound Redis, MySQL, PostgreSQL and MQTT are Spin features it lacks), so
//! other schemes are refused when the manifest is read, not at the first call.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemePattern {
    Any,
    Exactly(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`: any name ending in `.example.com`, not the bare domain.
    SubdomainOf(String),
    Exactly(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// Inclusive at both ends.
    Range(u16, u16),
}

/// One allowed destination pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
    text: String,
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AllowedHost {
    /// Parses one entry, with its `{{ variables }}` already filled in.
    pub fn parse(entry: &str) -> Result<AllowedHost, String> {
        let problem = |why: &str| format!("allowed_outbound_hosts entry {entry:?}: {why}");
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or_else(|| problem("expected scheme://host[:port]"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "*" => SchemePattern::Any,
            "http" => SchemePattern::Exactly("http"),
            "https" => SchemePattern::Exactly("https"),
            other => {
                return Err(problem(&format!(
                    "only http and https outbound are provided by this host, not {other}"
                )))
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if is_ip_range(rest) {
            return Err(problem(
                "IP ranges (CIDR, as Spin allows for TCP sockets) are not provided by this host; name a host",
            ));
        }
        if rest.contains(['/', '?', '#', '@']) {
            return Err(problem("a path, query or user info is not allowed"));
        }
        let (host, port) = split_host_port(rest).map_err(|why| problem(&why))?;
        let host = host.to_ascii_lowercase();
        if host == "self" || host == "self.alt" {
            return Err(problem(
                "self-requests (relative URLs to the same app) are not provided by this host; name the listener's address instead",
            ));
        }
        let host = match host.as_str() {
            "" => return Err(problem("the host is empty")),
            "*" => HostPattern::Any,
            _ => match host.strip_prefix("*.") {
                Some(domain) if !domain.is_empty() && !domain.contains('*') => {
                    HostPattern::SubdomainOf(domain.to_string())
                }
                _ if host.contains('*') => return Err(problem("'*' may only be the whole host or its first label")),
                _ => HostPattern::Exactly(host),
            },
        };
        let port = match port {
            Some("*") => PortPattern::Any,
            Some(text) => match text.split_once("..") {
                Some((low, end)) => {
                    let (low, end) = (parse_port(low, &problem)?, parse_port(end, &problem)?);
                    if low >= end {
                        return Err(problem("the port range is empty (its end is excluded)"));
                    }
                    PortPattern::Range(low, end - 1)
                }
                None => {
                    let port = parse_port(text, &problem)?;
                    PortPattern::Range(port, port)
                }
            },
            None => match scheme {
                SchemePattern::Exactly("https") => PortPattern::Range(443, 443),
                SchemePattern::Exactly(_) => PortPattern::Range(80, 80),
                SchemePattern::Any => return Err(problem("with scheme '*' the port must be given")),
            },
        };
        Ok(AllowedHost {
            scheme,
            host,
            port,
            text: entry.to_string(),
        })
    }

    /// `host:port` allowed for any http(s) scheme: the host's own
    /// `--allow-outbound` form.
    pub fn authority(host_port: &str) -> Result<AllowedHost, String> {
        AllowedHost::parse(&format!("*://{host_port}"))
    }

    /// Whether a call to `scheme://host:port` is allowed.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = match self.scheme {
            SchemePattern::Any => matches!(scheme, "http" | "https"),
            SchemePattern::Exactly(wanted) => scheme.eq_ignore_ascii_case(wanted),
        };
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::SubdomainOf(domain) => host
                .strip_suffix(domain.as_str())
                .is_some_and(|h| h.ends_with('.') && h.len() > 1),
            HostPattern::Exactly(wanted) => *wanted == host,
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Range(low, high) => (low..=high).contains(&port),
        };
        scheme_ok && host_ok && port_ok
    }
}

/// `10.0.0.0/8` or `127.0.0.0/24:5432`: an address, '/', a prefix length.
fn is_ip_range(text: &str) -> bool {
    let Some((address, rest)) = text.split_once('/') else {
        return false;
    };
    let prefix = rest.split(':').next().unwrap_or_default();
    address.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok()
        && !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_digit())
}

fn parse_port(text: &str, problem: &impl Fn(&str) -> String) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| problem(&format!("{text:?} is not a port")))
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(v6) = text.strip_prefix('[') {
        let (address, after) = v6.split_once(']').ok_or("an IPv6 address needs its closing ']'")?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("expected ':' after the IPv6 address")?),
        };
        // Kept with brackets, as URIs carry it.
        return Ok((&text[..address.len() + 2], port));
    }
    Ok(match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    })
}

/// A component's allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowList(Vec<AllowedHost>);

impl AllowList {
    pub fn new(entries: Vec<AllowedHost>) -> AllowList {
        AllowList(entries)
    }

    /// Whether `uri` (absolute) may be called.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        let port = uri
            .port_u16()
            .unwrap_or(if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 });
        self.0.iter().any(|entry| entry.allows(scheme, host, port))
    }

    /// The entries as written, for the start-up log.
    pub fn describe(&self) -> String {
        self.0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entry: &str, url: &str) -> bool {
        AllowList::new(vec![AllowedHost::parse(entry).unwrap()]).allows(&url.parse().unwrap())
    }

    #[test]
    fn spins_forms_match_what_they_say() {
        assert!(allows("http://127.0.0.1:3000", "http://127.0.0.1:3000/42"));
        assert!(!allows("http://127.0.0.1:3000", "https://127.0.0.1:3000/42"));
        assert!(!allows("http://127.0.0.1:3000", "http://127.0.0.1:3001/42"));
        assert!(allows("https://docs.example", "https://DOCS.example/a"));
        assert!(!allows("https://docs.example", "https://docs.example:8443/a"));
        assert!(allows("http://upstream", "http://upstream/a"));
        assert!(allows("*://upstream:8080", "https://upstream:8080/"));
        assert!(allows("https://*.example.com", "https://a.b.example.com/"));
        assert!(!allows("https://*.example.com", "https://example.com/"));
        assert!(!allows("https://*.example.com", "https://badexample.com/"));
        assert!(allows("http://*:*", "http://anything:1/"));
        assert!(allows("http://10.0.0.1:8000..8002", "http://10.0.0.1:8000/"));
        assert!(allows("http://10.0.0.1:8000..8002", "http://10.0.0.1:8001/"));
        assert!(
            !allows("http://10.0.0.1:8000..8002", "http://10.0.0.1:8002/"),
            "the end is excluded"
        );
        assert!(!allows("http://10.0.0.1:8000..8002", "http://10.0.0.1:7999/"));
        assert!(allows("http://[::1]:3000", "http://[::1]:3000/"));
        assert!(allows("http://127.0.0.1:3000/", "http://127.0.0.1:3000/"));
    }

    #[test]
    fn what_this_host_cannot_honour_is_refused_when_read() {
        for bad in [
            "127.0.0.1:3000",
            "redis://cache:6379",
            "postgres://db",
            "http://self",
            "*://upstream",
            "http://up:3000/docs",
            "http://user@up",
            "http://up:0",
            "http://up:99999",
            "http://up:9..1",
            "http://up:9..9",
            "http://a.*.com",
            "http://",
            "http://[::1",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad}");
        }
        let range = AllowedHost::parse("*://127.0.0.0/24:5432").unwrap_err();
        assert!(range.contains("IP ranges"), "{range}");
        let tcp = AllowedHost::parse("tcp://127.0.0.1:5432").unwrap_err();
        assert!(tcp.contains("not tcp"), "{tcp}");
    }

    #[test]
    fn the_flag_form_allows_both_schemes_on_one_port() {
        let list = AllowList::new(vec![AllowedHost::authority("up:3000").unwrap()]);
        assert!(list.allows(&"http://up:3000/".parse().unwrap()));
        assert!(list.allows(&"https://up:3000/".parse().unwrap()));
        assert!(!list.allows(&"http://up/".parse().unwrap()));
        assert!(!list.allows(&"/relative".parse().unwrap()));
    }
}
