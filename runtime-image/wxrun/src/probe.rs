//! `wxrun probe`: the container health check. The image holds nothing but wxrun (no shell,
//! no curl), so wxrun asks a running wxrun's health endpoint itself; healthy means 200.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// GETs `path` from `addr` over HTTP/1.1 within `timeout`; `Ok` only for a 200.
pub async fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> anyhow::Result<()> {
    let status = tokio::time::timeout(timeout, get(addr, path))
        .await
        .with_context(|| format!("no answer from {addr} within {timeout:?}"))??;
    if status != http::StatusCode::OK {
        bail!("{addr}{path} answered {status}");
    }
    Ok(())
}

async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<http::StatusCode> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    Ok(sender.send_request(request).await?.status())
}
