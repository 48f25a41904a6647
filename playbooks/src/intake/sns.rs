//! The SNS envelope: `{"Type": "Notification", "MessageId", "TopicArn", "Message": "<JSON
//! as a string>", …}`. SNS always delivers `Message` as a string, so the inner document is
//! parsed a second time. One envelope is unwrapped; an envelope inside an envelope is an
//! error (it means a topic fans out to another topic, which is a misconfiguration, and
//! unwrapping without limit is a way to hide a payload).

use serde_json::Value;

use super::check::text;
use super::json::{Field, Obj};
use super::{Decoded, IntakeError, Shape, config, eventbridge, json_error_parts};
use crate::ids::quoted;

const CTX: &str = "SNS notification";

/// What the envelope tells the inner decoders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    /// The SNS `MessageId`: the event id of an AWS Config flat notification, which has none
    /// of its own.
    pub message_id: Option<String>,
    /// The region of `TopicArn`: where an AWS Config notification was sent from, for
    /// configuration items of global resources (`awsRegion: "global"`).
    pub region: Option<Field>,
}

pub(crate) fn decode(envelope: &Obj<'_>) -> Result<Decoded, IntakeError> {
    let env = envelope.with_ctx(CTX);
    let kind = env.str("Type")?;
    match kind.as_str() {
        "Notification" => {}
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let topic = env
                .opt_str("TopicArn")?
                .map_or_else(|| "an unnamed topic".to_owned(), |t| quoted(&t.value));
            return Ok(Decoded::ignored(format!(
                "SNS {} for {topic}: a subscription message, not an event; nothing to act on",
                kind.as_str()
            )));
        }
        other => {
            return Err(IntakeError::InvalidValue {
                path: kind.path.clone(),
                context: CTX,
                value: quoted(other),
                expected: "Notification, SubscriptionConfirmation or UnsubscribeConfirmation"
                    .to_owned(),
            });
        }
    }

    let origin = Origin {
        message_id: env.opt_str("MessageId")?.map(|f| text(&f)).transpose()?,
        region: env.opt_str("TopicArn")?.and_then(|t| topic_region(&t)),
    };
    let message = env.str("Message")?;
    let inner: Value = serde_json::from_str(message.as_str()).map_err(|e| {
        let (message, line, column) = json_error_parts(&e);
        IntakeError::SnsMessageNotJson {
            message,
            line,
            column,
        }
    })?;
    let inner = Obj::root(&inner, "the SNS `Message`", "message")?;
    match Shape::of(&inner) {
        Shape::Sns => Err(IntakeError::NestedEnvelope),
        Shape::EventBridge => eventbridge::decode(&inner, origin.region.as_ref()),
        Shape::ConfigNotification => config::decode_notification(&inner, &origin),
        Shape::Unknown => Err(IntakeError::UnknownShape {
            what: "the SNS `Message`",
        }),
    }
}

/// `arn:aws:sns:us-east-1:111122223333:topic` → `us-east-1` (unchecked: it is checked where used).
fn topic_region(topic: &Field) -> Option<Field> {
    let region = topic.as_str().split(':').nth(3)?;
    (!region.is_empty()).then(|| topic.derived(region))
}
