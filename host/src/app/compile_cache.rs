//! The compile cache: Cranelift's output for a component, kept on disk so a
//! restart does not compile again. What is read back is native code that
//! wasmtime loads without verifying it, so the cache is only used when nobody
//! else can write to it, and each entry is checked against the SHA-256
//! recorded beside it when it was written, then loaded from memory (not
//! mapped from a file that could change after the check).

use sha2::{Digest, Sha256};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wasmtime::Engine;

/// One cache entry: the component with digest `source_sha256`, compiled by an
/// engine with these settings.
pub struct Entry {
    code: PathBuf,
    digest: PathBuf,
}

impl Entry {
    /// The entry in `dir`, which is created private (0700) when missing; `None`,
    /// with a warning, when the directory is not private to this user.
    pub fn new(engine: &Engine, dir: &Path, source_sha256: &str) -> Option<Entry> {
        if let Err(why) = private_dir(dir) {
            tracing::warn!(dir = %dir.display(), reason = %why, "compile cache not used");
            return None;
        }
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let name = format!("{source_sha256}-{:016x}", hasher.finish());
        Some(Entry {
            code: dir.join(format!("{name}.cwasm")),
            digest: dir.join(format!("{name}.sha256")),
        })
    }

    pub fn path(&self) -> &Path {
        &self.code
    }

    /// The cached code, if present and exactly what was written.
    pub fn read(&self) -> Option<Vec<u8>> {
        let code = std::fs::read(&self.code).ok()?;
        let recorded = std::fs::read_to_string(&self.digest).unwrap_or_default();
        if recorded.trim() == hex_sha256(&code) {
            Some(code)
        } else {
            tracing::warn!(file = %self.code.display(), "compile cache entry does not match its digest; compiling again");
            None
        }
    }

    /// Writes `code` and its digest (the digest last: an entry without one is
    /// never read).
    pub fn write(&self, code: &[u8]) -> std::io::Result<()> {
        write_atomically(&self.code, code, 0o600)?;
        write_atomically(&self.digest, hex_sha256(code).as_bytes(), 0o600)
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Creates `dir` (0700) if needed and checks that it belongs to this user and
/// that no one else may write to it.
fn private_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create it: {e}"))?;
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not by this user (uid {me})", meta.uid()));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:o})",
            meta.permissions().mode() & 0o777
        ));
    }
    Ok(())
}

/// Writes `file` atomically with permissions `mode`: cache entries are this
/// user's alone (0600); a `.cwasm` for an image must be readable by the
/// container's user (0644).
pub fn write_atomically(file: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), unique()));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    out.write_all(bytes)?;
    out.sync_all()?;
    std::fs::rename(&tmp, file)
}

/// Distinct temporary names within one process.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::default()
    }

    #[test]
    fn an_entry_reads_back_what_was_written_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let entry = Entry::new(&engine(), &cache, "abc").expect("a private dir");
        assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(entry.read(), None, "empty at first");
        entry.write(b"native code").unwrap();
        assert_eq!(entry.read().as_deref(), Some(&b"native code"[..]));
        assert_eq!(
            std::fs::metadata(entry.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );

        // One byte changed on disk: not loaded.
        std::fs::write(entry.path(), b"native codf").unwrap();
        assert_eq!(entry.read(), None);
        // Code without its digest: not loaded.
        entry.write(b"native code").unwrap();
        std::fs::remove_file(&entry.digest).unwrap();
        assert_eq!(entry.read(), None);
    }

    #[test]
    fn a_directory_others_may_write_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(Entry::new(&engine(), &shared, "abc").is_none());
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(Entry::new(&engine(), &shared, "abc").is_some());
    }
}
