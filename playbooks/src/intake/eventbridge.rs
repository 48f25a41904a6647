//! The EventBridge envelope: `{"version", "id", "detail-type", "source", "account", "time",
//! "region", "resources", "detail"}`, dispatched on (`source`, `detail-type`).
//!
//! The envelope's `account` is not used as the finding's account: on an organization event
//! bus, and for Security Hub's aggregated findings, it is the account that sent the event,
//! not necessarily the one that owns the resource. Each source's detail says that.

use chrono::{DateTime, Utc};

use super::check::text;
use super::json::{Field, Obj};
use super::{Decoded, IntakeError, config, guardduty, securityhub};
use crate::ids::quoted;

const CTX: &str = "EventBridge event";

/// An event whose source redress handles, with the envelope fields the sources use.
#[derive(Debug, Clone)]
pub(crate) struct Event<'a> {
    /// The EventBridge `id`: the finding's `event_id`.
    pub id: String,
    /// The EventBridge `time`: when the event was emitted.
    pub time: DateTime<Utc>,
    /// The envelope's `region` (or, failing that, the region of the SNS topic that carried
    /// the event); unchecked until a source falls back on it.
    pub region: Option<Field>,
    pub detail: Obj<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Handler {
    ConfigRule,
    ConfigItem,
    GuardDuty,
    SecurityHub,
}

/// Decodes an EventBridge event; `fallback_region` comes from an enclosing SNS envelope.
pub(crate) fn decode(
    event: &Obj<'_>,
    fallback_region: Option<&Field>,
) -> Result<Decoded, IntakeError> {
    let ev = event.with_ctx(CTX);
    let source = ev.str("source")?;
    let detail_type = ev.str("detail-type")?;
    let handler = match (source.as_str(), detail_type.as_str()) {
        ("aws.config", "Config Rules Compliance Change") => Handler::ConfigRule,
        ("aws.config", "Config Configuration Item Change") => Handler::ConfigItem,
        ("aws.guardduty", "GuardDuty Finding") => Handler::GuardDuty,
        ("aws.securityhub", "Security Hub Findings - Imported") => Handler::SecurityHub,
        (src @ ("aws.config" | "aws.guardduty" | "aws.securityhub"), other) => {
            let handled = match src {
                "aws.config" => {
                    "\"Config Rules Compliance Change\" and \"Config Configuration Item Change\""
                }
                "aws.guardduty" => "\"GuardDuty Finding\"",
                _ => "\"Security Hub Findings - Imported\"",
            };
            return Ok(Decoded::ignored(format!(
                "{src} event of detail-type {} carries no finding; redress handles {handled}",
                quoted(other)
            )));
        }
        (other, dt) => {
            return Ok(Decoded::ignored(format!(
                "unsupported event source {} (detail-type {}): redress handles aws.config, aws.guardduty and aws.securityhub",
                quoted(other),
                quoted(dt)
            )));
        }
    };

    let event = Event {
        id: text(&ev.str("id")?)?,
        time: ev.time("time")?,
        region: ev.opt_str("region")?.or_else(|| fallback_region.cloned()),
        detail: ev.obj("detail")?,
    };
    match handler {
        Handler::ConfigRule => config::rule_event(&event).map(Decoded::one),
        Handler::ConfigItem => config::item_event(&event).map(Decoded::one),
        Handler::GuardDuty => guardduty::decode(&event).map(Decoded::one),
        Handler::SecurityHub => securityhub::decode(&event),
    }
}
