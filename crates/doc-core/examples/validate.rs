//! Judges files as the service would: `cargo run -p doc-core --example validate -- FILE...`
//! prints each file's verdict (the kind it would be served as, or why it is
//! refused) and exits 1 if any is refused.

use doc_core::document::pdf::PdfLimits;

fn main() {
    let mut refused = false;
    for path in std::env::args().skip(1) {
        match std::fs::read(&path) {
            Ok(data) => match doc_core::validate(&data, &PdfLimits::default()) {
                Ok(kind) => println!("{path}: ok, {}", kind.mime_type()),
                Err(rejection) => {
                    refused = true;
                    println!("{path}: refused: {rejection}");
                }
            },
            Err(e) => {
                refused = true;
                println!("{path}: cannot read: {e}");
            }
        }
    }
    std::process::exit(i32::from(refused));
}
