//! Writes the fixtures into a directory, for checks outside Rust (the container
//! image test compares served documents with them byte for byte).
//! `cargo run -p doc-fixtures --example write_fixtures -- DIR`

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: write_fixtures DIR");
        return std::process::ExitCode::from(2);
    };
    match doc_fixtures::write_all(std::path::Path::new(&dir)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("write_fixtures: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
