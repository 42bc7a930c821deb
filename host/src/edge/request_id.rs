//! Request ids: a caller's `X-Request-Id` is kept when it can be echoed in
//! headers and logs as it is; otherwise the host makes one.

pub const HEADER: &str = "x-request-id";

/// The caller's id if it is 1 to 128 characters of `A-Z a-z 0-9 - _ . :`,
/// else a new random one (32 hex digits).
pub fn from_caller(value: Option<&http::HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .filter(|id| (1..=128).contains(&id.len()) && id.bytes().all(is_safe))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned)
}

fn is_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte)
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
