//! Decoding a Slack interaction: the form-encoded body `payload=<url-encoded JSON>`, of which
//! redress handles `block_actions` (a button click) and only the first action.
//!
//! Call this only on a body whose signature verified ([`crate::signature::verify`]). No input
//! makes it panic.

use serde_json::Value;

/// A button click, as much of it as redress uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    /// The payload `type`: always `block_actions` here.
    pub kind: String,
    /// Slack user id of the clicker.
    pub user_id: String,
    pub user_name: Option<String>,
    /// `action_id` of the first action (`approve` / `reject` on redress's buttons).
    pub action_id: String,
    /// The button's `value` (a [`crate::Token`] on redress's buttons); empty when absent.
    pub value: String,
    /// Where to answer the clicker or replace the message (valid for 30 minutes).
    pub response_url: Option<String>,
    pub channel: Option<String>,
    pub message_ts: Option<String>,
}

/// Why a body is not a usable `block_actions` interaction.
#[derive(Debug, thiserror::Error)]
pub enum InteractionError {
    #[error("body is not form-encoded")]
    NotForm,
    #[error("body has no `payload` field")]
    NoPayload,
    /// The message names the line and column, never the content.
    #[error("payload is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("payload is not a JSON object")]
    NotObject,
    /// Another kind of interaction (`view_submission`, `shortcut`, …): not an error of the
    /// sender, the endpoint acknowledges it and does nothing.
    #[error("interaction type `{kind}` is not handled")]
    NotBlockActions { kind: String },
    #[error("block_actions payload has no actions")]
    NoActions,
    #[error("the first action has no action_id")]
    NoActionId,
    #[error("block_actions payload has no user id")]
    NoUserId,
}

impl InteractionError {
    /// True for a well-formed interaction redress does not handle (answer 200, do nothing).
    pub fn is_ignorable(&self) -> bool {
        matches!(self, InteractionError::NotBlockActions { .. })
    }
}

/// Longest `type` echoed back in [`InteractionError::NotBlockActions`] (it ends up in logs).
const MAX_KIND_CHARS: usize = 40;

/// Decodes the raw form-encoded body of a `block_actions` interaction.
pub fn decode(body: &[u8]) -> Result<Interaction, InteractionError> {
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| InteractionError::NotForm)?;
    let payload = fields
        .into_iter()
        .find_map(|(k, v)| (k == "payload").then_some(v))
        .ok_or(InteractionError::NoPayload)?;
    decode_payload(&payload)
}

/// Decodes the JSON `payload` of an interaction.
pub fn decode_payload(payload: &str) -> Result<Interaction, InteractionError> {
    let json: Value = serde_json::from_str(payload).map_err(InteractionError::NotJson)?;
    if !json.is_object() {
        return Err(InteractionError::NotObject);
    }
    let kind = str_at(&json, "/type").unwrap_or_default();
    if kind != "block_actions" {
        return Err(InteractionError::NotBlockActions {
            kind: kind.chars().take(MAX_KIND_CHARS).collect(),
        });
    }
    let action = json
        .pointer("/actions/0")
        .filter(|a| a.is_object())
        .ok_or(InteractionError::NoActions)?;
    let action_id = str_at(action, "/action_id")
        .filter(|s| !s.is_empty())
        .ok_or(InteractionError::NoActionId)?;
    let user_id = str_at(&json, "/user/id")
        .filter(|s| !s.is_empty())
        .ok_or(InteractionError::NoUserId)?;
    Ok(Interaction {
        kind,
        user_id,
        user_name: str_at(&json, "/user/username").or_else(|| str_at(&json, "/user/name")),
        action_id,
        value: str_at(action, "/value").unwrap_or_default(),
        response_url: str_at(&json, "/response_url").filter(|s| !s.is_empty()),
        channel: str_at(&json, "/channel/id").or_else(|| str_at(&json, "/container/channel_id")),
        message_ts: str_at(&json, "/container/message_ts").or_else(|| str_at(&json, "/message/ts")),
    })
}

fn str_at(json: &Value, pointer: &str) -> Option<String> {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_body() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/events/slack-block-actions-approve.body.txt"
        );
        std::fs::read(path).unwrap()
    }

    fn form(payload: &str) -> Vec<u8> {
        serde_urlencoded::to_string([("payload", payload)])
            .unwrap()
            .into_bytes()
    }

    #[test]
    fn the_fixture_click_decodes() {
        let i = decode(&fixture_body()).unwrap();
        assert_eq!(
            i,
            Interaction {
                kind: "block_actions".into(),
                user_id: "U05RX7K9Q2L".into(),
                user_name: Some("maria.garcia".into()),
                action_id: "remediation_approve".into(),
                value: "approve:rem-20260314-0042".into(),
                response_url: Some(
                    "https://hooks.slack.com/actions/T0ACME1234/6817249301817/a4d758e8126e3807261ba5b6"
                        .into()
                ),
                channel: Some("C06SECREMED".into()),
                message_ts: Some("1773479702.004200".into()),
            }
        );
    }

    #[test]
    fn each_malformed_body_has_its_error() {
        type Case = (&'static [u8], fn(&InteractionError) -> bool);
        let cases: [Case; 9] = [
            (b"", |e| matches!(e, InteractionError::NoPayload)),
            (b"token=x&team_id=T1", |e| {
                matches!(e, InteractionError::NoPayload)
            }),
            (b"payload=%7Bnot+json", |e| {
                matches!(e, InteractionError::NotJson(_))
            }),
            (b"payload=%5B1%5D", |e| {
                matches!(e, InteractionError::NotObject)
            }),
            (
                b"payload=%7B%7D",
                |e| matches!(e, InteractionError::NotBlockActions { kind } if kind.is_empty()),
            ),
            (b"payload=%7B%22type%22%3A%22block_actions%22%7D", |e| {
                matches!(e, InteractionError::NoActions)
            }),
            (
                b"payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%5D%7D",
                |e| matches!(e, InteractionError::NoActions),
            ),
            (
                b"payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%7B%7D%5D%7D",
                |e| matches!(e, InteractionError::NoActionId),
            ),
            (b"\xff\xfe=%%%", |e| {
                matches!(e, InteractionError::NoPayload)
            }),
        ];
        for (body, expected) in cases {
            let err = decode(body).unwrap_err();
            assert!(
                expected(&err),
                "{:?}: {err:?}",
                String::from_utf8_lossy(body)
            );
        }
        let no_user = form(r#"{"type":"block_actions","actions":[{"action_id":"approve"}]}"#);
        assert!(matches!(decode(&no_user), Err(InteractionError::NoUserId)));
        let numeric_user =
            form(r#"{"type":"block_actions","user":{"id":7},"actions":[{"action_id":"approve"}]}"#);
        assert!(matches!(
            decode(&numeric_user),
            Err(InteractionError::NoUserId)
        ));
    }

    #[test]
    fn other_interaction_types_are_ignorable() {
        let err = decode(&form(r#"{"type":"view_submission","user":{"id":"U1"}}"#)).unwrap_err();
        assert!(err.is_ignorable());
        assert!(
            matches!(err, InteractionError::NotBlockActions { kind } if kind == "view_submission")
        );
        let long = format!(r#"{{"type":"{}"}}"#, "x".repeat(10_000));
        let Err(InteractionError::NotBlockActions { kind }) = decode(&form(&long)) else {
            panic!("expected NotBlockActions");
        };
        assert_eq!(kind.len(), MAX_KIND_CHARS);
        assert!(!InteractionError::NoActions.is_ignorable());
    }

    #[test]
    fn a_click_without_value_or_response_url_still_decodes() {
        let i = decode(&form(
            r#"{"type":"block_actions","user":{"id":"U1","name":"n"},"actions":[{"action_id":"reject"}]}"#,
        ))
        .unwrap();
        assert_eq!(i.value, "");
        assert_eq!(i.user_name.as_deref(), Some("n"));
        assert_eq!(i.response_url, None);
        assert_eq!(i.channel, None);
    }
}
