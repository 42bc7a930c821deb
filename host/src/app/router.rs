//! Spin's HTTP routes: which component serves a path. A route is exact
//! (`/health`), has named segments (`/users/:id`), or ends in a wildcard
//! (`/api/...`, `/...` for everything). The most specific route wins, as in
//! Spin: exact before named segments before a wildcard, and a longer fixed
//! prefix before a shorter one. The route's text is the `route` label of the
//! request metrics, so labels stay bounded whatever paths clients send.

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
    text: Arc<str>,
    segments: Vec<Segment>,
    /// Ends in `/...`: matches its prefix and anything below it.
    wildcard: bool,
}

impl Route {
    pub fn parse(text: &str) -> Result<Route, String> {
        if !text.starts_with('/') {
            return Err(format!("route {text:?} must start with '/'"));
        }
        if text.contains(['?', '#', ' ']) {
            return Err(format!("route {text:?} may not contain '?', '#' or spaces"));
        }
        let (prefix, wildcard) = match text.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None => (text, false),
        };
        let mut segments = Vec::new();
        for segment in prefix.split('/').filter(|s| !s.is_empty()) {
            if segment == "..." {
                return Err(format!("route {text:?}: '...' may only end a route"));
            }
            segments.push(match segment.strip_prefix(':') {
                Some("") => return Err(format!("route {text:?}: a ':' segment needs a name")),
                Some(name) => Segment::Named(name.to_string()),
                None => Segment::Literal(segment.to_string()),
            });
        }
        Ok(Route {
            text: text.into(),
            segments,
            wildcard,
        })
    }

    /// The route as written: the metric label.
    pub fn text(&self) -> &Arc<str> {
        &self.text
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

    /// The part of the route before a wildcard, as Spin's
    /// `spin-component-route` header gives it.
    pub fn fixed_prefix(&self) -> &str {
        self.text.strip_suffix("/...").unwrap_or(&self.text)
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

impl<T> Router<T> {
    /// Fails on two routes with the same text, as Spin does.
    pub fn new(mut routes: Vec<(Route, T)>) -> Result<Router<T>, String> {
        let mut seen = std::collections::HashSet::new();
        if let Some((twice, _)) = routes.iter().find(|(route, _)| !seen.insert(route.text.clone())) {
            return Err(format!("route {:?} is given twice", &*twice.text));
        }
        routes.sort_by_key(|(route, _)| std::cmp::Reverse(route.specificity()));
        Ok(Router { routes })
    }

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
        let below = &parts[route.segments.len()..];
        let path_info = if route.wildcard && !below.is_empty() {
            format!("/{}", below.join("/"))
        } else if route.wildcard && path.ends_with('/') && path.len() > 1 {
            "/".to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[&str]) -> Router<usize> {
        Router::new(
            routes
                .iter()
                .enumerate()
                .map(|(i, r)| (Route::parse(r).unwrap(), i))
                .collect(),
        )
        .unwrap()
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
    fn path_info_is_the_part_below_the_route() {
        let r = router(&["/upstream/...", "/..."]);
        assert_eq!(r.find("/upstream/a/b").unwrap().path_info, "/a/b");
        assert_eq!(r.find("/upstream").unwrap().path_info, "");
        assert_eq!(r.find("/42").unwrap().path_info, "/42");
        assert_eq!(r.find("/upstream/...").unwrap().route.fixed_prefix(), "/upstream");
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
    fn bad_and_duplicate_routes_are_refused() {
        for bad in ["api", "/a/.../b", "/a/:", "/a b", "/a?x"] {
            assert!(Route::parse(bad).is_err(), "{bad}");
        }
        let twice = vec![
            (Route::parse("/a").unwrap(), 0),
            (Route::parse("/b").unwrap(), 1),
            (Route::parse("/a").unwrap(), 2),
        ];
        assert!(Router::new(twice).is_err());
    }
}
