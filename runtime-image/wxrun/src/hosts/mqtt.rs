//! Outbound MQTT, `fermyon:spin/mqtt@2.0.0` and Spin 4's
//! `spin:mqtt/mqtt@3.0.0`: a guest opens a connection by
//! address (`mqtt://host:1883?client_id=...`, `mqtts://` for TLS) and
//! publishes; `publish` returns once the broker has the message at the
//! requested QoS (sent, PUBACK or PUBCOMP), as in Spin. An address
//! `allowed_outbound_hosts` does not allow (`mqtt` scheme, default port
//! 1883) is Spin's `invalid-address`.

use crate::engine::Host;
use crate::hosts::{Style, define};
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions, Outgoing, QoS};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{ComponentType, Lift, Linker, Lower, Resource};

/// The Spin 2 outbound MQTT interface.
pub const V2: &str = "fermyon:spin/mqtt@2.0.0";
/// Spin 4's: the same functions as `async func`s.
pub const V3: &str = "spin:mqtt/mqtt@3.0.0";

/// Connections a guest may have open at once.
const MAX_OPEN_CONNECTIONS: usize = 256;

/// Messages the client queues before `publish` waits (Spin's capacity).
const CHANNEL_CAPACITY: usize = 1000;

/// The `error` variant of Spin's outbound MQTT interface.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum Error {
    #[component(name = "invalid-address")]
    InvalidAddress,
    #[component(name = "too-many-connections")]
    TooManyConnections,
    #[component(name = "connection-failed")]
    ConnectionFailed(String),
    #[component(name = "other")]
    Other(String),
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, Copy, PartialEq, Eq)]
#[component(enum)]
#[repr(u8)]
pub enum Qos {
    #[component(name = "at-most-once")]
    AtMostOnce,
    #[component(name = "at-least-once")]
    AtLeastOnce,
    #[component(name = "exactly-once")]
    ExactlyOnce,
}

/// A connection the guest opened: the resource behind `connection`. The
/// event loop is driven by `publish` itself, so nothing runs between calls.
pub struct OpenMqtt {
    client: AsyncClient,
    events: Arc<tokio::sync::Mutex<EventLoop>>,
}

fn open(
    host: &mut Host,
    address: String,
    username: String,
    password: String,
    keep_alive_secs: u64,
) -> wasmtime::Result<Result<Resource<OpenMqtt>, Error>> {
    if !host.hosts.grants.allowed.allows_url(&address, "mqtt") {
        tracing::warn!(%address, "outbound mqtt denied by allowed_outbound_hosts");
        return Ok(Err(Error::InvalidAddress));
    }
    if host.hosts.open_mqtt >= MAX_OPEN_CONNECTIONS {
        return Ok(Err(Error::TooManyConnections));
    }
    let Ok(mut options) = MqttOptions::parse_url(&address) else {
        return Ok(Err(Error::InvalidAddress));
    };
    options.set_credentials(username, password);
    options.set_keep_alive(Duration::from_secs(keep_alive_secs));
    let (client, events) = AsyncClient::new(options, CHANNEL_CAPACITY);
    host.hosts.open_mqtt += 1;
    Ok(Ok(host.table.push(OpenMqtt {
        client,
        events: Arc::new(tokio::sync::Mutex::new(events)),
    })?))
}

async fn publish(
    client: AsyncClient,
    events: Arc<tokio::sync::Mutex<EventLoop>>,
    topic: String,
    payload: Vec<u8>,
    qos: Qos,
) -> Result<(), Error> {
    let qos = match qos {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
        Qos::ExactlyOnce => QoS::ExactlyOnce,
    };
    client
        .publish_bytes(topic, qos, false, payload.into())
        .await
        .map_err(|e| Error::Other(e.to_string()))?;
    let mut events = events.lock().await;
    loop {
        let event = events
            .poll()
            .await
            .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
        match (qos, event) {
            (QoS::AtMostOnce, Event::Outgoing(Outgoing::Publish(_)))
            | (QoS::AtLeastOnce, Event::Incoming(Incoming::PubAck(_)))
            | (QoS::ExactlyOnce, Event::Incoming(Incoming::PubComp(_))) => return Ok(()),
            _ => {}
        }
    }
}

/// Links `fermyon:spin/mqtt@2.0.0` and Spin 4's `spin:mqtt/mqtt@3.0.0` (the
/// same functions as `async func`s).
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    for (name, style) in [(V2, Style::Plain), (V3, Style::Async)] {
        let mut inst = linker.instance(name)?;
        super::connection::<OpenMqtt, _, _>(
            &mut inst,
            style,
            |h| &mut h.open_mqtt,
            |h, (address, username, password, keep_alive): (String, String, String, u64)| {
                Box::pin(async move {
                    Ok((h.with(|host| open(host, address, username, password, keep_alive))?,))
                })
            },
        )?;
        define(
            &mut inst,
            style,
            "[method]connection.publish",
            |h, (res, topic, payload, qos): (Resource<OpenMqtt>, String, Vec<u8>, Qos)| {
                Box::pin(async move {
                    let (client, events) = h.with(|host| {
                        let conn = host.table.get(&res)?;
                        wasmtime::Result::<_>::Ok((conn.client.clone(), conn.events.clone()))
                    })?;
                    Ok((publish(client, events, topic, payload, qos).await,))
                })
            },
        )?;
    }
    Ok(())
}
