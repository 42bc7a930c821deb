//! The files factor: a component's `files`, mounted read-only at the
//! guest's `/`, as `spin up` mounts them. Spin copies what the entries name
//! into a directory of the component's own and preopens that; so does this
//! host, into a temporary directory that lives as long as the component
//! version (a reload copies afresh).
//!
//! - A path to a file lands at its path relative to the manifest's
//!   directory; a directory, and a glob, at each matching file's relative
//!   path; `{ source, destination }` puts a file or a directory's files under
//!   `destination`.
//! - `exclude_files` (glob patterns, against paths relative to the
//!   manifest's directory, `*` crossing `/` as in Spin) leaves files out of
//!   directory and glob expansions, not a single named file.
//! - A path that does not exist and is not a glob, or one that leaves the
//!   manifest's directory, is refused by name, as Spin refuses it; a glob
//!   that matches nothing is not an error.

use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::manifest::FileMount;
use anyhow::Context as _;
use std::path::{Component as PathPart, Path, PathBuf};
use std::sync::Arc;

pub struct FilesFactor;

/// A component's mounted files: the copy the guest sees at `/`.
pub struct Mount {
    dir: tempfile::TempDir,
    /// Files copied, for the load log.
    pub files: usize,
}

impl Mount {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Factor for FilesFactor {
    type ComponentState = Option<Arc<Mount>>;
    type InstanceState = ();

    fn configure(
        &self,
        ctx: &Configure<'_>,
        _previous: Option<&Self::ComponentState>,
    ) -> anyhow::Result<Self::ComponentState> {
        if ctx.spec.files.is_empty() {
            return Ok(None);
        }
        let mount = stage(&ctx.spec.dir, &ctx.spec.files, &ctx.spec.exclude_files)
            .with_context(|| format!("component {}: files", ctx.id))?;
        tracing::info!(component = %ctx.id, files = mount.files, "files mounted read-only at /");
        Ok(Some(Arc::new(mount)))
    }

    fn prepare(&self, _state: &Self::ComponentState, _ctx: &Prepare<'_>) {}
}

/// Copies what `mounts` name, from `root`, into a new directory.
pub fn stage(root: &Path, mounts: &[FileMount], exclude: &[String]) -> anyhow::Result<Mount> {
    let exclude: Vec<glob::Pattern> = exclude
        .iter()
        .map(|p| glob::Pattern::new(p).with_context(|| format!("exclude_files {p:?} is not a glob pattern")))
        .collect::<anyhow::Result<_>>()?;
    let excluded = |relative: &Path| exclude.iter().any(|p| p.matches_path(relative));
    let dir = tempfile::Builder::new().prefix("doc-proxy-host-files-").tempdir()?;
    let mut files = 0;
    let mut copy = |from: &Path, to: &Path| -> anyhow::Result<()> {
        let target = dir.path().join(to);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, &target).with_context(|| format!("copying {}", from.display()))?;
        files += 1;
        Ok(())
    };
    for mount in mounts {
        match mount {
            FileMount::Pattern(pattern) => {
                inside(pattern)?;
                let path = root.join(pattern);
                if path.is_file() {
                    copy(&path, Path::new(pattern))?;
                } else if path.is_dir() {
                    for (file, relative) in files_below(&path, root)? {
                        if !excluded(&relative) {
                            copy(&file, &relative)?;
                        }
                    }
                } else if glob::Pattern::escape(pattern) != *pattern {
                    let full = root.join(pattern);
                    let matches = glob::glob(&full.to_string_lossy())
                        .with_context(|| format!("{pattern:?} is not a glob pattern"))?;
                    for file in matches {
                        let file = file?;
                        if !file.is_file() {
                            continue;
                        }
                        let relative = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
                        if !excluded(&relative) {
                            copy(&file, &relative)?;
                        }
                    }
                } else {
                    anyhow::bail!("{pattern:?} does not exist and doesn't appear to be a glob pattern");
                }
            }
            FileMount::Placed { source, destination } => {
                inside(source)?;
                let destination = destination.trim_start_matches('/');
                inside(destination)?;
                let path = root.join(source);
                if path.is_file() {
                    copy(&path, Path::new(destination))?;
                } else if path.is_dir() {
                    for (file, relative) in files_below(&path, root)? {
                        if excluded(&relative) {
                            continue;
                        }
                        let below = file.strip_prefix(&path).unwrap_or(&file);
                        copy(&file, &Path::new(destination).join(below))?;
                    }
                } else {
                    anyhow::bail!("File or directory {source:?} does not exist");
                }
            }
        }
    }
    Ok(Mount { dir, files })
}

/// Refuses a path that would leave the manifest's directory.
fn inside(path: &str) -> anyhow::Result<()> {
    let leaves = Path::new(path)
        .components()
        .any(|part| matches!(part, PathPart::ParentDir | PathPart::RootDir | PathPart::Prefix(_)));
    // An absolute source would copy the host's own files into the guest's view.
    if leaves {
        anyhow::bail!("{path:?} cannot be mapped because it is outside the application directory");
    }
    Ok(())
}

/// Every file below `dir`, with its path relative to `root`.
fn files_below(dir: &Path, root: &Path) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).with_context(|| format!("reading {}", next.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                found.push((path, relative));
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (file, text) in [
            ("static/index.html", "<h1>hi</h1>"),
            ("static/app.js", "js"),
            ("static/node_modules/lib.js", "dependency"),
            ("assets/logo.txt", "logo"),
            ("assets/deep/note.txt", "note"),
            ("README.md", "readme"),
        ] {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        root
    }

    fn listed(mount: &Mount) -> Vec<String> {
        let mut names: Vec<String> = files_below(mount.path(), mount.path())
            .unwrap()
            .into_iter()
            .map(|(_, relative)| relative.display().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn globs_directories_and_files_land_at_their_relative_paths() {
        let root = tree();
        let mount = stage(
            root.path(),
            &[
                FileMount::Pattern("static/**/*".into()),
                FileMount::Pattern("README.md".into()),
            ],
            &["**/node_modules/**".into()],
        )
        .unwrap();
        assert_eq!(listed(&mount), ["README.md", "static/app.js", "static/index.html"]);
        assert_eq!(
            std::fs::read_to_string(mount.path().join("static/index.html")).unwrap(),
            "<h1>hi</h1>"
        );
    }

    #[test]
    fn a_placement_puts_a_directory_under_its_destination() {
        let root = tree();
        let mount = stage(
            root.path(),
            &[FileMount::Placed {
                source: "assets".into(),
                destination: "/".into(),
            }],
            &[],
        )
        .unwrap();
        assert_eq!(listed(&mount), ["deep/note.txt", "logo.txt"]);
        let mount = stage(
            root.path(),
            &[FileMount::Placed {
                source: "README.md".into(),
                destination: "/docs/readme".into(),
            }],
            &[],
        )
        .unwrap();
        assert_eq!(listed(&mount), ["docs/readme"]);
    }

    #[test]
    fn exclusions_filter_expansions_not_named_files() {
        let root = tree();
        let mount = stage(
            root.path(),
            &[
                FileMount::Pattern("static".into()),
                FileMount::Pattern("README.md".into()),
            ],
            &["static/*.js".into(), "README.md".into()],
        )
        .unwrap();
        // `*` crosses `/` as in Spin: node_modules/lib.js goes too.
        assert_eq!(listed(&mount), ["README.md", "static/index.html"]);
    }

    #[test]
    fn what_spin_refuses_is_refused_by_name() {
        let root = tree();
        for (mount, says) in [
            (
                FileMount::Pattern("missing.txt".into()),
                "does not exist and doesn't appear to be a glob",
            ),
            (
                FileMount::Pattern("../outside".into()),
                "outside the application directory",
            ),
            (
                FileMount::Pattern("/etc/passwd".into()),
                "outside the application directory",
            ),
            (
                FileMount::Placed {
                    source: "/etc".into(),
                    destination: "/".into(),
                },
                "outside the application directory",
            ),
            (
                FileMount::Placed {
                    source: "nope".into(),
                    destination: "/".into(),
                },
                "does not exist",
            ),
        ] {
            let error = stage(root.path(), &[mount], &[]).err().expect("refused");
            assert!(error.to_string().contains(says), "{error}");
        }
        // A glob that matches nothing is no error.
        assert_eq!(
            stage(root.path(), &[FileMount::Pattern("*.nothing".into())], &[])
                .unwrap()
                .files,
            0
        );
    }
}
