//! Outbound allow-lists in Spin's `allowed_outbound_hosts` syntax:
//! `scheme://host[:port]`, where the scheme may be `*`, the host `*` or
//! `*.domain`, and the port `*` or a range `8000..8100` (its end excluded, as
//! Rust's and Spin's ranges are: 8000 to 8099); without a port the scheme's
//! default is meant. The host may be an IP range (`10.0.0.0/8`,
//! `127.0.0.0/24:5432`), which matches IP addresses only, as in Spin.
//! `http` and `https` grant outbound HTTP, `tcp` and `udp` grant
//! `wasi:sockets`, `redis`, `postgres`, `mysql` and `mqtt` grant outbound
//! Redis, PostgreSQL, MySQL and MQTT (`app::factors::services`), and `*`
//! grants them all. Any other scheme is refused when the manifest is read,
//! not at the first call.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemePattern {
    Any,
    /// `http` or `https`: the host's own `--allow-outbound` form.
    AnyHttp,
    Exactly(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`: any name ending in `.example.com`, not the bare domain.
    SubdomainOf(String),
    Exactly(String),
    /// An IP range: matches addresses inside it, never names.
    Range(ipnet::IpNet),
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
            "tcp" => SchemePattern::Exactly("tcp"),
            "udp" => SchemePattern::Exactly("udp"),
            "redis" => SchemePattern::Exactly("redis"),
            "postgres" => SchemePattern::Exactly("postgres"),
            "mysql" => SchemePattern::Exactly("mysql"),
            "mqtt" => SchemePattern::Exactly("mqtt"),
            other => {
                return Err(problem(&format!(
                    "this host provides outbound http, https, tcp, udp, redis, postgres, mysql and mqtt, not {other}"
                )))
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = match ip_range(rest) {
            Some((range, port)) => (HostPattern::Range(range), port),
            None => {
                if rest.contains(['/', '?', '#', '@']) {
                    return Err(problem("a path, query or user info is not allowed"));
                }
                let (host, port) = split_host_port(rest).map_err(|why| problem(&why))?;
                (host_pattern(host).map_err(&problem)?, port)
            }
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
                SchemePattern::Exactly(scheme) => match well_known_port(scheme) {
                    Some(port) => PortPattern::Range(port, port),
                    None => return Err(problem(&format!("with scheme '{scheme}' the port must be given"))),
                },
                SchemePattern::Any | SchemePattern::AnyHttp => {
                    return Err(problem("with scheme '*' the port must be given"))
                }
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
        let any = AllowedHost::parse(&format!("*://{host_port}"))?;
        Ok(AllowedHost {
            scheme: SchemePattern::AnyHttp,
            ..any
        })
    }

    /// Whether a call to `scheme://host:port` is allowed.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = match self.scheme {
            // Every scheme, as Spin's `*` (what the host serves of it is
            // decided where each service is served).
            SchemePattern::Any => true,
            SchemePattern::AnyHttp => matches!(scheme, "http" | "https"),
            SchemePattern::Exactly(wanted) => scheme.eq_ignore_ascii_case(wanted),
        };
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::SubdomainOf(domain) => host
                .strip_suffix(domain.as_str())
                .is_some_and(|h| h.ends_with('.') && h.len() > 1),
            HostPattern::Exactly(wanted) => *wanted == host,
            HostPattern::Range(range) => host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(|ip| range.contains(&ip)),
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Range(low, high) => (low..=high).contains(&port),
        };
        scheme_ok && host_ok && port_ok
    }
}

/// A host: `*`, `*.domain` or a name or address. `self` and `self.alt`
/// grant requests to the app itself (`AllowList::allows_self`).
fn host_pattern(host: &str) -> Result<HostPattern, &'static str> {
    let host = host.to_ascii_lowercase();
    Ok(match host.as_str() {
        "" => return Err("the host is empty"),
        "*" => HostPattern::Any,
        _ => match host.strip_prefix("*.") {
            Some(domain) if !domain.is_empty() && !domain.contains('*') => HostPattern::SubdomainOf(domain.to_string()),
            _ if host.contains('*') => return Err("'*' may only be the whole host or its first label"),
            _ => HostPattern::Exactly(host),
        },
    })
}

/// `10.0.0.0/8`, `127.0.0.0/24:5432` or `2001:db8::/32:443` (an address,
/// '/', a prefix length, then perhaps a port): the range, its host bits
/// cleared as Spin clears them, and the port as written.
fn ip_range(text: &str) -> Option<(ipnet::IpNet, Option<&str>)> {
    let (address, rest) = text.split_once('/')?;
    let (prefix, port) = match rest.split_once(':') {
        Some((prefix, port)) => (prefix, Some(port)),
        None => (rest, None),
    };
    let address: IpAddr = address.trim_matches(['[', ']']).parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let range = ipnet::IpNet::new(address, prefix).ok()?;
    Some((range.trunc(), port))
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

/// The port an HTTP URL without one means: 443 for `https`, 80 otherwise
/// (the one place this rule is written).
pub fn default_port(scheme: &str) -> u16 {
    if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    }
}

/// The port a service's address without one means, as Spin's
/// `well_known_port`: the one place these are written.
pub fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme.to_ascii_lowercase().as_str() {
        "http" => Some(80),
        "https" => Some(443),
        "redis" => Some(6379),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "mqtt" => Some(1883),
        _ => None,
    }
}

impl AllowList {
    pub fn new(entries: Vec<AllowedHost>) -> AllowList {
        AllowList(entries)
    }

    /// Whether `uri` (absolute) may be called.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        let port = uri.port_u16().unwrap_or_else(|| default_port(scheme));
        self.0.iter().any(|entry| entry.allows(scheme, host, port))
    }

    /// Whether a service (Redis and the like) may be called at `host:port`
    /// with `scheme`, the address's own, as Spin's `check_url` decides.
    pub fn allows_service(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.0.iter().any(|entry| entry.allows(scheme, host, port))
    }

    /// Whether a socket may be used with `address` (`tcp` or `udp`), as
    /// Spin decides: an entry for that scheme (or `*`) whose host is the
    /// address itself, a range holding it, or `*` (names never match).
    pub fn allows_socket(&self, protocol: &str, address: SocketAddr) -> bool {
        let host = match address.ip() {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        self.0.iter().any(|entry| entry.allows(protocol, &host, address.port()))
    }

    /// Whether any entry could grant a socket: only then does the component
    /// get `wasi:sockets` at all.
    pub fn grants_sockets(&self) -> bool {
        self.0
            .iter()
            .any(|entry| matches!(entry.scheme, SchemePattern::Any | SchemePattern::Exactly("tcp" | "udp")))
    }

    /// Whether a request to the app itself (a relative URL, or the host
    /// `self.alt`) may be made: as Spin decides, an entry whose host is
    /// `self`, `self.alt` or `*` and whose scheme is http, https or `*`
    /// allows it, whatever its port.
    pub fn allows_self(&self) -> bool {
        self.0.iter().any(|entry| {
            let host = match &entry.host {
                HostPattern::Any => true,
                HostPattern::Exactly(name) => name == "self" || name == "self.alt",
                HostPattern::SubdomainOf(_) | HostPattern::Range(_) => false,
            };
            host && matches!(
                entry.scheme,
                SchemePattern::Any | SchemePattern::AnyHttp | SchemePattern::Exactly("http" | "https")
            )
        })
    }

    /// The entries that grant every scheme to a named destination
    /// (`*://db:5432`), as written: they would grant services this host does
    /// not serve. `*://*:*` (everything, as a development setting) is not
    /// one: it names no service's server.
    pub fn any_scheme_entries(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|entry| {
                entry.scheme == SchemePattern::Any
                    && !(entry.host == HostPattern::Any && entry.port == PortPattern::Any)
            })
            .map(|entry| entry.text.clone())
            .collect()
    }

    /// The entries as written, for the start-up log.
    pub fn describe(&self) -> String {
        self.0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_to_the_app_itself_are_allowed_as_spin_allows_them() {
        let list = |entries: &[&str]| AllowList::new(entries.iter().map(|e| AllowedHost::parse(e).unwrap()).collect());
        assert!(list(&["http://self"]).allows_self());
        assert!(list(&["https://self.alt"]).allows_self());
        assert!(list(&["*://*:*"]).allows_self());
        assert!(list(&["http://*:*"]).allows_self());
        assert!(!list(&["http://example.com"]).allows_self());
        assert!(!list(&["http://*.spin.internal"]).allows_self());
        assert!(!list(&[]).allows_self());
        assert_eq!(
            list(&["*://db:5432", "http://x", "*://*:*"]).any_scheme_entries(),
            ["*://db:5432"]
        );
    }

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
        let amqp = AllowedHost::parse("amqp://127.0.0.1:5672").unwrap_err();
        assert!(amqp.contains("not amqp"), "{amqp}");
        assert!(AllowedHost::parse("mysql://db").is_ok(), "MySQL is served");
        assert!(AllowedHost::parse("mqtt://broker").is_ok(), "MQTT is served");
        for bad in [
            "tcp://db",
            "udp://10.0.0.0/8",
            "http://10.0.0.0/33",
            "http://10.0.0.0/8/x",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sockets_are_granted_by_address_range_and_scheme_as_spin_grants_them() {
        let list = |entries: &[&str]| AllowList::new(entries.iter().map(|e| AllowedHost::parse(e).unwrap()).collect());
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        let any = list(&["*://127.0.0.1:6001"]);
        assert!(any.grants_sockets());
        assert!(any.allows_socket("tcp", at("127.0.0.1:6001")));
        assert!(any.allows_socket("udp", at("127.0.0.1:6001")));
        assert!(!any.allows_socket("tcp", at("127.0.0.2:6001")), "another address");
        assert!(!any.allows_socket("tcp", at("127.0.0.1:6002")), "another port");
        let range = list(&["*://127.0.0.0/24:7"]);
        assert!(range.allows_socket("tcp", at("127.0.0.200:7")));
        assert!(!range.allows_socket("tcp", at("127.0.1.1:7")));
        // Host bits are cleared, as Spin clears them.
        assert!(list(&["tcp://10.1.2.3/8:5432"]).allows_socket("tcp", at("10.200.0.1:5432")));
        assert!(!list(&["tcp://10.0.0.0/8:5432"]).allows_socket("udp", at("10.0.0.1:5432")));
        let v6 = list(&["*://2001:db8::/32:443", "tcp://[::1]:9"]);
        assert!(v6.allows_socket("tcp", at("[2001:db8::7]:443")));
        assert!(!v6.allows_socket("tcp", at("[2001:db9::7]:443")));
        assert!(v6.allows_socket("tcp", at("[::1]:9")));
        // Names never match an address; HTTP-only grants give no sockets.
        assert!(!list(&["*://localhost:6001"]).allows_socket("tcp", at("127.0.0.1:6001")));
        let http = list(&["http://127.0.0.1:80", "https://*:*"]);
        assert!(!http.grants_sockets());
        assert!(!http.allows_socket("tcp", at("127.0.0.1:80")));
        // A range grants HTTP to addresses inside it too.
        assert!(list(&["http://10.0.0.0/8"]).allows(&"http://10.9.9.9/x".parse().unwrap()));
        assert!(!list(&["http://10.0.0.0/8"]).allows(&"http://ten.example/x".parse().unwrap()));
        assert!(!list(&["tcp://10.0.0.1:80"]).allows(&"http://10.0.0.1/".parse().unwrap()));
    }

    #[test]
    fn services_are_granted_by_scheme_with_their_default_ports_as_spin_grants_them() {
        let list = |entries: &[&str]| AllowList::new(entries.iter().map(|e| AllowedHost::parse(e).unwrap()).collect());
        let redis = list(&["redis://cache"]);
        assert!(redis.allows_service("redis", "cache", 6379), "the default port");
        assert!(!redis.allows_service("redis", "cache", 6380));
        assert!(!redis.allows_service("http", "cache", 6379), "another scheme");
        assert!(!redis.allows_service("redis", "other", 6379));
        let any = list(&["*://localhost:7000"]);
        assert!(
            any.allows_service("redis", "localhost", 7000),
            "'*' grants every scheme"
        );
        assert!(any.allows_service("postgres", "LOCALHOST", 7000));
        assert!(!any.allows_service("redis", "localhost", 6379));
        let wild = list(&["redis://*.cache.internal:*", "redis://10.0.0.0/8:6379"]);
        assert!(wild.allows_service("redis", "a.cache.internal", 1));
        assert!(wild.allows_service("redis", "10.1.2.3", 6379));
        assert!(!wild.allows_service("redis", "10.1.2.3", 6380));
        assert!(!list(&["http://cache:6379"]).allows_service("redis", "cache", 6379));
        assert_eq!(well_known_port("REDIS"), Some(6379));
        assert_eq!(well_known_port("mqtt"), Some(1883));
        assert_eq!(well_known_port("tcp"), None);
    }

    #[test]
    fn the_flag_form_allows_both_schemes_on_one_port() {
        let list = AllowList::new(vec![AllowedHost::authority("up:3000").unwrap()]);
        assert!(list.allows(&"http://up:3000/".parse().unwrap()));
        assert!(list.allows(&"https://up:3000/".parse().unwrap()));
        assert!(!list.allows(&"http://up/".parse().unwrap()));
        assert!(!list.allows(&"/relative".parse().unwrap()));
        assert!(!list.grants_sockets(), "the flag grants HTTP only");
    }
}
