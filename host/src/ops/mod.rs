//! Operations: what every other wing reports to or is sized by. Prometheus
//! metrics (`metrics`, and `server_timing`, which turns a component's
//! `Server-Timing` into them), structured logs (`logging`) and trace context
//! (`trace`), the memory plan and the container's limit (`memory`,
//! `cgroup_path`), file descriptors against the process's limit
//! (`file_descriptors`), and the image's health check (`probe`).
//!
//! The bottom wing: it imports no other.

pub mod cgroup_path;
pub mod file_descriptors;
pub mod flags;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod probe;
pub mod server_timing;
pub mod trace;
