//! Outbound MQTT (`fermyon:spin/mqtt@2.0.0`, Spin 4's `spin:mqtt@3.0.0`) from
//! spin-sdk guests to a real
//! mosquitto broker at each QoS, received by a subscriber of the test's own;
//! addresses `allowed_outbound_hosts` does not allow are `invalid-address`.

use crate::support::*;
use bytes::Bytes;
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn publishes_reach_a_subscriber_and_denied_brokers_are_invalid_address() {
    let broker = Mosquitto::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let allowed = format!(
        r#"allowed_outbound_hosts = ["mqtt://127.0.0.1:{}"]"#,
        broker.port
    );
    let manifest = both_sdks_app(
        tmp.path(),
        &[
            ("allowed", &allowed),
            ("denied", r#"allowed_outbound_hosts = ["mqtt://127.0.0.1"]"#),
        ],
    );
    let server = Server::start(&["--from", manifest.to_str().unwrap()], &[]).await;

    let mut options = MqttOptions::new("test-subscriber", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(options, 10);
    client.subscribe("wxrun/#", QoS::ExactlyOnce).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            match event {
                Event::Incoming(Incoming::SubAck(_)) => tx.send(None).unwrap(),
                Event::Incoming(Incoming::Publish(p)) => {
                    tx.send(Some((p.topic, p.payload.to_vec()))).unwrap()
                }
                _ => {}
            }
        }
    });
    assert_eq!(rx.recv().await.unwrap(), None, "subscription acknowledged");

    // Spin 2's `fermyon:spin/mqtt@2.0.0`, then Spin 4's async `spin:mqtt@3.0.0`.
    for c in ["allowed", "allowed4"] {
        for qos in ["0", "1", "2"] {
            let r = send(
                http::Method::POST,
                &server.url(&format!(
                    "/{c}/mqtt/127.0.0.1:{}/{qos}/wxrun/{c}/q{qos}",
                    broker.port
                )),
                Bytes::from(format!("hello {qos}")),
            )
            .await
            .unwrap();
            assert_eq!(r.body, "ok:published", "{}", server.logs());
            let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("no message arrived")
                .unwrap();
            assert_eq!(
                got,
                Some((
                    format!("wxrun/{c}/q{qos}"),
                    format!("hello {qos}").into_bytes()
                ))
            );
        }
    }

    for c in ["denied", "denied4"] {
        let r = server
            .get(&format!("/{c}/mqtt/127.0.0.1:{}/1/wxrun/no", broker.port))
            .await;
        assert_eq!(r.body, "err:invalid-address");
    }
}
