//! `wasi:sockets` for guests, gated by `allowed_outbound_hosts` as Spin gates
//! it: TCP connect needs a `tcp://` (or `*://`) rule for the address, UDP
//! traffic a `udp://` one; nothing may listen or bind to a chosen port.
//! Owns the socket policy of a request's `WasiCtx`.

use crate::allowed_hosts::AllowedHosts;
use std::net::SocketAddr;
use std::sync::Arc;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

/// Turns on TCP, UDP and name lookup for a component that may reach some
/// host, and installs the per-address check. A component with no
/// `allowed_outbound_hosts` keeps every socket use denied.
pub fn configure(wasi: &mut WasiCtxBuilder, allowed: &Arc<AllowedHosts>) {
    let open = !allowed.is_empty();
    wasi.allow_tcp(open)
        .allow_udp(open)
        .allow_ip_name_lookup(open);
    let allowed = allowed.clone();
    wasi.socket_addr_check(move |addr, used| {
        let ok = permits(&allowed, addr, used);
        Box::pin(async move { ok })
    });
}

/// Whether `addr` may be used for `used`.
fn permits(allowed: &AllowedHosts, addr: SocketAddr, used: SocketAddrUse) -> bool {
    let ok = match used {
        // Connect and send bind the socket implicitly to the wildcard address
        // and an ephemeral port; that is the only bind a guest may make.
        SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
            addr.ip().is_unspecified() && addr.port() == 0
        }
        SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => false,
        SocketAddrUse::TcpConnect => allowed.allows_socket("tcp", addr),
        SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => allowed.allows_socket("udp", addr),
    };
    if !ok {
        tracing::warn!(%addr, ?used, "socket use denied by allowed_outbound_hosts");
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_needs_a_matching_rule_and_listening_is_never_allowed() {
        let rules = AllowedHosts::parse(
            &["tcp://127.0.0.1:5432".into(), "udp://*:53".into()],
            &Default::default(),
        )
        .unwrap();
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(permits(&rules, at("0.0.0.0:0"), SocketAddrUse::TcpBind));
        assert!(!permits(&rules, at("0.0.0.0:8080"), SocketAddrUse::TcpBind));
        assert!(permits(
            &rules,
            at("127.0.0.1:5432"),
            SocketAddrUse::TcpConnect
        ));
        assert!(!permits(
            &rules,
            at("127.0.0.1:5433"),
            SocketAddrUse::TcpConnect
        ));
        assert!(!permits(
            &rules,
            at("127.0.0.1:53"),
            SocketAddrUse::TcpConnect
        ));
        assert!(permits(&rules, at("10.0.0.1:53"), SocketAddrUse::UdpSend));
        assert!(!permits(
            &rules,
            at("127.0.0.1:5432"),
            SocketAddrUse::UdpSend
        ));
        assert!(!permits(&rules, at("0.0.0.0:0"), SocketAddrUse::TcpListen));
    }
}
