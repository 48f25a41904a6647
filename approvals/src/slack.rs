//! The Slack Web API client: `chat.postMessage`, `chat.update`, and POSTs to an
//! interaction's `response_url`.
//!
//! The bot token comes from `SLACK_BOT_TOKEN` and is never logged: [`Client`]'s `Debug`
//! redacts it, and errors carry Slack's error code or the transport error, never the request.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tracing::debug;

use crate::{MessageRef, SlackApi, SlackError};

/// The environment variable holding the bot token (`xoxb-…`).
pub const TOKEN_VAR: &str = "SLACK_BOT_TOKEN";

/// Every call gives up after this long; the caller decides whether to retry.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "{TOKEN_VAR} is not set: export the bot token (xoxb-…) of the redress Slack app, which needs the chat:write scope"
    )]
    MissingToken,
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl From<SetupError> for SlackError {
    fn from(e: SetupError) -> Self {
        SlackError::Http {
            method: "client setup",
            source: Box::new(e),
        }
    }
}

/// The Web API client.
#[derive(Clone)]
pub struct Client {
    /// Base URL without a trailing slash, e.g. `https://slack.com/api`.
    api_url: String,
    /// The bot token; sent as `Authorization: Bearer` to the Web API only.
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.api_url)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// What every Web API method answers (the fields redress reads).
#[derive(Debug, Deserialize)]
struct ApiReply {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

fn http_err(method: &'static str, e: reqwest::Error) -> SlackError {
    // reqwest's errors name the URL, never headers; drop the URL anyway (response_urls
    // are bearer-like: whoever has one can post into the conversation).
    SlackError::Http {
        method,
        source: Box::new(e.without_url()),
    }
}

impl Client {
    /// A client for `api_url` (e.g. `https://slack.com/api`) with this bot token.
    pub fn new(api_url: &str, token: &str) -> Result<Client, SetupError> {
        if token.trim().is_empty() {
            return Err(SetupError::MissingToken);
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("redress/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client {
            api_url: api_url.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
            http,
        })
    }

    /// A client for `api_url` with the token from `SLACK_BOT_TOKEN`.
    pub fn from_env(api_url: &str) -> Result<Client, SlackError> {
        let token = std::env::var(TOKEN_VAR).map_err(|_| SetupError::MissingToken)?;
        Ok(Client::new(api_url, &token)?)
    }

    /// The Web API base URL.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Calls a Web API method with a JSON body; `ok:false` is [`SlackError::Api`].
    async fn call(&self, method: &'static str, body: &Value) -> Result<ApiReply, SlackError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.api_url))
            .bearer_auth(&self.token)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| http_err(method, e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.map_err(|e| http_err(method, e))?;
        let reply: ApiReply = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(_) if status.as_u16() == 429 => ApiReply {
                ok: false,
                error: Some("ratelimited".to_owned()),
                channel: None,
                ts: None,
            },
            Err(e) => {
                return Err(SlackError::Api {
                    method,
                    error: format!("HTTP {status}, unreadable reply: {e}"),
                });
            }
        };
        if !reply.ok {
            let mut error = reply.error.unwrap_or_else(|| "unknown_error".to_owned());
            if let Some(secs) = retry_after {
                error.push_str(&format!(" (retry after {secs} s)"));
            }
            debug!(message = "Slack API call refused.", method, %error);
            return Err(SlackError::Api { method, error });
        }
        debug!(message = "Slack API call done.", method);
        Ok(reply)
    }
}

#[async_trait::async_trait]
impl SlackApi for Client {
    async fn post(
        &self,
        channel: &str,
        text: &str,
        blocks: &Value,
        thread_ts: Option<&str>,
    ) -> Result<MessageRef, SlackError> {
        const METHOD: &str = "chat.postMessage";
        let mut body = json!({
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        });
        if let (Some(ts), Some(obj)) = (thread_ts, body.as_object_mut()) {
            obj.insert("thread_ts".to_owned(), Value::String(ts.to_owned()));
        }
        let reply = self.call(METHOD, &body).await?;
        match (reply.channel, reply.ts) {
            (Some(channel), Some(ts)) => Ok(MessageRef { channel, ts }),
            _ => Err(SlackError::Api {
                method: METHOD,
                error: "the reply has no channel or ts".to_owned(),
            }),
        }
    }

    async fn update(
        &self,
        message: &MessageRef,
        text: &str,
        blocks: &Value,
    ) -> Result<(), SlackError> {
        let body = json!({
            "channel": message.channel,
            "ts": message.ts,
            "text": text,
            "blocks": blocks,
        });
        self.call("chat.update", &body).await.map(|_| ())
    }

    async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SlackError> {
        const METHOD: &str = "response_url";
        // No Authorization header: the URL is the credential, and the bot token must not
        // go to any host but the Web API's.
        let response = self
            .http
            .post(response_url)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| http_err(METHOD, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        // Slack answers errors here as plain text (`invalid_token`, `expired_url`, …) or
        // JSON `{"ok":false,"error":…}`.
        let error = serde_json::from_str::<ApiReply>(&text)
            .ok()
            .and_then(|r| r.error)
            .unwrap_or_else(|| text.chars().take(200).collect());
        Err(SlackError::Api {
            method: METHOD,
            error: format!("HTTP {status}: {error}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let c = Client::new("https://slack.example/api/", "xoxb-secret-123").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("xoxb-secret-123"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert_eq!(c.api_url(), "https://slack.example/api");
    }

    #[test]
    fn an_empty_token_is_refused() {
        let e = Client::new("https://slack.example/api", "  ").unwrap_err();
        assert!(e.to_string().contains("SLACK_BOT_TOKEN"), "{e}");
    }
}
