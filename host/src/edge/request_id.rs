//! Request ids at the edge: a caller's `X-Request-Id` is kept when the shared
//! rule (`request_id::sanitize`) accepts it; otherwise the host makes one.

pub use request_id::HEADER;

/// The caller's id if the shared rule accepts it, else a new random one (32 hex digits).
pub fn from_caller(value: Option<&http::HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(request_id::sanitize)
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids_are_kept_and_others_replaced() {
        let header = |s: &str| http::HeaderValue::from_str(s).unwrap();
        assert_eq!(from_caller(Some(&header("abc-1_2.3:4"))), "abc-1_2.3:4");
        for bad in ["", "with space", "quote\"", &"x".repeat(129)] {
            let id = from_caller(Some(&header(bad)));
            assert_ne!(id, bad);
            assert_eq!(id.len(), 32, "{bad:?}");
        }
        assert_eq!(from_caller(None).len(), 32);
    }
}
