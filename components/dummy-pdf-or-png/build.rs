//! Writes the fixtures this component serves into OUT_DIR; see `doc-fixtures`.

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    doc_fixtures::write_all(&out).expect("OUT_DIR is writable");
    println!("cargo::rerun-if-changed=build.rs");
}
