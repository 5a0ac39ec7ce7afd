//! A plain WASI 0.2 (`wasi:http/proxy`) component with no Spin imports: the
//! peer `wasmtime serve` can run too, for the throughput and cold-start
//! benchmarks. Answers every request with its path.

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

wasip2::http::proxy::export!(Probe);

struct Probe;

impl wasip2::exports::http::incoming_handler::Guest for Probe {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let headers = Fields::from_list(&[("x-probe".into(), b"p2".to_vec())])
            .expect("a static header is valid");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("a new response has a body");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("a new body has a stream");
        stream
            .blocking_write_and_flush(format!("p2 {path}\n").as_bytes())
            .expect("the client reads the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("the body is complete");
    }
}
