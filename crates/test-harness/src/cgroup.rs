//! A memory cgroup of the test's own, below the one the test runs in, with a
//! real kernel limit: a host started in it is killed by the kernel if it goes
//! past the limit. Made only where the system tests' build script
//! (`tests/build.rs`) found that possible (`cfg(memory_cgroup)`); removed
//! when dropped, once its processes are gone.

use super::memory_cgroup_dir::own_memory_cgroup_dir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct MemoryCgroup {
    dir: PathBuf,
    v2: bool,
}

impl MemoryCgroup {
    /// A new cgroup limited to `limit` bytes (swap too, where the kernel
    /// accounts it, so the limit cannot be dodged by swapping).
    pub fn create(limit: u64) -> MemoryCgroup {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let (parent, v2) = own_memory_cgroup_dir().expect("a memory cgroup (tests/build.rs checked)");
        let name = format!(
            "doc-proxy-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = parent.join(name);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let cgroup = MemoryCgroup { dir, v2 };
        if v2 {
            cgroup.write("memory.max", limit);
            cgroup.write_if_present("memory.swap.max", 0);
        } else {
            cgroup.write("memory.limit_in_bytes", limit);
            cgroup.write_if_present("memory.memsw.limit_in_bytes", limit);
        }
        cgroup
    }

    /// A command that runs `program` in this cgroup from its first
    /// instruction: a shell moves itself in, then execs the program.
    pub fn command(&self, program: &Path) -> Command {
        let mut shell = Command::new("sh");
        shell
            .args(["-c", r#"echo $$ > "$0" && exec "$@""#])
            .arg(self.dir.join("cgroup.procs"))
            .arg(program);
        shell
    }

    /// Processes the kernel killed here for want of memory.
    pub fn oom_kills(&self) -> u64 {
        let file = if self.v2 { "memory.events" } else { "memory.oom_control" };
        let text = std::fs::read_to_string(self.dir.join(file)).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no oom_kill count in {file}: {text}"))
    }

    /// The most memory charged to this cgroup at once (page cache included).
    pub fn peak(&self) -> Option<u64> {
        let file = if self.v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        std::fs::read_to_string(self.dir.join(file)).ok()?.trim().parse().ok()
    }

    fn write(&self, file: &str, value: u64) {
        let path = self.dir.join(file);
        std::fs::write(&path, value.to_string()).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    fn write_if_present(&self, file: &str, value: u64) {
        if Path::new(&self.dir.join(file)).exists() {
            self.write(file, value);
        }
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // rmdir fails while a process is still in it; the host was killed
        // just before, so give the kernel a moment.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        eprintln!("could not remove {}", self.dir.display());
    }
}
