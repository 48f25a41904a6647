//! AWS Config: rule evaluations ("Config Rules Compliance Change", or the flat
//! `ComplianceChangeNotification` Config sends to its SNS topic) and configuration item
//! changes (`ConfigurationItemChangeNotification`, and the oversized variant that carries a
//! `configurationItemSummary` only).
//!
//! The EventBridge `detail` and the flat SNS notification have the same fields, so one
//! function reads each kind whatever carried it; only the event id and time differ.
//!
//! Decisions:
//! - The finding's kind is the rule name as deployed (`securityhub-restricted-ssh-a1b2c3d4`);
//!   matching strips the decorations with `base_rule_name`.
//! - For `AWS::IAM::User` Config's `resourceId` is the user's unique id (AIDA…), kept as the
//!   id; no ARN is built from it (a user's ARN needs its name and path).
//! - A configuration item change is not a verdict about compliance: it becomes a finding of
//!   kind `ConfigurationItemChange`, compliance `NOT_APPLICABLE`, always ignored, so it shows
//!   in plans and evidence but no playbook acts on it. A deleted resource says so instead.

use chrono::{DateTime, SecondsFormat, Utc};

use super::check::{Scope, compliance_ignore, resource, text};
use super::eventbridge::Event;
use super::json::{Field, Obj};
use super::sns::Origin;
use super::{Decoded, IntakeError};
use crate::finding::{Compliance, Finding, Source};
use crate::ids::quoted;

const RULE_CTX: &str = "Config rule evaluation";
const ITEM_CTX: &str = "Config configuration item";
const NOTIFICATION_CTX: &str = "AWS Config notification";

/// The kind of the (always ignored) finding made from a configuration item change.
pub const CONFIGURATION_ITEM_CHANGE: &str = "ConfigurationItemChange";

const ITEM_CHANGE_REASON: &str = "a configuration item change is not a compliance finding; redress acts on Config rule evaluations";

/// An EventBridge "Config Rules Compliance Change".
pub(crate) fn rule_event(ev: &Event<'_>) -> Result<Finding, IntakeError> {
    rule_evaluation(&ev.detail, Some(ev.id.clone()), Some(ev.time))
}

/// An EventBridge "Config Configuration Item Change".
pub(crate) fn item_event(ev: &Event<'_>) -> Result<Finding, IntakeError> {
    item_change(
        &ev.detail,
        Some(ev.id.clone()),
        Some(ev.time),
        ev.region.as_ref(),
    )
}

/// A flat notification as AWS Config sends it to its SNS topic (`messageType` at the top).
pub(crate) fn decode_notification(msg: &Obj<'_>, origin: &Origin) -> Result<Decoded, IntakeError> {
    let m = msg.with_ctx(NOTIFICATION_CTX);
    let message_type = m.str("messageType")?;
    match message_type.as_str() {
        "ComplianceChangeNotification" => {
            rule_evaluation(&m, origin.message_id.clone(), None).map(Decoded::one)
        }
        "ConfigurationItemChangeNotification" | "OversizedConfigurationItemChangeNotification" => {
            item_change(&m, origin.message_id.clone(), None, origin.region.as_ref())
                .map(Decoded::one)
        }
        // ConfigurationSnapshotDeliveryStarted/Completed/Failed, ConfigurationHistoryDelivery…,
        // ConfigRulesEvaluationStarted, …: delivery status, nothing about one resource.
        other => Ok(Decoded::ignored(format!(
            "AWS Config notification {} is not a rule evaluation; nothing to act on",
            quoted(other)
        ))),
    }
}

/// One rule evaluation. `event_id`/`time` come from the EventBridge envelope when there is
/// one; otherwise the id is the SNS MessageId or derived from the evaluation, and the time is
/// `notificationCreationTime`.
fn rule_evaluation(
    detail: &Obj<'_>,
    event_id: Option<String>,
    time: Option<DateTime<Utc>>,
) -> Result<Finding, IntakeError> {
    let d = detail.with_ctx(RULE_CTX);
    let kind = text(&d.str("configRuleName")?)?;
    let resource_type = d.str("resourceType")?;
    let resource_id = d.str("resourceId")?;
    let scope = Scope::new(&d.str("awsAccountId")?, &d.str("awsRegion")?, None)?;

    // `oldEvaluationResult` is absent on a first evaluation and not needed: the new result
    // alone says what to do.
    let new = d.obj("newEvaluationResult")?;
    let state = new.str("complianceType")?;
    let compliance = match state.as_str() {
        "NON_COMPLIANT" => Compliance::NonCompliant,
        "COMPLIANT" => Compliance::Compliant,
        "NOT_APPLICABLE" => Compliance::NotApplicable,
        "INSUFFICIENT_DATA" => Compliance::InsufficientData,
        other => {
            return Err(invalid(
                &state,
                other,
                "COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA",
            ));
        }
    };
    let ignore = compliance_ignore(compliance, state.as_str());
    let time = match time {
        Some(t) => t,
        None => d.time("notificationCreationTime")?,
    };
    let resource = resource(&resource_type, &resource_id, None, &scope, ignore.is_none())?;
    let event_id = match event_id {
        Some(id) => id,
        None => {
            // Stable across redeliveries of the same evaluation, so that claims dedupe it.
            let ordering = match new.opt_obj("evaluationResultIdentifier")? {
                Some(ident) => ident.opt_time("orderingTimestamp")?,
                None => None,
            };
            format!(
                "config:{kind}:{}:{}",
                resource.id,
                ordering
                    .unwrap_or(time)
                    .to_rfc3339_opts(SecondsFormat::Millis, true)
            )
        }
    };
    Ok(Finding {
        source: Source::Config,
        kind,
        account: scope.account,
        region: scope.region,
        partition: scope.partition,
        resource,
        severity: None,
        compliance,
        event_id,
        finding_id: None,
        time,
        tags: Default::default(),
        detail: d.to_value(),
        ignore,
    })
}

/// One configuration item change; always an ignored finding (see the module docs).
fn item_change(
    detail: &Obj<'_>,
    event_id: Option<String>,
    time: Option<DateTime<Utc>>,
    fallback_region: Option<&Field>,
) -> Result<Finding, IntakeError> {
    let d = detail.with_ctx(ITEM_CTX);
    let oversized = d
        .opt_str("messageType")?
        .is_some_and(|m| m.as_str() == "OversizedConfigurationItemChangeNotification");
    // An oversized notification carries only a summary; the full item is in S3.
    let item = if oversized {
        d.obj("configurationItemSummary")?
    } else {
        d.obj("configurationItem")?
    };
    let resource_type = item.str("resourceType")?;
    let resource_id = item.str("resourceId")?;
    let arn = item.opt_str("ARN")?;
    let region = item.str("awsRegion")?;
    // Global resources (IAM) are recorded with `awsRegion: "global"`; the event's own region
    // is where the recorder that saw the change runs.
    let region = if region.as_str() == "global" {
        fallback_region.cloned().ok_or_else(|| {
            invalid(
                &region,
                "global",
                "a region name (a global resource's configuration item needs the region of the event that carries it, and this message names none)",
            )
        })?
    } else {
        region
    };
    let scope = Scope::new(&item.str("awsAccountId")?, &region, None)?;
    let ignore = match item.opt_str("configurationItemStatus")? {
        Some(s) if matches!(s.as_str(), "ResourceDeleted" | "ResourceDeletedNotRecorded") => {
            format!(
                "the resource was deleted (configurationItemStatus {}); there is nothing to remediate",
                s.as_str()
            )
        }
        _ => ITEM_CHANGE_REASON.to_owned(),
    };
    let tags = item.opt_string_map("tags")?;
    let time = match time {
        Some(t) => t,
        None => d.time("notificationCreationTime")?,
    };
    let resource = resource(&resource_type, &resource_id, arn.as_ref(), &scope, false)?;
    let event_id = match event_id {
        Some(id) => id,
        None => {
            let captured = item
                .opt_time("configurationItemCaptureTime")?
                .unwrap_or(time);
            format!(
                "config:{}:{}:{}",
                resource.kind,
                resource.id,
                captured.to_rfc3339_opts(SecondsFormat::Millis, true)
            )
        }
    };
    Ok(Finding {
        source: Source::Config,
        kind: CONFIGURATION_ITEM_CHANGE.to_owned(),
        account: scope.account,
        region: scope.region,
        partition: scope.partition,
        resource,
        severity: None,
        compliance: Compliance::NotApplicable,
        event_id,
        finding_id: None,
        time,
        tags,
        detail: d.to_value(),
        ignore: Some(ignore),
    })
}

fn invalid(f: &Field, value: &str, expected: &str) -> IntakeError {
    IntakeError::InvalidValue {
        path: f.path.clone(),
        context: f.ctx,
        value: quoted(value),
        expected: expected.to_owned(),
    }
}
