//! A WASI 0.3 (`wasi:http/handler@0.3.0`) test component for wxrun: each path
//! suffix exercises one behaviour the runtime must handle.

use bytes::Bytes;
use http_body_util::Full;
use wasip3::http::types::{self, ErrorCode};
use wasip3::http_compat::{IncomingRequestBody, http_from_wasi_request, http_into_wasi_response};

wasip3::http::service::export!(Probe);

struct Probe;

impl wasip3::exports::http::handler::Guest for Probe {
    async fn handle(request: types::Request) -> Result<types::Response, ErrorCode> {
        let request = http_from_wasi_request(request)?;
        http_into_wasi_response(serve(request))
    }
}

fn serve(request: http::Request<IncomingRequestBody>) -> http::Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    if path.ends_with("/bin") {
        return http::Response::builder()
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from_static(&[0, 159, 146, 150, 255])))
            .expect("static response parts are valid");
    }
    if path.ends_with("/loop") {
        let mut n = 0u64;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
    if path.ends_with("/alloc") {
        let big = vec![7u8; 512 * 1024 * 1024];
        return http::Response::new(Full::new(Bytes::copy_from_slice(&std::hint::black_box(big)[..1])));
    }
    if path.ends_with("/count") {
        // Requests this instance has served: 1 unless wxrun reuses instances.
        static SERVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SERVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        return http::Response::new(Full::new(Bytes::from(n.to_string())));
    }
    if path.ends_with("/panic") {
        panic!("probe-p3 asked to panic");
    }
    let env = std::env::var("PROBE_ENV").unwrap_or_default();
    http::Response::builder()
        .header("x-probe", "p3")
        .header("x-probe-path-info", header(&request, "spin-path-info"))
        .header("x-probe-matched-route", header(&request, "spin-matched-route"))
        .body(Full::new(Bytes::from(format!("p3 {path} env={env}\n"))))
        .expect("static response parts are valid")
}

fn header(request: &http::Request<IncomingRequestBody>, name: &str) -> String {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}
