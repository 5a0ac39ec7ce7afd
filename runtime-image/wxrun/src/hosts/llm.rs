//! Spin's LLM interface, `fermyon:spin/llm@2.0.0`, as Spin links it: a model
//! missing from the component's `ai_models` is `invalid-input` with Spin's
//! text, and calls go to the runtime config's `[llm_compute]` engine. The
//! engine is `remote_http` (Spin's own inference API at `url`, or an OpenAI
//! one with `api_type = "open_ai"`, bearer `auth_token`); wxrun carries no
//! local model runtime, so without a remote engine (or with `type = "spin"`)
//! each call is Spin's `runtime-error` for a build without local inference.
//! Owns the guest-facing functions and the two wire formats.

use crate::engine::Host;
use crate::runtime_config::{LlmApi, LlmCompute};
use serde::{Deserialize, Serialize};
use serde_json::json;
use wasmtime::component::{ComponentType, Lift, Linker, Lower};

/// The Spin 2 LLM interface (the SDKs of Spin 2, 3 and 4 all import it).
pub const V2: &str = "fermyon:spin/llm@2.0.0";

/// Spin's defaults when the guest passes no parameters.
const DEFAULT_PARAMS: InferencingParams = InferencingParams {
    max_tokens: 100,
    repeat_penalty: 1.1,
    repeat_penalty_last_n_token_count: 64,
    temperature: 0.8,
    top_k: 40,
    top_p: 0.9,
};

/// Also the `options` of Spin's `/infer` request (camelCase, f32 as f32).
#[derive(ComponentType, Lift, Lower, Debug, Clone, Copy, PartialEq, Serialize)]
#[component(record)]
#[serde(rename_all = "camelCase")]
pub struct InferencingParams {
    #[component(name = "max-tokens")]
    pub max_tokens: u32,
    #[component(name = "repeat-penalty")]
    pub repeat_penalty: f32,
    #[component(name = "repeat-penalty-last-n-token-count")]
    pub repeat_penalty_last_n_token_count: u32,
    pub temperature: f32,
    #[component(name = "top-k")]
    pub top_k: u32,
    #[component(name = "top-p")]
    pub top_p: f32,
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq)]
#[component(variant)]
pub enum Error {
    #[component(name = "model-not-supported")]
    ModelNotSupported,
    #[component(name = "runtime-error")]
    RuntimeError(String),
    #[component(name = "invalid-input")]
    InvalidInput(String),
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq, Deserialize)]
#[component(record)]
#[serde(rename_all = "camelCase")]
pub struct InferencingUsage {
    #[component(name = "prompt-token-count")]
    pub prompt_token_count: u32,
    #[component(name = "generated-token-count")]
    pub generated_token_count: u32,
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq, Deserialize)]
#[component(record)]
pub struct InferencingResult {
    pub text: String,
    pub usage: InferencingUsage,
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Eq, Deserialize)]
#[component(record)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddingsUsage {
    #[component(name = "prompt-token-count")]
    pub prompt_token_count: u32,
}

#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq, Deserialize)]
#[component(record)]
pub struct EmbeddingsResult {
    pub embeddings: Vec<Vec<f32>>,
    pub usage: EmbeddingsUsage,
}

/// The process's engine, from `[llm_compute]`.
#[derive(Clone, Default)]
pub enum Engine {
    /// No remote engine: every call fails as Spin's does without local inference.
    #[default]
    Local,
    Remote {
        url: url::Url,
        auth_token: String,
        api: LlmApi,
        client: reqwest::Client,
    },
}

impl Engine {
    pub fn new(config: Option<&LlmCompute>) -> Engine {
        match config {
            Some(LlmCompute::RemoteHttp {
                url,
                auth_token,
                api_type,
            }) => Engine::Remote {
                url: url.clone(),
                auth_token: auth_token.clone(),
                api: *api_type,
                client: reqwest::Client::new(),
            },
            Some(LlmCompute::Spin) | None => Engine::Local,
        }
    }

    async fn infer(
        &self,
        model: String,
        prompt: String,
        p: InferencingParams,
    ) -> Result<InferencingResult, Error> {
        match self {
            Engine::Local => Err(no_local_engine()),
            Engine::Remote {
                api: LlmApi::Default,
                ..
            } => {
                let body = InferRequest {
                    model: &model,
                    prompt: &prompt,
                    options: p,
                };
                self.post("/infer", &body).await
            }
            Engine::Remote {
                api: LlmApi::OpenAi,
                ..
            } => {
                let body = ChatRequest {
                    messages: [ChatMessage {
                        role: "user",
                        content: &prompt,
                    }],
                    model: &model,
                    max_completion_tokens: p.max_tokens,
                    frequency_penalty: p.repeat_penalty,
                };
                let reply: OpenAi<ChatCompletion> = self.post(CHAT_COMPLETIONS, &body).await?;
                let done = reply.into_result()?;
                Ok(InferencingResult {
                    text: done
                        .choices
                        .into_iter()
                        .next()
                        .map(|c| c.message.content)
                        .unwrap_or_default(),
                    usage: InferencingUsage {
                        prompt_token_count: done.usage.prompt_tokens,
                        generated_token_count: done.usage.completion_tokens,
                    },
                })
            }
        }
    }

    async fn embed(&self, model: String, input: Vec<String>) -> Result<EmbeddingsResult, Error> {
        match self {
            Engine::Local => Err(no_local_engine()),
            Engine::Remote {
                api: LlmApi::Default,
                ..
            } => {
                self.post("/embed", &json!({"model": model, "input": input}))
                    .await
            }
            Engine::Remote {
                api: LlmApi::OpenAi,
                ..
            } => {
                let body = json!({"input": input, "model": model});
                let reply: OpenAi<Embeddings> = self.post(EMBEDDINGS, &body).await?;
                let done = reply.into_result()?;
                Ok(EmbeddingsResult {
                    embeddings: done.data.into_iter().map(|d| d.embedding).collect(),
                    usage: EmbeddingsUsage {
                        prompt_token_count: done.usage.prompt_tokens,
                    },
                })
            }
        }
    }

    /// POSTs `body` to `path` under the engine's URL and reads the JSON answer.
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, Error> {
        let Engine::Remote {
            url,
            auth_token,
            client,
            ..
        } = self
        else {
            return Err(no_local_engine());
        };
        let runtime = |m: String| Error::RuntimeError(m);
        let target = url
            .join(path)
            .map_err(|_| runtime("Failed to create URL".into()))?;
        tracing::info!(%target, "remote inference request");
        let reply = client
            .post(target)
            .header("authorization", format!("bearer {auth_token}"))
            .json(body)
            .send()
            .await
            .map_err(|e| runtime(format!("POST {path} request error: {e}")))?;
        reply.json::<T>().await.map_err(|e| {
            runtime(format!(
                "Failed to deserialize response for \"POST {path}\": {e}"
            ))
        })
    }
}

/// Spin's `/infer` request.
#[derive(Serialize)]
struct InferRequest<'a> {
    model: &'a str,
    prompt: &'a str,
    options: InferencingParams,
}

/// OpenAI's chat completion request, as Spin makes it: the prompt as the user's message.
#[derive(Serialize)]
struct ChatRequest<'a> {
    messages: [ChatMessage<'a>; 1],
    model: &'a str,
    max_completion_tokens: u32,
    frequency_penalty: f32,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: &'a str,
}

const CHAT_COMPLETIONS: &str = "/v1/chat/completions";
const EMBEDDINGS: &str = "/v1/embeddings";

fn no_local_engine() -> Error {
    Error::RuntimeError("Local LLM operations are not supported in this version of Spin.".into())
}

/// An OpenAI-style answer: the result, or `{"error": {"message": ...}}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OpenAi<T> {
    Done(T),
    Failed { error: OpenAiError },
}

impl<T> OpenAi<T> {
    fn into_result(self) -> Result<T, Error> {
        match self {
            OpenAi::Done(t) => Ok(t),
            OpenAi::Failed { error } => Err(Error::RuntimeError(error.message)),
        }
    }
}

#[derive(Deserialize)]
struct OpenAiError {
    message: String,
}

#[derive(Deserialize)]
struct ChatCompletion {
    choices: Vec<Choice>,
    usage: ChatUsage,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: String,
}

#[derive(Deserialize)]
struct ChatUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

#[derive(Deserialize)]
struct Embeddings {
    data: Vec<Embedding>,
    usage: EmbeddingUsage,
}

#[derive(Deserialize)]
struct Embedding {
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct EmbeddingUsage {
    prompt_tokens: u32,
}

/// Spin's refusal of a model the component may not use.
fn not_granted(model: &str) -> Error {
    Error::InvalidInput(format!(
        "The component does not have access to use '{model}'. To give the component access, add '{model}' to the 'ai_models' key for the component in your spin.toml manifest"
    ))
}

/// The engine, if the component may use `model`.
fn engine_for(host: &Host, model: &str) -> Result<Engine, Error> {
    let grants = &host.hosts.grants;
    if !grants.ai_models.contains(model) {
        return Err(not_granted(model));
    }
    Ok((*grants.llm).clone())
}

/// Links `fermyon:spin/llm@2.0.0`.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    let mut inst = linker.instance(V2)?;
    inst.func_wrap_async(
        "infer",
        |store, (model, prompt, params): (String, String, Option<InferencingParams>)| {
            let engine = engine_for(store.data(), &model);
            Box::new(async move {
                Ok((match engine {
                    Ok(e) => {
                        e.infer(model, prompt, params.unwrap_or(DEFAULT_PARAMS))
                            .await
                    }
                    Err(e) => Err(e),
                },))
            })
        },
    )?;
    inst.func_wrap_async(
        "generate-embeddings",
        |store, (model, input): (String, Vec<String>)| {
            let engine = engine_for(store.data(), &model);
            Box::new(async move {
                Ok((match engine {
                    Ok(e) => e.embed(model, input).await,
                    Err(e) => Err(e),
                },))
            })
        },
    )?;
    Ok(())
}
