//! The pure logic of doc-proxy, shared by the WASI component and the host:
//! routing and id parsing, document detection and structural validation, the
//! retry policy, configuration, and error mapping to RFC 9457 problems.
//!
//! Nothing here does I/O or reads a clock, so all of it is tested natively.

pub mod config;
pub mod document;
pub mod problem;
pub mod response;
pub mod retry;
pub mod route;
pub mod telemetry;

pub use document::{sniff, validate, DocumentKind, Rejection};
