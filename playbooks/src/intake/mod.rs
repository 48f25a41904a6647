//! Intake: one SQS message body → zero or more [`Finding`]s, or a typed error that names the
//! problem in one line.
//!
//! What a body can be (see DESIGN.md §1):
//! - an EventBridge event (`eventbridge`) from `aws.config` (`config`), `aws.guardduty`
//!   (`guardduty`) or `aws.securityhub` (`securityhub`); any other source decodes to no
//!   findings with an `ignored` reason;
//! - an SNS notification (`sns`) whose `Message` string is one of the above or AWS Config's
//!   own flat notification (`messageType: ComplianceChangeNotification`, …); only one
//!   envelope is unwrapped;
//! - AWS Config's flat notification on its own.
//!
//! Findings that must not be acted on (compliant, sample, archived, the target of an attack,
//! not a control finding…) are still returned, with [`Finding::ignore`] saying why, so that the
//! plan and the evidence show them. Field access goes through `json`, which keeps each
//! value's path for error messages; identifier checks and shared rules live in `check`.
//!
//! Nothing here panics on any input: JSON nesting is bounded by serde_json's recursion limit
//! (128), the body by [`MAX_MESSAGE_BYTES`], and every failure is an [`IntakeError`].

mod check;
mod config;
mod eventbridge;
mod guardduty;
mod json;
mod securityhub;
mod sns;

use serde_json::Value;

pub use config::CONFIGURATION_ITEM_CHANGE;

use crate::finding::Finding;
use crate::ids::IdError;
use json::{Context, Obj};

/// The largest body accepted: 256 KiB, the limit of an EventBridge event and of an SNS
/// message, so of anything that reaches the queue through them.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// What one message body decoded into.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The findings the message carries; some may carry an `ignore` reason.
    pub findings: Vec<Finding>,
    /// Why the message carries nothing to act on, when `findings` is empty. Also set, next
    /// to the findings, when some elements of a Security Hub batch were left out (findings
    /// from other products that could not be read; they are never acted on).
    pub ignored: Option<String>,
}

impl Decoded {
    fn ignored(reason: impl Into<String>) -> Self {
        Decoded {
            findings: Vec::new(),
            ignored: Some(reason.into()),
        }
    }

    fn one(finding: Finding) -> Self {
        Decoded {
            findings: vec![finding],
            ignored: None,
        }
    }
}

/// Why a message body could not be decoded. Every message is one line and names the field
/// (by its path from the root of the event, e.g. `detail.resource.resourceType`) where that
/// is the problem. Values from the input are quoted and cut short.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntakeError {
    #[error("the message body is empty")]
    Empty,
    #[error("the message body is blank (only whitespace)")]
    Blank,
    #[error(
        "the message body is {size} bytes, over the limit of {MAX_MESSAGE_BYTES} bytes (256 KiB)"
    )]
    TooLarge { size: usize },
    #[error("the message body is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("the message body is not JSON: {message} at line {line} column {column}")]
    NotJson {
        message: String,
        line: usize,
        column: usize,
    },
    /// `what` names the document: "the message body", "the SNS `Message`".
    #[error("{what} is {found}, expected a JSON object")]
    NotAnObject {
        what: &'static str,
        found: &'static str,
    },
    #[error(
        "{what} is not an EventBridge event (`source`, `detail-type`), an SNS notification (`Type`, `Message`) or an AWS Config notification (`messageType`)"
    )]
    UnknownShape { what: &'static str },
    #[error(
        "the SNS `Message` is not JSON: {message} at line {line} column {column} of the message"
    )]
    SnsMessageNotJson {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("the SNS `Message` is itself an SNS notification; redress unwraps one envelope only")]
    NestedEnvelope,
    #[error("missing field `{path}` in {context}")]
    MissingField { path: String, context: Context },
    #[error("field `{path}` in {context} is {found}, expected {expected}")]
    WrongType {
        path: String,
        context: Context,
        expected: &'static str,
        found: &'static str,
    },
    /// `value` is already quoted and cut short.
    #[error("field `{path}` in {context} is not an RFC 3339 timestamp: {value} ({reason})")]
    BadTimestamp {
        path: String,
        context: Context,
        value: String,
        reason: String,
    },
    #[error("field `{path}` in {context}: {error}")]
    InvalidId {
        path: String,
        context: Context,
        error: IdError,
    },
    /// A value of the right type that is not one the field may have; `value` is already
    /// quoted and cut short.
    #[error("field `{path}` in {context} is {value}, expected {expected}")]
    InvalidValue {
        path: String,
        context: Context,
        value: String,
        expected: String,
    },
    #[error(
        "field `{path}` in {context} is account {value}, but the finding is about account {account}"
    )]
    AccountMismatch {
        path: String,
        context: Context,
        value: String,
        account: String,
    },
}

impl IntakeError {
    /// The path of the field at fault, where the problem is one field.
    pub fn path(&self) -> Option<&str> {
        match self {
            IntakeError::MissingField { path, .. }
            | IntakeError::WrongType { path, .. }
            | IntakeError::BadTimestamp { path, .. }
            | IntakeError::InvalidId { path, .. }
            | IntakeError::InvalidValue { path, .. }
            | IntakeError::AccountMismatch { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Decodes one SQS message body.
pub fn decode(body: &[u8]) -> Result<Decoded, IntakeError> {
    if body.is_empty() {
        return Err(IntakeError::Empty);
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(IntakeError::TooLarge { size: body.len() });
    }
    let text = std::str::from_utf8(body).map_err(|e| IntakeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(IntakeError::Blank);
    }
    // serde_json's recursion limit (128) stays on: deeply nested input is an error, not a
    // stack overflow.
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let (message, line, column) = json_error_parts(&e);
        IntakeError::NotJson {
            message,
            line,
            column,
        }
    })?;
    let root = Obj::root(&value, "the message body", "message")?;
    match Shape::of(&root) {
        Shape::Sns => sns::decode(&root),
        Shape::EventBridge => eventbridge::decode(&root, None),
        Shape::ConfigNotification => config::decode_notification(&root, &sns::Origin::default()),
        Shape::Unknown => Err(IntakeError::UnknownShape {
            what: "the message body",
        }),
    }
}

/// What kind of document a JSON object is, by the keys that only that kind has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Sns,
    EventBridge,
    ConfigNotification,
    Unknown,
}

impl Shape {
    fn of(obj: &Obj<'_>) -> Shape {
        if obj.has_key("Type")
            && (obj.has_key("Message") || obj.has_key("MessageId") || obj.has_key("TopicArn"))
        {
            Shape::Sns
        } else if obj.has_key("source") || obj.has_key("detail-type") {
            Shape::EventBridge
        } else if obj.has_key("messageType") {
            Shape::ConfigNotification
        } else {
            Shape::Unknown
        }
    }
}

/// serde_json's message without its trailing " at line L column C", and the location.
fn json_error_parts(e: &serde_json::Error) -> (String, usize, usize) {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    (message, e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_level_errors() {
        assert_eq!(decode(b""), Err(IntakeError::Empty));
        assert_eq!(decode(b" \n\t"), Err(IntakeError::Blank));
        assert_eq!(
            decode(&[b'{', 0xff, b'}']),
            Err(IntakeError::NotUtf8 { offset: 1 })
        );
        assert_eq!(
            decode(b"{\"a\": }").unwrap_err().to_string(),
            "the message body is not JSON: expected value at line 1 column 7"
        );
        assert_eq!(
            decode(b"[]").unwrap_err().to_string(),
            "the message body is an array, expected a JSON object"
        );
        assert_eq!(
            decode(b"{\"hello\": 1}").unwrap_err().to_string(),
            "the message body is not an EventBridge event (`source`, `detail-type`), an SNS notification (`Type`, `Message`) or an AWS Config notification (`messageType`)"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let body = "[".repeat(100_000);
        let err = decode(body.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
    }
}
