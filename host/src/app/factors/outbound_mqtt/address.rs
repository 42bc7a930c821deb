//! An MQTT address read as Spin reads it: `mqtt://host[:port]?client_id=…`
//! with the options Spin's client takes from the query. The broker is the
//! destination the grant check read (`services::Destination`), so the
//! connection goes where the grant was given; options that would size the
//! client's buffers and queues are checked but the host's own bounds win.

use crate::app::factors::services::{read_url, Destination};

/// What an address asks of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub destination: Destination,
    pub client_id: String,
    pub clean_session: bool,
    /// Packet sizes the address asks for, if it asks (both or neither, as
    /// Spin's client reads them).
    pub packet_sizes: Option<(usize, usize)>,
}

/// Reads `address`; the error says why it cannot be used (the guest is told
/// `invalid-address`, as Spin tells it).
pub fn read(address: &str) -> Result<Address, String> {
    let url = read_url(address, "mqtt").ok_or("not a URL with a host")?;
    match url.scheme() {
        "mqtt" | "tcp" => {}
        "mqtts" | "ssl" | "ws" | "wss" => {
            return Err(format!("scheme {}: only plain MQTT over TCP is served", url.scheme()))
        }
        other => return Err(format!("scheme {other} is not MQTT")),
    }
    let destination = Destination::of(&url).ok_or("no broker host")?;
    let mut client_id = None;
    let mut clean_session = true;
    let (mut incoming, mut outgoing) = (None, None);
    for (key, value) in url.query_pairs() {
        let number = |what: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{what} {value:?} is not a number"))
        };
        match key.as_ref() {
            "client_id" => client_id = Some(value.to_string()),
            "clean_session" => {
                clean_session = value
                    .parse()
                    .map_err(|_| format!("clean_session {value:?} is not true or false"))?
            }
            "max_incoming_packet_size_bytes" => incoming = Some(number(&key)? as usize),
            "max_outgoing_packet_size_bytes" => outgoing = Some(number(&key)? as usize),
            // Spin's client takes these; here the host decides them (one
            // message at a time per connection, its own timeouts), so they
            // are read for their form only.
            "keep_alive_secs" | "request_channel_capacity_num" | "max_request_batch_num" | "pending_throttle_usecs" => {
                number(&key)?;
            }
            "inflight_num" => {
                value
                    .parse::<u16>()
                    .map_err(|_| format!("inflight_num {value:?} is not a number"))?;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    let client_id = client_id.ok_or("no client_id")?;
    if client_id.is_empty() && !clean_session {
        return Err("a session kept across connections needs a client_id".into());
    }
    Ok(Address {
        destination,
        client_id,
        clean_session,
        packet_sizes: incoming.zip(outgoing),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(host: &str, port: u16) -> Destination {
        Destination {
            scheme: "mqtt".into(),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn addresses_are_read_as_spin_reads_them() {
        let read_ok = |a: &str| read(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        let plain = read_ok("mqtt://localhost:1883?client_id=spintest");
        assert_eq!(plain.destination, broker("localhost", 1883));
        assert_eq!(plain.client_id, "spintest");
        assert!(plain.clean_session);
        assert_eq!(plain.packet_sizes, None);
        assert_eq!(read_ok("mqtt://Broker?client_id=a").destination, broker("broker", 1883));
        assert_eq!(
            read_ok("broker:7000?client_id=a").destination,
            broker("broker", 7000),
            "no scheme: mqtt"
        );
        let options = read_ok(
            "mqtt://b?client_id=a&clean_session=false&keep_alive_secs=5&inflight_num=9\
             &max_incoming_packet_size_bytes=100&max_outgoing_packet_size_bytes=200",
        );
        assert!(!options.clean_session);
        assert_eq!(options.packet_sizes, Some((100, 200)));
        assert_eq!(
            read_ok("mqtt://u:p@ss@b:1?client_id=a").destination,
            broker("b", 1),
            "a password with '@' is not the host"
        );
    }

    #[test]
    fn what_cannot_be_used_says_why() {
        for (address, says) in [
            ("mqtt://broker:1883", "no client_id"),
            ("mqtt://broker?client_id=a&colour=red", "unknown option colour"),
            ("mqtt://broker?client_id=a&clean_session=maybe", "clean_session"),
            ("mqtt://broker?client_id=&clean_session=false", "needs a client_id"),
            ("mqtt://broker?client_id=a&inflight_num=99999", "inflight_num"),
            ("mqtt://broker?client_id=a&keep_alive_secs=-1", "keep_alive_secs"),
            ("mqtts://broker?client_id=a", "only plain MQTT"),
            ("http://broker?client_id=a", "not MQTT"),
            ("", "host"),
        ] {
            let error = read(address).unwrap_err();
            assert!(error.contains(says), "{address}: {error}");
        }
    }
}
