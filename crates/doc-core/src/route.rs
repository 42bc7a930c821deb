//! Which of the service's routes a request names, and whether its id is canonical.

use std::fmt;

/// A request the component answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: a short usage hint.
    Usage,
    /// `GET /{id}`: fetch and validate document `id`.
    Document(u64),
}

/// Why a request does not name a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    BadId(IdError),
    NotFound,
    MethodNotAllowed,
}

/// Why a path segment is not a document id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    NotDecimal,
    LeadingZero,
    Zero,
    TooLarge,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdError::NotDecimal => "the id must be a decimal number (digits 0-9 only)",
            IdError::LeadingZero => "the id must not have leading zeros",
            IdError::Zero => "the id must be positive",
            IdError::TooLarge => "the id must fit in 64 bits (at most 18446744073709551615)",
        })
    }
}

/// The methods every route accepts; sent in `Allow` with a 405.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// Routes `method` and `path` (a query string, if any, is ignored).
pub fn route(method: &str, path: &str) -> Result<Route, RouteError> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let Some(rest) = path.strip_prefix('/') else {
        return Err(RouteError::NotFound);
    };
    if rest.contains('/') {
        return Err(RouteError::NotFound);
    }
    if method != "GET" && method != "HEAD" {
        return Err(RouteError::MethodNotAllowed);
    }
    if rest.is_empty() {
        return Ok(Route::Usage);
    }
    parse_id(rest).map(Route::Document).map_err(RouteError::BadId)
}

/// Parses a canonical positive decimal u64: digits only, no sign, no leading zero.
pub fn parse_id(text: &str) -> Result<u64, IdError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::NotDecimal);
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(IdError::LeadingZero);
    }
    match text.parse::<u64>() {
        Ok(0) => Err(IdError::Zero),
        Ok(id) => Ok(id),
        Err(_) => Err(IdError::TooLarge),
    }
}

/// Accepts a caller's request id when it is short and made of safe characters,
/// so it can be echoed in headers and logs without escaping (the rule is
/// `request_id::sanitize`, shared with the host).
pub use request_id::sanitize as sanitize_request_id;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ids_parse() {
        assert_eq!(parse_id("1"), Ok(1));
        assert_eq!(parse_id("42"), Ok(42));
        assert_eq!(parse_id("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn non_canonical_ids_are_refused() {
        assert_eq!(parse_id(""), Err(IdError::NotDecimal));
        assert_eq!(parse_id("0"), Err(IdError::Zero));
        assert_eq!(parse_id("007"), Err(IdError::LeadingZero));
        assert_eq!(parse_id("+1"), Err(IdError::NotDecimal));
        assert_eq!(parse_id("-1"), Err(IdError::NotDecimal));
        assert_eq!(parse_id("1.0"), Err(IdError::NotDecimal));
        assert_eq!(parse_id(" 1"), Err(IdError::NotDecimal));
        assert_eq!(parse_id("%31"), Err(IdError::NotDecimal));
        assert_eq!(parse_id("١"), Err(IdError::NotDecimal)); // Arabic-Indic digit one
        assert_eq!(parse_id("18446744073709551616"), Err(IdError::TooLarge));
    }

    #[test]
    fn routes() {
        assert_eq!(route("GET", "/"), Ok(Route::Usage));
        assert_eq!(route("HEAD", "/42"), Ok(Route::Document(42)));
        assert_eq!(route("GET", "/42?x=1"), Ok(Route::Document(42)));
        assert_eq!(route("GET", "/abc"), Err(RouteError::BadId(IdError::NotDecimal)));
        assert_eq!(route("GET", "/42/"), Err(RouteError::NotFound));
        assert_eq!(route("GET", "/a/b"), Err(RouteError::NotFound));
        assert_eq!(route("POST", "/42"), Err(RouteError::MethodNotAllowed));
        assert_eq!(route("DELETE", "/"), Err(RouteError::MethodNotAllowed));
        assert_eq!(route("POST", "/a/b"), Err(RouteError::NotFound));
    }
}
