//! Redis from a spin-sdk guest against a real redis-server: the `redis`
//! key-value store shared by two wxrun processes, and outbound Redis
//! (`fermyon:spin/redis@2.0.0` and Spin 4's `spin:redis@3.0.0`) gated by
//! `allowed_outbound_hosts`.

use crate::support::*;
use redis::AsyncCommands;

fn app(dir: &std::path::Path, redis_port: u16) -> std::path::PathBuf {
    let allowed = format!(
        "key_value_stores = [\"cache\"]\n\
         allowed_outbound_hosts = [\"redis://127.0.0.1:{redis_port}\"]"
    );
    let denied = format!(
        r#"allowed_outbound_hosts = ["redis://localhost:{redis_port}", "redis://127.0.0.1"]"#
    );
    both_sdks_app(dir, &[("allowed", &allowed), ("denied", &denied)])
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_key_value_store_is_shared_by_two_processes() {
    let redis = RedisServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path(), redis.port);
    let config = runtime_config(
        tmp.path(),
        &format!(
            "[key_value_store.cache]\ntype = \"redis\"\nurl = \"{}\"\n",
            redis.url()
        ),
    );
    let a = serve_with_config(&manifest, &config, &[]).await;
    let b = serve_with_config(&manifest, &config, &[]).await;
    assert_eq!(
        post(&a, "/allowed/kv/cache/set/k", "from-a").await,
        "ok:set"
    );
    assert_eq!(b.get("/allowed/kv/cache/get/k").await.body, "ok:from-a");
    assert_eq!(b.get("/allowed/kv/cache/exists/k").await.body, "ok:true");
    // Spin 4's key-value on the same Redis store, from the other process.
    assert_eq!(b.get("/allowed4/kv/cache/get/k").await.body, "ok:from-a");
    assert_eq!(b.get("/allowed4/kv/cache/keys/-").await.body, "ok:k");
    assert_eq!(b.get("/allowed/kv/cache/keys/-").await.body, "ok:k");
    // Spin's layout: the plain key, no prefix.
    let stored: Vec<u8> = redis.client().await.get("k").await.unwrap();
    assert_eq!(stored, b"from-a");
    assert_eq!(a.get("/allowed/kv/cache/delete/k").await.body, "ok:deleted");
    assert_eq!(b.get("/allowed/kv/cache/get/k").await.body, "ok:none");
    // Atomics: INCRBY's decimal text, and WATCH/MULTI/EXEC compare-and-swap.
    atomics_agree(&a, &b, "allowed", "cache").await;
    let counter: String = redis.client().await.get("counter").await.unwrap();
    assert_eq!(counter, "35");
    // The store is not granted to the other component.
    assert_eq!(
        a.get("/denied/kv/cache/get/k").await.body,
        "err:access-denied"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_redis_reaches_only_allowed_addresses() {
    let redis = RedisServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let manifest = app(tmp.path(), redis.port);
    let config = runtime_config(
        tmp.path(),
        &format!(
            "[key_value_store.cache]\ntype = \"redis\"\nurl = \"{}\"\n",
            redis.url()
        ),
    );
    let server = serve_with_config(&manifest, &config, &[]).await;
    // Spin 2's `fermyon:spin/redis@2.0.0`, then Spin 4's async
    // `spin:redis@3.0.0`: the same calls, the same answers.
    for c in ["allowed", "allowed4"] {
        let at = format!("/{c}/redis/127.0.0.1:{}", redis.port);
        assert_eq!(
            post(&server, &format!("{at}/set/greeting"), "hi").await,
            "ok:set"
        );
        assert_eq!(
            server.get(&format!("{at}/get/greeting")).await.body,
            "ok:hi"
        );
        assert_eq!(server.get(&format!("{at}/incr/n")).await.body, "ok:1");
        assert_eq!(server.get(&format!("{at}/incr/n")).await.body, "ok:2");
        assert_eq!(
            post(&server, &format!("{at}/sadd/s-{c}"), "a,b,c").await,
            "ok:3"
        );
        assert_eq!(
            post(&server, &format!("{at}/srem/s-{c}"), "b").await,
            "ok:1"
        );
        assert_eq!(
            server.get(&format!("{at}/smembers/s-{c}")).await.body,
            "ok:a,c"
        );
        assert_eq!(server.get(&format!("{at}/del/n")).await.body, "ok:1");
        assert_eq!(
            post(&server, &format!("{at}/exec/SET"), "x 42").await,
            "ok:status:OK"
        );
        assert_eq!(
            post(&server, &format!("{at}/exec/MGET"), "x missing greeting").await,
            "ok:bin:42,nil,bin:hi"
        );
        assert_eq!(
            post(&server, &format!("{at}/exec/INCRBY"), "x 8").await,
            "ok:int:50"
        );
        // Reading a set as a string: the server's WRONGTYPE, as `other`.
        let r = server.get(&format!("{at}/get/s-{c}")).await.body;
        assert!(
            r.starts_with("err:other(") && r.contains("WRONGTYPE"),
            "{r}"
        );
    }
    let stored: String = redis.client().await.get("greeting").await.unwrap();
    assert_eq!(stored, "hi");

    // Same server, but under a host name or port no rule allows.
    for (denied, allowed) in [("denied", "allowed"), ("denied4", "allowed4")] {
        let r = server
            .get(&format!(
                "/{denied}/redis/127.0.0.1:{}/get/greeting",
                redis.port
            ))
            .await;
        assert_eq!(r.body, "err:invalid-address");
        let r = server
            .get(&format!(
                "/{allowed}/redis/localhost:{}/get/greeting",
                redis.port
            ))
            .await;
        assert_eq!(r.body, "err:invalid-address");
    }
}
