//! The headers of a successful document response.

use crate::document::DocumentKind;

/// Headers for serving document `id` of `kind` and `len` bytes.
pub fn document_headers(kind: DocumentKind, id: u64, len: usize, request_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", kind.mime_type().into()),
        ("content-length", len.to_string()),
        (
            "content-disposition",
            format!("inline; filename=\"{id}.{}\"", kind.extension()),
        ),
        ("x-content-type-options", "nosniff".into()),
        ("cache-control", "no-store".into()),
        ("x-request-id", request_id.into()),
    ]
}

/// The body of `GET /`.
pub const USAGE: &str = "doc-proxy: GET /{id} returns document {id} (a PDF or PNG) from the upstream, validated.\n\
Example: curl -i http://HOST/42\n\
Errors are application/problem+json (RFC 9457).\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_the_file_by_its_real_kind() {
        let h = document_headers(DocumentKind::Pdf, 42, 1000, "r1");
        assert!(h.contains(&("content-type", "application/pdf".into())));
        assert!(h.contains(&("content-disposition", "inline; filename=\"42.pdf\"".into())));
        assert!(h.contains(&("content-length", "1000".into())));
        let h = document_headers(DocumentKind::Png, 7, 5, "r1");
        assert!(h.contains(&("content-disposition", "inline; filename=\"7.png\"".into())));
    }
}
