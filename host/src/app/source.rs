//! Where the app's description comes from: a Spin manifest, read again at
//! every reload (sources by URL fetched and checked), or `--component` and
//! its flags (`AppFlags::source` makes it from the flags).

use crate::app::manifest::{self, AppSpec};
use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// Where the app's description comes from.
pub enum AppSource {
    /// A Spin manifest, read again at every reload.
    Manifest(PathBuf),
    /// `--component`: one component on `/...`, described by flags.
    Flags(AppSpec),
}

impl AppSource {
    /// The app as its source describes it now, with every source by URL
    /// fetched into `cache_dir` (blocks: call it on a blocking thread).
    pub fn spec(&self, cache_dir: Option<&Path>) -> anyhow::Result<AppSpec> {
        match self {
            AppSource::Manifest(path) => {
                let mut spec = manifest::read(path, &|name| std::env::var(name).ok()).map_err(anyhow::Error::msg)?;
                for warning in &spec.warnings {
                    tracing::warn!(manifest = %path.display(), "{warning}");
                }
                for component in &mut spec.components {
                    if let Some(remote) = &component.remote {
                        component.source = crate::app::sources::local_copy(&remote.url, &remote.digest, cache_dir)
                            .with_context(|| format!("component {}", component.id))?;
                    }
                }
                Ok(spec)
            }
            AppSource::Flags(spec) => Ok(spec.clone()),
        }
    }

    /// The manifest's path, when the app has one (reloads watch it).
    pub fn manifest_path(&self) -> Option<&Path> {
        match self {
            AppSource::Manifest(path) => Some(path.as_path()),
            AppSource::Flags(_) => None,
        }
    }
}
