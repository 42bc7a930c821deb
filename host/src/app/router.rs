//! Spin's HTTP routes: which component serves a path. A route is exact
//! (`/health`), has named segments (`/users/:id`), or ends in a wildcard
//! (`/api/...`, or `/api/*`; `/...` for everything). As Spin normalizes it, a
//! missing leading `/` is added and one trailing `/` dropped. The most
//! specific route wins, as in Spin: exact before named segments before a
//! wildcard, and a longer fixed prefix before a shorter one. Two routes with
//! the same text: the one declared last serves, the other is reported (Spin
//! logs it as an error and goes on). The route's text is the `route` label of
//! the request metrics, so labels stay bounded whatever paths clients send.

use std::sync::Arc;

/// One segment of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `:name`: any one segment, given to the component as
    /// `spin-path-match-<name>`.
    Named(String),
}

/// A parsed `route = "..."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// As normalized (`spin-matched-route`, and the metric label).
    text: Arc<str>,
    /// As the manifest writes it (`spin-raw-component-route`).
    raw: Arc<str>,
    segments: Vec<Segment>,
    /// Ends in `/...` or `/*`: matches its prefix and anything below it.
    wildcard: bool,
}

impl Route {
    pub fn parse(raw: &str) -> Result<Route, String> {
        if raw.contains(['?', '#', ' ']) {
            return Err(format!("route {raw:?} may not contain '?', '#' or spaces"));
        }
        // Spin's normalizing: a leading '/' added, one trailing '/' dropped
        // (so "/" is the empty route, which serves "/" alone).
        let with_slash = if raw.starts_with('/') {
            raw.to_string()
        } else {
            format!("/{raw}")
        };
        let text = with_slash.strip_suffix('/').unwrap_or(&with_slash).to_string();
        let (prefix, wildcard) = match text.strip_suffix("/...").or_else(|| text.strip_suffix("/*")) {
            Some(prefix) => (prefix, true),
            None => (text.as_str(), false),
        };
        let text = if text.is_empty() { "/".to_string() } else { text.clone() };
        let mut segments = Vec::new();
        for segment in prefix.split('/').filter(|s| !s.is_empty()) {
            if segment == "..." || segment == "*" {
                return Err(format!("route {raw:?}: a wildcard may only end a route"));
            }
            segments.push(match segment.strip_prefix(':') {
                Some("") => return Err(format!("route {raw:?}: a ':' segment needs a name")),
                Some(name) => Segment::Named(name.to_string()),
                None => Segment::Literal(segment.to_string()),
            });
        }
        Ok(Route {
            text: text.into(),
            raw: raw.into(),
            segments,
            wildcard,
        })
    }

    /// The route as normalized: the metric label.
    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// The route as the manifest writes it.
    pub fn raw(&self) -> &Arc<str> {
        &self.raw
    }

    /// Whether a path, split into its segments, is one this route serves.
    fn matches(&self, path_segments: &[&str]) -> bool {
        let fixed = self.segments.len();
        if path_segments.len() < fixed || (!self.wildcard && path_segments.len() != fixed) {
            return false;
        }
        self.segments
            .iter()
            .zip(path_segments)
            .all(|(segment, part)| match segment {
                Segment::Literal(literal) => literal == part,
                Segment::Named(_) => true,
            })
    }

    /// Higher is more specific: exact over wildcard, then more fixed
    /// segments, then literals over named segments.
    fn specificity(&self) -> (bool, usize, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (!self.wildcard, self.segments.len(), literals)
    }

    /// The route as written without a trailing `/...`, as Spin's
    /// `spin-component-route` header gives it (a written `/*` stays).
    pub fn fixed_prefix(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }
}

/// A matched route: its target and what Spin tells the component about it.
#[derive(Debug)]
pub struct Matched<'a, T> {
    pub route: &'a Route,
    pub target: &'a T,
    /// The path below the route's fixed part (`spin-path-info`).
    pub path_info: String,
    /// Each `:name` segment's name and the path segment it matched.
    pub named: Vec<(String, String)>,
}

/// Routes in match order.
#[derive(Debug)]
pub struct Router<T> {
    routes: Vec<(Route, T)>,
}

/// A route given twice: which target lost it, and which serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate<T> {
    pub route: String,
    pub unused: T,
    pub serving: T,
}

impl<T: Clone> Router<T> {
    /// The routes in match order. Of two with the same text as written the
    /// last declared serves, in the first's place, and the other is
    /// returned, as Spin resolves them.
    pub fn new(routes: Vec<(Route, T)>) -> (Router<T>, Vec<Duplicate<T>>) {
        let mut kept: Vec<(Route, T)> = Vec::new();
        let mut duplicates = Vec::new();
        for (route, target) in routes {
            match kept.iter_mut().find(|(seen, _)| seen.raw == route.raw) {
                Some((_, serving)) => {
                    duplicates.push(Duplicate {
                        route: route.raw.to_string(),
                        unused: serving.clone(),
                        serving: target.clone(),
                    });
                    *serving = target;
                }
                None => kept.push((route, target)),
            }
        }
        kept.sort_by_key(|(route, _)| std::cmp::Reverse(route.specificity()));
        (Router { routes: kept }, duplicates)
    }
}

impl<T> Router<T> {
    /// The same routes, each to `f` of its target.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Router<U> {
        Router {
            routes: self
                .routes
                .into_iter()
                .map(|(route, target)| (route, f(target)))
                .collect(),
        }
    }

    pub fn find(&self, path: &str) -> Option<Matched<'_, T>> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (route, target) = self.routes.iter().find(|(route, _)| route.matches(&parts))?;
        let path_info = if route.wildcard {
            below_segments(path, route.segments.len()).to_string()
        } else {
            String::new()
        };
        let named = route
            .segments
            .iter()
            .zip(&parts)
            .filter_map(|(segment, part)| match segment {
                Segment::Named(name) => Some((name.clone(), part.to_string())),
                Segment::Literal(_) => None,
            })
            .collect();
        Some(Matched {
            route,
            target,
            path_info,
            named,
        })
    }
}

/// What follows the first `count` segments of `path`, as written (from
/// the slash before the next segment; empty when nothing follows).
fn below_segments(path: &str, count: usize) -> &str {
    let mut rest = path;
    for _ in 0..count {
        rest = rest.trim_start_matches('/');
        rest = &rest[rest.find('/').unwrap_or(rest.len())..];
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[&str]) -> Router<usize> {
        let (router, duplicates) = Router::new(
            routes
                .iter()
                .enumerate()
                .map(|(i, r)| (Route::parse(r).unwrap(), i))
                .collect(),
        );
        assert!(duplicates.is_empty());
        router
    }

    fn label(router: &Router<usize>, path: &str) -> Option<String> {
        router.find(path).map(|m| m.route.text().to_string())
    }

    #[test]
    fn the_most_specific_route_wins() {
        let r = router(&["/...", "/upstream/...", "/upstream/health", "/users/:id", "/users/me"]);
        assert_eq!(label(&r, "/42").as_deref(), Some("/..."));
        assert_eq!(label(&r, "/").as_deref(), Some("/..."));
        assert_eq!(label(&r, "/upstream").as_deref(), Some("/upstream/..."));
        assert_eq!(label(&r, "/upstream/42").as_deref(), Some("/upstream/..."));
        assert_eq!(label(&r, "/upstream/health").as_deref(), Some("/upstream/health"));
        assert_eq!(label(&r, "/users/7").as_deref(), Some("/users/:id"));
        assert_eq!(label(&r, "/users/me").as_deref(), Some("/users/me"));
        assert_eq!(label(&r, "/users/7/x").as_deref(), Some("/..."));
        assert_eq!(label(&r, "/upstreamx/1").as_deref(), Some("/..."));
    }

    #[test]
    fn without_a_catch_all_unknown_paths_match_nothing() {
        let r = router(&["/api/...", "/exact"]);
        assert!(r.find("/other").is_none());
        assert!(r.find("/exact/more").is_none());
        assert!(r.find("/").is_none());
    }

    #[test]
    fn path_info_is_the_part_below_the_route_as_spin_gives_it() {
        let r = router(&["/foo/...", "/exact", "/..."]);
        assert_eq!(r.find("/foo").unwrap().path_info, "");
        assert_eq!(r.find("/foo/").unwrap().path_info, "/");
        assert_eq!(r.find("/foo/bar").unwrap().path_info, "/bar");
        assert_eq!(r.find("/foo/bar/").unwrap().path_info, "/bar/");
        assert_eq!(r.find("/foo/a/b").unwrap().path_info, "/a/b");
        assert_eq!(r.find("/exact").unwrap().path_info, "");
        assert_eq!(r.find("/42").unwrap().path_info, "/42");
        assert_eq!(r.find("/").unwrap().path_info, "/");
        assert_eq!(r.find("/foo/...").unwrap().route.fixed_prefix(), "/foo");
    }

    #[test]
    fn routes_are_normalized_and_a_trailing_star_is_a_wildcard() {
        let r = router(&["api/*", "/exact/", "/"]);
        assert_eq!(label(&r, "/api/x/y").as_deref(), Some("/api/*"));
        assert_eq!(r.find("/api/x/y").unwrap().path_info, "/x/y");
        assert_eq!(r.find("/api/x/y").unwrap().route.raw().as_ref(), "api/*");
        assert_eq!(
            r.find("/api/x/y").unwrap().route.fixed_prefix(),
            "api/*",
            "a written /* stays"
        );
        assert_eq!(label(&r, "/exact").as_deref(), Some("/exact"));
        assert_eq!(label(&r, "/").as_deref(), Some("/"));
        assert!(r.find("/other").is_none(), "\"/\" serves / alone");
    }

    #[test]
    fn of_two_routes_written_alike_the_last_serves_in_the_first_place() {
        let (r, duplicates) = Router::new(vec![
            (Route::parse("/a").unwrap(), "first"),
            (Route::parse("/b").unwrap(), "b"),
            (Route::parse("/a").unwrap(), "last"),
        ]);
        assert_eq!(*r.find("/a").unwrap().target, "last");
        assert_eq!(
            duplicates,
            vec![Duplicate {
                route: "/a".into(),
                unused: "first",
                serving: "last"
            }]
        );
    }

    #[test]
    fn named_segments_are_matched_by_name() {
        let r = router(&["/base/:path_segment/:path_end/...", "/users/:id"]);
        let matched = r.find("/base/path/end/rest").unwrap();
        assert_eq!(
            matched.named,
            vec![
                ("path_segment".to_string(), "path".to_string()),
                ("path_end".to_string(), "end".to_string())
            ]
        );
        assert_eq!(matched.path_info, "/rest");
        assert_eq!(matched.route.fixed_prefix(), "/base/:path_segment/:path_end");
        assert_eq!(
            r.find("/users/7").unwrap().named,
            vec![("id".to_string(), "7".to_string())]
        );
    }

    #[test]
    fn bad_routes_are_refused() {
        for bad in ["/a/.../b", "/a/*/b", "/a/:", "/a b", "/a?x"] {
            assert!(Route::parse(bad).is_err(), "{bad}");
        }
    }
}
