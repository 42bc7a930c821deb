//! What Spin tells a component about its request, in headers, and what it
//! answers itself: the request headers Spin's HTTP trigger adds (the full
//! URL, the route as matched, as written and without its wildcard, the path
//! below it, each `:name` segment, the client's address), and the
//! `/.well-known/spin/` endpoints that no route can shadow.
//!
//! One departure from Spin, on purpose: `spin-*` headers a client sent are
//! removed first, so a component cannot be told a route or an address by a
//! client (Spin leaves them beside its own).

use crate::app::router::Matched;
use std::net::SocketAddr;

/// The prefix Spin answers below itself.
pub const WELL_KNOWN: &str = "/.well-known/spin/";
/// Spin's health path: 200 `OK`.
pub const HEALTH: &str = "/.well-known/spin/health";
/// Spin's app information: the app's name and version, as JSON.
pub const INFO: &str = "/.well-known/spin/info";

/// What Spin answers itself for `path`, if it is one of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WellKnown {
    Health,
    Info,
    /// Anything else below the prefix: 404, empty.
    NotFound,
}

impl WellKnown {
    pub fn of(path: &str) -> Option<WellKnown> {
        match path {
            HEALTH => Some(WellKnown::Health),
            INFO => Some(WellKnown::Info),
            _ if path.starts_with(WELL_KNOWN) => Some(WellKnown::NotFound),
            _ => None,
        }
    }

    /// The `route` label of the request metrics.
    pub fn route(&self) -> &'static str {
        match self {
            WellKnown::Health => HEALTH,
            WellKnown::Info => INFO,
            WellKnown::NotFound => WELL_KNOWN,
        }
    }
}

/// Spin's `/.well-known/spin/info` body: pretty JSON, `version` only when
/// the manifest gives one.
pub fn info_body(name: &str, version: &str) -> Vec<u8> {
    let mut info = serde_json::Map::new();
    info.insert("name".into(), name.into());
    if !version.is_empty() {
        info.insert("version".into(), version.into());
    }
    serde_json::to_vec_pretty(&serde_json::Value::Object(info)).expect("a JSON object")
}

/// Gives the component the request as Spin does: any `spin-*` header the
/// client sent is removed, then Spin's own are added.
pub fn add<B, T>(request: &mut http::Request<B>, matched: &Matched<'_, T>, client: Option<SocketAddr>) {
    let forged: Vec<http::HeaderName> = request
        .headers()
        .keys()
        .filter(|name| name.as_str().starts_with("spin-") || name.as_str().starts_with("spin_"))
        .cloned()
        .collect();
    for name in forged {
        request.headers_mut().remove(name);
    }
    for (name, value) in values(request, matched, client) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            request.headers_mut().insert(name, value);
        }
    }
}

/// Spin's headers for `request` matched by `matched`, by name.
fn values<B, T>(
    request: &http::Request<B>,
    matched: &Matched<'_, T>,
    client: Option<SocketAddr>,
) -> Vec<(String, String)> {
    let full_url = format!(
        "{}://{}{}",
        request.uri().scheme_str().unwrap_or("http"),
        request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost"),
        request.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let route = matched.route;
    let mut values = vec![
        ("spin-full-url".to_string(), full_url),
        ("spin-path-info".to_string(), matched.path_info.clone()),
        ("spin-matched-route".to_string(), route.text().to_string()),
        ("spin-raw-component-route".to_string(), route.raw().to_string()),
        ("spin-component-route".to_string(), route.fixed_prefix().to_string()),
        ("spin-base-path".to_string(), "/".to_string()),
    ];
    values.extend(client.map(|addr| ("spin-client-addr".to_string(), addr.to_string())));
    for (name, value) in &matched.named {
        values.push((
            format!("spin-path-match-{}", name.to_ascii_lowercase().replace('_', "-")),
            value.clone(),
        ));
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::router::{Route, Router};

    fn headers_for(route: &str, uri: &str) -> http::HeaderMap {
        let (router, _) = Router::new(vec![(Route::parse(route).unwrap(), ())]);
        let matched = router
            .find(http::Uri::try_from(uri).unwrap().path())
            .expect("the route matches");
        let mut request = http::Request::get(uri)
            .header("host", "example.com:3000")
            .header("spin-path-info", "/forged")
            .header("spin_client_addr", "1.2.3.4:5")
            .body(())
            .unwrap();
        add(&mut request, &matched, Some("127.0.0.1:54321".parse().unwrap()));
        request.headers().clone()
    }

    fn get<'a>(headers: &'a http::HeaderMap, name: &str) -> &'a str {
        headers.get(name).map_or("<absent>", |v| v.to_str().unwrap())
    }

    #[test]
    fn a_wildcard_route_as_spin_reports_it() {
        let h = headers_for("/foo/...", "/foo/bar/?x=1");
        assert_eq!(get(&h, "spin-full-url"), "http://example.com:3000/foo/bar/?x=1");
        assert_eq!(get(&h, "spin-path-info"), "/bar/");
        assert_eq!(get(&h, "spin-matched-route"), "/foo/...");
        assert_eq!(get(&h, "spin-raw-component-route"), "/foo/...");
        assert_eq!(get(&h, "spin-component-route"), "/foo");
        assert_eq!(get(&h, "spin-base-path"), "/");
        assert_eq!(get(&h, "spin-client-addr"), "127.0.0.1:54321");
        assert!(h.get("spin_client_addr").is_none(), "what the client sent is gone");
    }

    #[test]
    fn the_catch_all_and_exact_routes_as_spin_reports_them() {
        let h = headers_for("/...", "/");
        assert_eq!(get(&h, "spin-path-info"), "/");
        assert_eq!(get(&h, "spin-component-route"), "");
        assert_eq!(get(&h, "spin-matched-route"), "/...");
        let h = headers_for("/exact/", "/exact");
        assert_eq!(get(&h, "spin-path-info"), "");
        assert_eq!(get(&h, "spin-matched-route"), "/exact");
        assert_eq!(get(&h, "spin-raw-component-route"), "/exact/");
        let h = headers_for("/api/*", "/api/v1");
        assert_eq!(get(&h, "spin-component-route"), "/api/*", "a written /* stays");
        assert_eq!(get(&h, "spin-path-info"), "/v1");
    }

    #[test]
    fn named_segments_become_path_match_headers() {
        let h = headers_for("/base/:path_segment/:End/...", "/base/path/end/rest");
        assert_eq!(get(&h, "spin-path-match-path-segment"), "path");
        assert_eq!(get(&h, "spin-path-match-end"), "end");
        assert_eq!(get(&h, "spin-path-info"), "/rest");
    }

    #[test]
    fn spins_own_paths_are_answered_before_routes() {
        assert_eq!(WellKnown::of("/.well-known/spin/health"), Some(WellKnown::Health));
        assert_eq!(WellKnown::of("/.well-known/spin/info"), Some(WellKnown::Info));
        assert_eq!(WellKnown::of("/.well-known/spin/health/"), Some(WellKnown::NotFound));
        assert_eq!(WellKnown::of("/.well-known/spin"), None);
        assert_eq!(WellKnown::of("/health"), None);
        let info: serde_json::Value = serde_json::from_slice(&info_body("app", "1.2.0")).unwrap();
        assert_eq!(info, serde_json::json!({"name": "app", "version": "1.2.0"}));
        let info: serde_json::Value = serde_json::from_slice(&info_body("app", "")).unwrap();
        assert_eq!(info, serde_json::json!({"name": "app"}));
    }
}
