//! What the host does to a component's bytes before compiling them, so that
//! what Spin runs, this host runs:
//!
//! - **A `wasm32-wasip1` core module becomes a component**, as Spin makes it
//!   one at load: wit-component encodes it with the WASI preview1 reactor
//!   adapter (wasmtime's own build of it). Rust apps from Spin 3.x templates
//!   are such modules; the component type information spin-sdk embeds says
//!   what they import and export.
//! - **`@0.3.0-rc-2026-03-15` names become `@0.3.0`** at the component's
//!   outer imports and exports, for the `wasi:` packages of WASI 0.3. Spin's
//!   current templates (spin-sdk 6, the `spin-sdk` 4 Python package) build
//!   against that release candidate; its types are those of the released
//!   0.3.0 that wasmtime implements, but for `wasi:cli/exit.exit-with-code`
//!   being unstable in the candidate (a component that imports it is linked
//!   and type-checked like any other). Spin serves the candidate through
//!   bindings for it over the same implementation; renaming is the same
//!   thing done once, at load, and instantiation still checks every type.
//!
//! Both are deterministic, so the compile cache keyed by the original bytes
//! stays right.

use anyhow::Context as _;
use std::borrow::Cow;

/// The release candidate Spin's current templates target.
const RC: &str = "@0.3.0-rc-2026-03-15";
const RELEASED: &str = "@0.3.0";
/// The packages whose release-candidate names are renamed.
const WASI_P3_PACKAGES: [&str; 6] = [
    "wasi:http/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

/// What was done to the bytes, for the load log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Adapted {
    pub componentized: bool,
    pub renamed_rc: bool,
}

/// `bytes` as a component this host links: a core module componentized,
/// release-candidate names renamed; anything else unchanged.
pub fn adapt(bytes: &[u8]) -> anyhow::Result<(Cow<'_, [u8]>, Adapted)> {
    let mut adapted = Adapted::default();
    let mut bytes = Cow::Borrowed(bytes);
    if wasmparser::Parser::is_core_wasm(&bytes) {
        bytes = Cow::Owned(componentize(&bytes)?);
        adapted.componentized = true;
    }
    if wasmparser::Parser::is_component(&bytes) && contains(&bytes, RC.as_bytes()) {
        if let Some(renamed) = rename_rc(&bytes)? {
            bytes = Cow::Owned(renamed);
            adapted.renamed_rc = true;
        }
    }
    Ok((bytes, adapted))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// A core module (with spin-sdk's embedded component type) as a component.
fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(module)
        .context("reading the core module's component type (a wasm32-wasip1 module must be built with spin-sdk 2 or later, which embeds it)")?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        .context("adding the WASI preview1 adapter")?
        .encode()
        .context("turning the wasm32-wasip1 module into a component")
}

/// The release candidate's name of an import or export, renamed.
fn released(name: &str) -> Option<String> {
    let is_p3 = WASI_P3_PACKAGES.iter().any(|p| name.starts_with(p));
    (is_p3 && name.ends_with(RC)).then(|| format!("{}{RELEASED}", &name[..name.len() - RC.len()]))
}

/// Renames the outer component's release-candidate imports and exports
/// (nested components keep theirs: their names are matched among
/// themselves); `None` when there is none to rename.
fn rename_rc(component: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    use wasm_encoder::reencode::ReencodeComponent;
    let mut renamer = Renamer::default();
    let mut out = wasm_encoder::Component::new();
    renamer
        .parse_component(&mut out, wasmparser::Parser::new(0), component)
        .map_err(|e| anyhow::anyhow!("renaming the component's WASI 0.3 release-candidate names: {e:?}"))?;
    Ok((renamer.renamed > 0).then(|| out.finish()))
}

#[derive(Default)]
struct Renamer {
    depth: usize,
    renamed: usize,
}

impl Renamer {
    fn name<'a>(&mut self, name: &'a str) -> Cow<'a, str> {
        match released(name).filter(|_| self.depth == 0) {
            Some(renamed) => {
                self.renamed += 1;
                Cow::Owned(renamed)
            }
            None => Cow::Borrowed(name),
        }
    }
}

impl wasm_encoder::reencode::Reencode for Renamer {
    type Error = std::convert::Infallible;
}

impl wasm_encoder::reencode::ReencodeComponent for Renamer {
    fn push_depth(&mut self) {
        self.depth += 1;
    }

    fn pop_depth(&mut self) {
        self.depth -= 1;
    }

    fn parse_component_import_section(
        &mut self,
        imports: &mut wasm_encoder::ComponentImportSection,
        section: wasmparser::ComponentImportSectionReader<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        for import in section {
            let import = import?;
            let ty = self.component_type_ref(import.ty)?;
            let name = self.name(import.name.0);
            imports.import(&name, ty);
        }
        Ok(())
    }

    fn parse_component_export(
        &mut self,
        exports: &mut wasm_encoder::ComponentExportSection,
        export: wasmparser::ComponentExport<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        let index = self.component_external_index(export.kind, export.index);
        let ty = export.ty.map(|t| self.component_type_ref(t)).transpose()?;
        let name = self.name(export.name.0);
        exports.export(&name, export.kind.into(), index, ty);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wasi_p3_release_candidate_names_are_renamed() {
        assert_eq!(
            released("wasi:http/handler@0.3.0-rc-2026-03-15").as_deref(),
            Some("wasi:http/handler@0.3.0")
        );
        assert_eq!(
            released("wasi:cli/environment@0.3.0-rc-2026-03-15").as_deref(),
            Some("wasi:cli/environment@0.3.0")
        );
        assert_eq!(released("wasi:http/handler@0.3.0"), None);
        assert_eq!(released("wasi:http/incoming-handler@0.2.6"), None);
        assert_eq!(released("spin:sqlite/sqlite@3.1.0"), None);
        assert_eq!(released("wasi:keyvalue/store@0.3.0-rc-2026-03-15"), None);
    }

    /// The outer import and export names, as the component declares them.
    fn outer_names(component: &[u8]) -> (Vec<String>, Vec<String>) {
        let (mut imports, mut exports, mut depth) = (Vec::new(), Vec::new(), 0);
        for payload in wasmparser::Parser::new(0).parse_all(component) {
            match payload.unwrap() {
                wasmparser::Payload::ModuleSection { .. } | wasmparser::Payload::ComponentSection { .. } => depth += 1,
                wasmparser::Payload::End(_) => depth -= 1,
                wasmparser::Payload::ComponentImportSection(section) if depth == 0 => {
                    imports.extend(section.into_iter().map(|i| i.unwrap().name.0.to_string()))
                }
                wasmparser::Payload::ComponentExportSection(section) if depth == 0 => {
                    exports.extend(section.into_iter().map(|e| e.unwrap().name.0.to_string()))
                }
                _ => {}
            }
        }
        (imports, exports)
    }

    /// A component that imports an interface and exports one under the
    /// release candidate's names declares the released names after
    /// adapting, and stays valid; its nested component keeps its own names
    /// (and the argument that satisfies them).
    #[test]
    fn a_release_candidate_component_gets_the_released_names() {
        let wat = r#"(component
            (import "wasi:clocks/monotonic-clock@0.3.0-rc-2026-03-15" (instance $clock
                (export "now" (func (result u64)))))
            (component $inner
                (import "wasi:clocks/monotonic-clock@0.3.0-rc-2026-03-15" (instance))
                (instance $empty)
                (export "wasi:random/random@0.3.0-rc-2026-03-15" (instance $empty))
            )
            (instance $made (instantiate $inner (with "wasi:clocks/monotonic-clock@0.3.0-rc-2026-03-15" (instance $clock))))
            (export "wasi:random/random@0.3.0-rc-2026-03-15" (instance $made "wasi:random/random@0.3.0-rc-2026-03-15"))
        )"#;
        let bytes = wat::parse_str(wat).unwrap();
        let (adapted, how) = adapt(&bytes).unwrap();
        assert!(how.renamed_rc && !how.componentized);
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&adapted)
            .expect("still a valid component");
        let (imports, exports) = outer_names(&adapted);
        assert_eq!(imports, ["wasi:clocks/monotonic-clock@0.3.0"]);
        assert_eq!(exports, ["wasi:random/random@0.3.0"]);
        let text = String::from_utf8_lossy(&adapted);
        assert!(
            text.contains("monotonic-clock@0.3.0-rc-2026-03-15"),
            "the nested component's own name stays"
        );
    }

    #[test]
    fn components_without_candidates_stay_and_modules_become_components() {
        let plain = wat::parse_str("(component)").unwrap();
        let (same, how) = adapt(&plain).unwrap();
        assert_eq!(&*same, &plain[..]);
        assert_eq!(how, Adapted::default());
        let module = wat::parse_str("(module)").unwrap();
        let (component, how) = adapt(&module).unwrap();
        assert!(how.componentized);
        assert!(wasmparser::Parser::is_component(&component));
    }
}
