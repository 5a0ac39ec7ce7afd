//! Spin's LLM interface (`fermyon:spin/llm@2.0.0`) from a spin-sdk guest:
//! `ai_models` grants and Spin's error values, Spin's error without a remote
//! engine, and `[llm_compute] type = "remote_http"` against an inference
//! server of the test's own, in Spin's API and in OpenAI's, which records
//! what wxrun sent it.

use crate::support::*;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The requests an engine got: path, `authorization`, JSON body.
type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

/// An inference server on 127.0.0.1 answering each path with `answer(path)`.
async fn engine(answer: fn(&str) -> Value) -> (u16, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Seen::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            let service =
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let auth = req
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_string());
                        let body = req.into_body().collect().await?.to_bytes();
                        let body: Value = serde_json::from_slice(&body).unwrap();
                        log.lock()
                            .unwrap()
                            .push((path.clone(), auth.unwrap_or_default(), body));
                        let reply = bytes::Bytes::from(answer(&path).to_string());
                        Ok::<_, hyper::Error>(http::Response::new(Full::new(reply)))
                    }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });
    (port, seen)
}

fn app(dir: &std::path::Path) -> std::path::PathBuf {
    spin_hosts_app(
        dir,
        &[("granted", r#"ai_models = ["m", "e"]"#), ("none", "")],
    )
}

/// A wxrun serving the app with `[llm_compute]` set to `compute`.
async fn serve(dir: &std::path::Path, compute: &str) -> Server {
    let config = runtime_config(dir, &format!("[llm_compute]\n{compute}"));
    serve_with_config(&app(dir), &config, &[]).await
}

fn remote(port: u16, api: &str) -> String {
    format!(
        "type = \"remote_http\"\nurl = \"http://127.0.0.1:{port}\"\nauth_token = \"tok\"\napi_type = \"{api}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn ungranted_models_and_a_missing_engine_are_spins_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&["--from", app(tmp.path()).to_str().unwrap()], &[]).await;
    let refused = |model: &str| {
        format!(
            "err:InvalidInput(\"The component does not have access to use '{model}'. To give the \
             component access, add '{model}' to the 'ai_models' key for the component in your \
             spin.toml manifest\")"
        )
    };
    assert_eq!(post(&server, "/none/llm/m/infer", "hi").await, refused("m"));
    assert_eq!(
        post(&server, "/granted/llm/x/embed", "hi").await,
        refused("x")
    );
    // Granted, but no `[llm_compute]`: Spin's answer without a local engine.
    let local =
        "err:RuntimeError(\"Local LLM operations are not supported in this version of Spin.\")";
    assert_eq!(post(&server, "/granted/llm/m/infer", "hi").await, local);
    let spin_type = tempfile::tempdir().unwrap();
    let server = serve(spin_type.path(), "type = \"spin\"\n").await;
    assert_eq!(post(&server, "/granted/llm/e/embed", "hi").await, local);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_engine_gets_spins_requests_and_its_answers_reach_the_guest() {
    let (port, seen) = engine(|path| match path {
        "/infer" => {
            json!({"text": "hi there", "usage": {"promptTokenCount": 3, "generatedTokenCount": 2}})
        }
        _ => json!({"embeddings": [[0.5, 1.0], [2.0, 0.0]], "usage": {"promptTokenCount": 4}}),
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(tmp.path(), &remote(port, "default")).await;

    assert_eq!(
        post(&server, "/granted/llm/m/infer", "hello").await,
        "ok:hi there|3|2"
    );
    assert_eq!(
        post(&server, "/granted/llm/m/tuned", "hello").await,
        "ok:hi there|3|2"
    );
    assert_eq!(
        post(&server, "/granted/llm/e/embed", "a\nb").await,
        "ok:[[0.5, 1.0], [2.0, 0.0]]|4"
    );
    let options = |max: u32, temperature: f64| {
        json!({"maxTokens": max, "repeatPenalty": 1.1, "repeatPenaltyLastNTokenCount": 64,
               "temperature": temperature, "topK": 40, "topP": 0.9})
    };
    let bearer = "bearer tok".to_string();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            // No parameters from the guest: Spin's defaults.
            (
                "/infer".into(),
                bearer.clone(),
                json!({"model": "m", "prompt": "hello", "options": options(100, 0.8)})
            ),
            (
                "/infer".into(),
                bearer.clone(),
                json!({"model": "m", "prompt": "hello", "options": options(7, 0.25)})
            ),
            (
                "/embed".into(),
                bearer,
                json!({"model": "e", "input": ["a", "b"]})
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_openai_engine_is_asked_in_openais_terms_and_its_errors_are_values() {
    let (port, seen) = engine(|path| match path {
        "/v1/chat/completions" => json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "from openai"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}
        }),
        _ => json!({"error": {"message": "quota exceeded", "type": "insufficient_quota", "code": "x"}}),
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(tmp.path(), &remote(port, "open_ai")).await;
    assert_eq!(
        post(&server, "/granted/llm/m/infer", "hello").await,
        "ok:from openai|5|6"
    );
    assert_eq!(
        post(&server, "/granted/llm/e/embed", "a").await,
        "err:RuntimeError(\"quota exceeded\")"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, "/v1/chat/completions");
    assert_eq!(
        seen[0].2,
        json!({"messages": [{"role": "user", "content": "hello"}], "model": "m",
               "max_completion_tokens": 100, "frequency_penalty": 1.1})
    );
    assert_eq!(seen[1].0, "/v1/embeddings");
    assert_eq!(seen[1].2, json!({"input": ["a"], "model": "e"}));

    // An engine that does not answer: a runtime error naming the call.
    let closed = tempfile::tempdir().unwrap();
    let server = serve(closed.path(), &remote(free_port(), "default")).await;
    let r = post(&server, "/granted/llm/m/infer", "hello").await;
    assert!(
        r.starts_with("err:RuntimeError(\"POST /infer request error: "),
        "{r}"
    );
}
