//! The edge: everything that faces the network. Three listeners share one
//! accept loop and its limits (`listener`, `write_timeout`): the public one
//! hands each request to `proxy`, which names it (`request_id`), answers the
//! host's own errors (`problem`), calls the app and sends what comes back
//! (`response_body`); `admin` serves probes and
//! metrics; `control`, on loopback only, reloads. `shutdown` turns signals
//! into readiness off, delay and drain.
//!
//! The top wing: it calls into `app`, `outbound` and `ops`; none of them
//! imports it.

pub mod admin;
pub mod connections;
pub mod control;
pub mod flags;
pub mod listener;
pub mod problem;
pub mod proxy;
pub mod request_id;
pub mod response_body;
pub mod shutdown;
pub mod spin_headers;
pub mod write_timeout;
