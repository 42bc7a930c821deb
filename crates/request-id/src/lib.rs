//! Request ids: a caller's `X-Request-Id` is kept when it can be echoed in
//! headers and logs as it is, without escaping. The host applies this rule
//! at its edge; doc-proxy's component applies it again because on Spin and
//! SpinKube no host of ours stands in front of it.

/// The header that carries the id, in the lower case HTTP/2 requires.
pub const HEADER: &str = "x-request-id";

/// The longest id kept; longer ones are replaced.
pub const MAX_LEN: usize = 128;

/// `candidate` if it is 1 to [`MAX_LEN`] characters of `A-Z a-z 0-9 - _ . :`.
pub fn sanitize(candidate: &str) -> Option<&str> {
    let safe = (1..=MAX_LEN).contains(&candidate.len()) && candidate.bytes().all(is_safe);
    safe.then_some(candidate)
}

fn is_safe(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids_are_kept_and_others_refused() {
        assert_eq!(sanitize("abc-1_2.3:4"), Some("abc-1_2.3:4"));
        assert_eq!(sanitize(&"x".repeat(MAX_LEN)).map(str::len), Some(MAX_LEN));
        for bad in ["", "with space", "quote\"", "semi;colon", "é", &"x".repeat(MAX_LEN + 1)] {
            assert_eq!(sanitize(bad), None, "{bad:?}");
        }
    }
}
