//! doc-proxy's system tests, one test binary (as wasmtime's `tests/all`): the
//! product end to end on real host processes, started and fed by the shared
//! harness (`crates/test-harness`). Each module is one former test file; run
//! one with `cargo test --release -p system-tests --test all <module>::`.
//! The host binary and the components are not this crate's dependencies:
//! build them first (`make build`; `make test` does), with the same profile.
//! Tests that load the machine for a measured result take
//! `test_harness::heavy_load()`, so no two of them run at once.
//!
//! The host's own behaviour is proven in `host/tests`, with components of its
//! own. Tests that need tools or kernel features this machine may lack show as
//! ignored, with the reason, where they are missing (`tests/build.rs` decides).

mod bad_upstream;
mod chaos;
mod component_world;
mod components;
mod configuration_reference;
mod corpus;
mod host_limits;
mod isolation;
mod memory_budget;
mod observability;
mod prometheus;
mod spin_manifest;
mod upstream_protection;
mod verdict_cache;
