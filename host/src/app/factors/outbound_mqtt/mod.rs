//! The outbound MQTT factor: Spin's `fermyon:spin/mqtt@2.0.0` and
//! `spin:mqtt/mqtt@3.0.0` (async), publishing over one implementation.
//!
//! - Grants: an address is opened only if the component's
//!   `allowed_outbound_hosts` grants its scheme, host and port (1883 by
//!   default), decided before any connection is made; anything else is
//!   `connection-failed("address … is not permitted")`, Spin's words. The
//!   client connects to the host and port the check read (`address`).
//! - Connections: `open` connects and waits for the broker's CONNACK within
//!   `--outbound-connect-timeout` (Spin connects at the first publish; here
//!   a broker that refuses is told at `open`, where the guest expects a
//!   connection error). At most `--max-service-connections` service
//!   connections per instance; past it `too-many-connections`. Connections
//!   are not pooled: an MQTT session belongs to its client id, and a broker
//!   hands the id to the newest connection, so an idle pooled session would
//!   be taken over by the next `open` of the same app and fail its next
//!   publish. A connection the guest drops is closed with a DISCONNECT.
//! - Publishing: one message at a time per connection, answered when it is
//!   on the wire (QoS 0), acknowledged (QoS 1) or complete (QoS 2), within
//!   `--service-call-timeout`; a connection that failed or timed out is not
//!   used again. Payloads past `--max-mqtt-payload-bytes` are refused with
//!   Spin's words, topics past 1 KiB likewise.
//! - Counted in `outbound_service_uses_total{service="mqtt"}`.

mod address;
mod bindings;

use crate::app::factors::services::{
    self, Destination, ServiceInstance, ServiceLimits, ServiceState, Shared, Slot, MAX_TOPIC_BYTES,
};
use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::state::HostState;
use crate::ops::metrics::Metrics;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Linker, ResourceTable};

/// MQTT's errors as Spin's interfaces give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    InvalidAddress,
    TooManyConnections,
    ConnectionFailed(String),
    Other(String),
}

/// How surely a message is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qos {
    AtMostOnce,
    AtLeastOnce,
    ExactlyOnce,
}

pub struct OutboundMqttFactor {
    pub limits: ServiceLimits,
    pub metrics: Metrics,
}

/// A connected client and its event loop. Its component's pool of them
/// stays empty: sessions are not pooled (the module's docs say why).
type Session = (AsyncClient, EventLoop);

/// What a component of an app version keeps: its grants and its metric
/// series (the series outlive a reload that keeps the component).
pub type MqttState = ServiceState<Session>;

/// One instance's MQTT: its component's grants and the instance's count of
/// open service connections.
pub type InstanceMqtt = ServiceInstance<Session>;

/// An open connection (a guest's resource); what a publish needs is cloned
/// out of it so an async call does not hold the store.
#[derive(Clone)]
pub struct Connection {
    link: Arc<tokio::sync::Mutex<Link>>,
    destination: Arc<Destination>,
    shared: Arc<Shared<Session>>,
    limits: ServiceLimits,
    _slot: Arc<Slot>,
}

/// The client and its event loop: the loop moves packets only while it is
/// polled, which a publish does until its message is through.
struct Link {
    client: AsyncClient,
    events: EventLoop,
    /// Why the connection cannot be used again, once it failed.
    broken: Option<String>,
}

impl Drop for Link {
    fn drop(&mut self) {
        if self.broken.is_some() {
            return;
        }
        // Say goodbye, so the broker sees a clean end; bounded, and off the
        // guest's path.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let mut events = std::mem::replace(&mut self.events, EventLoop::new(MqttOptions::new("", "", 0), 1));
        runtime.spawn(async move {
            if client.try_disconnect().is_err() {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while let Ok(event) = events.poll().await {
                    if matches!(event, Event::Outgoing(Outgoing::Disconnect)) {
                        break;
                    }
                }
            })
            .await;
        });
    }
}

impl ServiceInstance<Session> {
    /// Opens `address` as Spin does, if the component is granted it, and
    /// connects.
    pub async fn open(
        &self,
        address: &str,
        username: String,
        password: String,
        keep_alive_secs: u64,
    ) -> Result<Connection, Error> {
        let meter = &self.state.shared.meter;
        if services::granted(&self.state.allowed, address, "mqtt").is_none() {
            meter.count(None, "denied");
            tracing::warn!(component = %meter.component(), address = %redacted(address), "mqtt address not permitted");
            // The guest's own address back, as Spin words it; logs redact it.
            return Err(Error::ConnectionFailed(format!("address {address} is not permitted")));
        }
        let wanted = address::read(address).map_err(|why| {
            tracing::warn!(component = %meter.component(), address = %redacted(address), why, "mqtt address refused");
            Error::InvalidAddress
        })?;
        let options = self.options(&wanted, username, password, keep_alive_secs);
        let ((client, events), slot) = self
            .connection(
                &wanted.destination,
                async { None },
                connect(options, self.limits.connect_timeout),
                Error::TooManyConnections,
            )
            .await?;
        Ok(Connection {
            link: Arc::new(tokio::sync::Mutex::new(Link {
                client,
                events,
                broken: None,
            })),
            destination: Arc::new(wanted.destination),
            shared: self.state.shared.clone(),
            limits: self.limits,
            _slot: Arc::new(slot),
        })
    }

    /// The client's options: the address's, within the host's bounds.
    fn options(
        &self,
        wanted: &address::Address,
        username: String,
        password: String,
        keep_alive_secs: u64,
    ) -> MqttOptions {
        let Destination { host, port, .. } = &wanted.destination;
        let mut options = MqttOptions::new(wanted.client_id.clone(), host.trim_matches(['[', ']']), *port);
        options.set_clean_session(wanted.clean_session);
        // The protocol's keep-alive is 16 bits of seconds.
        options.set_keep_alive(Duration::from_secs(keep_alive_secs.min(u64::from(u16::MAX))));
        if !username.is_empty() || !password.is_empty() {
            options.set_credentials(username, password);
        }
        // A message, its topic and the packet's own fields; the broker only
        // acknowledges, so what comes in stays small.
        let outgoing = self.limits.message_bytes + MAX_TOPIC_BYTES + 16;
        let (incoming, outgoing) = match wanted.packet_sizes {
            Some((incoming, asked)) => (incoming.min(INCOMING_PACKET_BYTES), asked.min(outgoing)),
            None => (INCOMING_PACKET_BYTES, outgoing),
        };
        options.set_max_packet_size(incoming, outgoing);
        options.set_inflight(1);
        options
    }
}

/// A client connected with `options`: the broker's CONNACK within `timeout`.
async fn connect(options: MqttOptions, timeout: Duration) -> Result<Session, Error> {
    let (client, mut events) = AsyncClient::new(options, 1);
    let connected = tokio::time::timeout(timeout, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err(format!("connecting timed out after {timeout:?}")));
    match connected {
        Ok(()) => Ok((client, events)),
        Err(why) => Err(Error::ConnectionFailed(why)),
    }
}

/// The largest packet the client reads from a broker (acknowledgements are a
/// few bytes; the client subscribes to nothing).
const INCOMING_PACKET_BYTES: usize = 10 * 1024;

/// `address` without its password, for logs.
fn redacted(address: &str) -> String {
    crate::app::factors::key_value::backend::redacted(address)
}

impl Connection {
    /// Publishes `payload` to `topic`, answered when `qos` says it is
    /// through.
    pub async fn publish(&self, topic: String, payload: Vec<u8>, qos: Qos) -> Result<(), Error> {
        if let Err(why) = publishable(&topic, &payload, self.limits.message_bytes) {
            self.shared.meter.count(Some(&self.destination), "error");
            return Err(Error::Other(why));
        }
        let mut link = self.link.lock().await;
        if let Some(why) = &link.broken {
            return Err(Error::ConnectionFailed(format!("the connection failed earlier: {why}")));
        }
        let sent = tokio::time::timeout(self.limits.call_timeout, link.send(topic, payload, qos)).await;
        let (result, failure) = match sent {
            Ok(Ok(())) => ("call", None),
            Ok(Err(SendError::Refused(why))) => {
                self.shared.meter.count(Some(&self.destination), "error");
                return Err(Error::Other(why));
            }
            Ok(Err(SendError::Lost(why))) => ("error", Some(why)),
            Err(_) => (
                "timeout",
                Some(format!("the call timed out after {:?}", self.limits.call_timeout)),
            ),
        };
        self.shared.meter.count(Some(&self.destination), result);
        match failure {
            None => Ok(()),
            Some(why) => {
                link.broken = Some(why.clone());
                Err(Error::ConnectionFailed(why))
            }
        }
    }
}

/// Whether a message may be sent: its payload within `limit` (Spin's
/// words), its topic within [`MAX_TOPIC_BYTES`] and one the protocol lets a
/// client publish to (not empty, no wildcard, no NUL). A broker closes the
/// connection of a client that publishes to a wildcard; this answers first.
fn publishable(topic: &str, payload: &[u8], limit: usize) -> Result<(), String> {
    if payload.len() > limit {
        return Err(format!(
            "payload size {} exceeds the maximum allowed size of {limit} bytes",
            payload.len()
        ));
    }
    if topic.len() > MAX_TOPIC_BYTES {
        return Err(format!(
            "topic length {} exceeds the maximum allowed length of {MAX_TOPIC_BYTES} bytes",
            topic.len()
        ));
    }
    if topic.is_empty() || topic.contains(['+', '#', '\0']) {
        return Err(format!(
            "topic {topic:?} cannot be published to (empty, or a wildcard or NUL in it)"
        ));
    }
    Ok(())
}

enum SendError {
    /// The client refused the message (a topic it cannot publish to); the
    /// connection is as it was.
    Refused(String),
    /// The connection failed.
    Lost(String),
}

impl Link {
    async fn send(&mut self, topic: String, payload: Vec<u8>, qos: Qos) -> Result<(), SendError> {
        let qos = match qos {
            Qos::AtMostOnce => QoS::AtMostOnce,
            Qos::AtLeastOnce => QoS::AtLeastOnce,
            Qos::ExactlyOnce => QoS::ExactlyOnce,
        };
        self.client
            .publish_bytes(topic, qos, false, payload.into())
            .await
            .map_err(|e| SendError::Refused(e.to_string()))?;
        // Only this message is in the client's queue (the lock is held), so
        // the next publish the loop writes is it; its packet id names the
        // acknowledgement to wait for.
        let mut sent = None;
        loop {
            let event = self.events.poll().await.map_err(|e| SendError::Lost(e.to_string()))?;
            match (qos, event) {
                (QoS::AtMostOnce, Event::Outgoing(Outgoing::Publish(_))) => return Ok(()),
                (_, Event::Outgoing(Outgoing::Publish(id))) => sent = Some(id),
                (QoS::AtLeastOnce, Event::Incoming(Packet::PubAck(ack))) if Some(ack.pkid) == sent => return Ok(()),
                (QoS::ExactlyOnce, Event::Incoming(Packet::PubComp(done))) if Some(done.pkid) == sent => return Ok(()),
                _ => continue,
            }
        }
    }
}

/// What the bindings see of a store.
pub struct MqttView<'a> {
    pub table: &'a mut ResourceTable,
    pub mqtt: &'a InstanceMqtt,
}

impl Factor for OutboundMqttFactor {
    type ComponentState = MqttState;
    type InstanceState = InstanceMqtt;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        bindings::add_to_linker(linker)
    }

    fn configure(&self, ctx: &Configure<'_>, previous: Option<&MqttState>) -> anyhow::Result<MqttState> {
        Ok(ServiceState::configure(
            ctx,
            previous,
            "mqtt",
            self.limits,
            &self.metrics,
        ))
    }

    fn prepare(&self, state: &MqttState, ctx: &Prepare<'_>) -> InstanceMqtt {
        ServiceInstance::new(state, self.limits, &ctx.service_slots)
    }

    fn retire(&self, _id: &str, state: &MqttState) {
        state.shared.meter.retire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_messages_a_broker_takes_are_sent() {
        assert!(publishable("telemetry-topic", b"Eureka!", 7).is_ok());
        assert_eq!(
            publishable("t", b"Eureka!", 6),
            Err("payload size 7 exceeds the maximum allowed size of 6 bytes".into())
        );
        assert!(publishable(&"t".repeat(MAX_TOPIC_BYTES), b"", 0).is_ok());
        assert!(publishable(&"t".repeat(MAX_TOPIC_BYTES + 1), b"", 0)
            .unwrap_err()
            .contains("topic length"));
        for topic in ["", "a/#", "a/+/b", "a\0b"] {
            assert!(
                publishable(topic, b"", 0).unwrap_err().contains("cannot be published"),
                "{topic:?}"
            );
        }
    }
}
