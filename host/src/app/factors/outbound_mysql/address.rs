//! A MySQL address (`mysql://user:password@host:port/database`) into the
//! client's options, after the grant check: the host and port are the ones
//! the check read ([`Destination`]), never read again by the client, and
//! nothing else in the URL can send it elsewhere (no Unix socket, no
//! switching to the server's own socket after connecting).

use super::Error;
use crate::app::factors::services::{self, Destination, ServiceLimits};
use mysql_async::{Opts, OptsBuilder};
use percent_encoding::percent_decode_str;

/// Spin's words for an address not granted; the address as the component
/// gave it, less its credentials, path and query (Spin shows all of it).
pub fn not_permitted(address: &str) -> Error {
    let shown = crate::app::denied::redact(address);
    Error::ConnectionFailed(format!("address {shown} is not permitted"))
}

/// The client's options for `address`, granted as `destination`.
pub fn options(address: &str, destination: &Destination, limits: &ServiceLimits) -> Result<Opts, Error> {
    let url = services::read_url(address, "mysql").ok_or_else(|| not_permitted(address))?;
    if url.scheme() != "mysql" {
        return Err(Error::ConnectionFailed(format!(
            "the address's scheme is {}, not mysql",
            url.scheme()
        )));
    }
    for (key, value) in url.query_pairs() {
        let key = key.to_ascii_lowercase();
        if key == "socket" {
            return Err(Error::ConnectionFailed(
                "Unix sockets are not supported on WebAssembly".into(),
            ));
        }
        // As PostgreSQL's: this host's client has no TLS.
        if (key == "ssl-mode" || key == "sslmode") && !value.eq_ignore_ascii_case("disabled") {
            return Err(Error::ConnectionFailed(format!(
                "{key}={value}: this host connects to MySQL without TLS"
            )));
        }
    }
    let decoded = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
    // The user info was percent-encoded whole before the URL was read (so
    // that a password may hold anything): undo that, then read the user and
    // password as the address gave them, each percent-decoded as the client
    // would decode them.
    let info = decoded(url.username()) + &url.password().map(|p| format!(":{}", decoded(p))).unwrap_or_default();
    let (user, password) = match info.split_once(':') {
        Some((user, password)) => (user, Some(decoded(password))),
        None => (info.as_str(), None),
    };
    let user = Some(decoded(user)).filter(|u| !u.is_empty());
    let database = Some(decoded(url.path().trim_start_matches('/'))).filter(|d| !d.is_empty());
    // The URL's form of an IPv6 address is bracketed; the client takes it bare.
    let host = destination.host.trim_start_matches('[').trim_end_matches(']');
    Ok(OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(destination.port)
        .user(user)
        .pass(password)
        .db_name(database)
        // By default the client asks the server for its Unix socket after
        // connecting and reconnects through it: an address never granted.
        .prefer_socket(false)
        .socket(None::<String>)
        // No packet larger than an answer may be (the client refuses it
        // before reading it whole).
        .max_allowed_packet(Some(limits.result_bytes))
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::factors::services::tests::LIMITS;

    fn granted_as(address: &str) -> Result<Opts, Error> {
        let destination = Destination::parse(address, "mysql").expect("a destination");
        options(address, &destination, &LIMITS)
    }

    #[test]
    fn options_come_from_the_granted_destination_and_the_urls_credentials() {
        let opts = granted_as("mysql://spin:p%40ss@DB.internal:3307/spin_dev").unwrap();
        assert_eq!(opts.ip_or_hostname(), "db.internal");
        assert_eq!(opts.tcp_port(), 3307);
        assert_eq!(opts.user(), Some("spin"));
        assert_eq!(opts.pass(), Some("p@ss"));
        assert_eq!(opts.db_name(), Some("spin_dev"));
        assert!(!opts.prefer_socket());
        assert_eq!(opts.socket(), None);
        assert_eq!(opts.max_allowed_packet(), Some(LIMITS.result_bytes));
        let plain = granted_as("mysql://root@127.0.0.1").unwrap();
        assert_eq!((plain.tcp_port(), plain.pass(), plain.db_name()), (3306, None, None));
        let raw = granted_as("mysql://u:p@ss@[::1]:3306/db").unwrap();
        assert_eq!(
            (raw.ip_or_hostname(), raw.user(), raw.pass()),
            ("::1", Some("u"), Some("p@ss"))
        );
        let colon = granted_as("mysql://u%3Ax:a:b@db").unwrap();
        assert_eq!((colon.user(), colon.pass()), (Some("u:x"), Some("a:b")));
    }

    #[test]
    fn sockets_tls_and_other_schemes_are_refused() {
        for address in [
            "mysql://root@localhost/db?socket=/run/mysqld/mysqld.sock",
            "mysql://root@localhost/db?ssl-mode=REQUIRED",
            "mysql://root@localhost/db?sslMode=VERIFY_CA",
            "http://localhost:3306/db",
        ] {
            assert!(
                matches!(granted_as(address), Err(Error::ConnectionFailed(_))),
                "{address}"
            );
        }
        assert!(granted_as("mysql://root@localhost/db?ssl-mode=DISABLED").is_ok());
    }

    #[test]
    fn a_denial_shows_the_address_without_its_credentials() {
        assert_eq!(
            not_permitted("mysql://spin:spin@localhost:3306/spin_dev"),
            Error::ConnectionFailed("address mysql://localhost:3306 is not permitted".into())
        );
    }
}
