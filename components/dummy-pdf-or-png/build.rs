//! Writes the fixtures this component serves into OUT_DIR; see `doc-fixtures`.

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (name, bytes) in [
        ("dummy.png", doc_fixtures::png()),
        ("dummy.pdf", doc_fixtures::pdf()),
        ("corrupt-dummy.pdf", doc_fixtures::corrupt_pdf()),
    ] {
        std::fs::write(out.join(name), bytes).expect("OUT_DIR is writable");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
