//! A Spin HTTP component in the shape of Spin's `http-rust` template, for
//! wxrun's tests. It answers with what Spin told it about the request, so a
//! test can assert the exact routing headers:
//! - `GET /vars/<name>` (route `/vars/:name`): the variable's value, or the
//!   error `spin_sdk::variables::get` returned, as `<kind>: <message>`;
//! - any other request: `<method> <path>` then one `name: value` line per
//!   `spin-*` header, sorted by name.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;
use spin_sdk::variables::{self, Error};

#[http_component]
fn handle_http_rust(req: Request) -> anyhow::Result<impl IntoResponse> {
    let header = |name: &str| req.header(name).and_then(|v| v.as_str()).unwrap_or("");
    let body = if header("spin-matched-route") == "/vars/:name" {
        variable(header("spin-path-match-name"))
    } else {
        spin_headers(&req)
    };
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(body)
        .build())
}

fn variable(name: &str) -> String {
    match variables::get(name) {
        Ok(value) => format!("value: {value}"),
        Err(Error::InvalidName(m)) => format!("invalid-name: {m}"),
        Err(Error::Undefined(m)) => format!("undefined: {m}"),
        Err(Error::Provider(m)) => format!("provider: {m}"),
        Err(Error::Other(m)) => format!("other: {m}"),
    }
}

fn spin_headers(req: &Request) -> String {
    let mut lines: Vec<String> = req
        .headers()
        .filter(|(name, _)| name.starts_with("spin-"))
        .map(|(name, value)| format!("{name}: {}", value.as_str().unwrap_or("<binary>")))
        .collect();
    lines.sort();
    let mut out = format!("{:?} {}\n", req.method(), req.path());
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}
