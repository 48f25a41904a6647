//! Block Kit messages: the approval request, the dry-run change review, the request after a
//! decision, and thread replies (outcome, repeat sighting).
//!
//! Every message returns `(text, blocks)`: `text` is the one-line notification fallback,
//! `blocks` the JSON array for `chat.postMessage` / `chat.update`.
//!
//! Trust: everything that comes from a finding, a tag, a resource id, captured state or step
//! parameters goes through [`escape`] (or [`code`], which escapes too), so `<!channel>`,
//! `<@U…>` and `<https://evil|click>` render as text and cannot ping or link. Every mrkdwn
//! text object is `verbatim`, so Slack does not auto-link bare URLs, `#channel` names or
//! `@here` in it either. Only approver ids (validated config, and checked again here) become
//! mentions, and only console URLs that redress builds (ids percent-encoded) become links.
//! Section texts are kept under Slack's 3000-character limit.

use chrono::{DateTime, Utc};
use redress_playbooks::actions::Value as ParamValue;
use serde_json::{Value, json};

use crate::{ApprovalRequest, DecisionRecord, Token, Verdict};

/// Slack's limit on the text of a section block (and of a context element).
pub const SECTION_MAX: usize = 3000;
/// Slack's limit on one section field.
const FIELD_MAX: usize = 2000;
/// Slack's limit on a header block's text.
const HEADER_MAX: usize = 150;
/// Slack's limit on a confirmation dialog's text.
const CONFIRM_TEXT_MAX: usize = 300;
/// Steps shown in full; a longer plan lists the rest by count (Slack allows 50 blocks).
const STEPS_SHOWN: usize = 10;
/// Lines of a summarized state, of a list of rules or keys, and of planned calls.
const LINES_SHOWN: usize = 8;

/// Escapes text from a finding for mrkdwn: `&`, `<`, `>` become entities (so nothing can
/// become a mention, a link or a channel ping); line breaks and tabs become spaces; other
/// control characters and bidirectional overrides are dropped; text longer than `max`
/// characters is cut to `max` with a trailing `…`.
pub fn escape(text: &str, max: usize) -> String {
    let clean: Vec<char> = text.chars().filter_map(clean_char).collect();
    let cut = clean.len() > max;
    let keep = if cut {
        max.saturating_sub(1)
    } else {
        clean.len()
    };
    let mut out = String::with_capacity(keep + 8);
    for &c in &clean[..keep] {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    if cut && max > 0 {
        out.push('…');
    }
    out
}

/// `text` as inline code: escaped, backticks replaced (they would end the code span), `_none_`
/// when empty.
pub fn code(text: &str, max: usize) -> String {
    let inner = escape(&text.replace('`', "ˋ"), max);
    if inner.trim().is_empty() {
        "_none_".to_owned()
    } else {
        format!("`{inner}`")
    }
}

/// Whitespace controls become spaces; other controls and bidi overrides are dropped.
fn clean_char(c: char) -> Option<char> {
    match c {
        '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => Some(' '),
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => None,
        c if c.is_control() => None,
        c => Some(c),
    }
}

/// Text for a `plain_text` object (header, dialog), where entities are not decoded: `<`, `>`
/// and `&` are replaced by look-alikes instead of escaped.
fn plain(text: &str, max: usize) -> String {
    let clean: String = text.chars().filter_map(clean_char).collect();
    let cut = clean.chars().count() > max;
    let mut out: String = clean
        .chars()
        .take(if cut { max.saturating_sub(1) } else { max })
        .map(|c| match c {
            '<' => '‹',
            '>' => '›',
            '&' => '＆',
            c => c,
        })
        .collect();
    if cut && max > 0 {
        out.push('…');
    }
    out
}

/// Cuts assembled mrkdwn to `max` characters without splitting an entity or a `<…>` link,
/// and closes a code block the cut left open.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(6)).collect();
    if let Some(amp) = out.rfind('&')
        && !out[amp..].contains(';')
    {
        out.truncate(amp);
    }
    if let Some(lt) = out.rfind('<')
        && !out[lt..].contains('>')
    {
        out.truncate(lt);
    }
    out.push('…');
    if out.matches("```").count() % 2 == 1 {
        out.push_str("\n```");
    }
    out
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": fit(text, SECTION_MAX), "verbatim": true})
}

fn plain_text(text: &str) -> Value {
    json!({"type": "plain_text", "text": text, "emoji": true})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn(text)})
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": plain_text(&plain(text, HEADER_MAX))})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [mrkdwn(text)]})
}

fn divider() -> Value {
    json!({"type": "divider"})
}

/// A Slack mention for a configured approver id (`U…`/`W…`), or the id as text when it is
/// not one.
fn mention(user: &str) -> String {
    let is_id = (2..=32).contains(&user.len())
        && (user.starts_with('U') || user.starts_with('W'))
        && user
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if is_id {
        format!("<@{user}>")
    } else {
        code(user, 40)
    }
}

/// A time in each reader's time zone, with a UTC fallback.
fn slack_date(t: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        t.timestamp(),
        t.format("%Y-%m-%d %H:%M UTC")
    )
}

// ---------------------------------------------------------------------------------------
// The finding
// ---------------------------------------------------------------------------------------

/// The finding fields a message shows, read from the request's plan-JSON finding.
struct Found<'a> {
    source: &'a str,
    kind: &'a str,
    account: &'a str,
    region: &'a str,
    resource_type: &'a str,
    resource_id: &'a str,
    resource_arn: Option<&'a str>,
    severity: Option<f64>,
    event_id: &'a str,
}

impl<'a> Found<'a> {
    fn of(req: &'a ApprovalRequest) -> Self {
        let f = &req.finding;
        let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("");
        Found {
            source: s("source"),
            kind: s("kind"),
            account: s("account"),
            region: s("region"),
            resource_type: s("resource_type"),
            resource_id: s("resource_id"),
            resource_arn: f.get("resource_arn").and_then(Value::as_str),
            severity: f.get("severity").and_then(Value::as_f64),
            event_id: s("event_id"),
        }
    }

    /// `AWS::EC2::SecurityGroup sg-0abc (111122223333, us-east-1)`, escaped, for one-liners.
    fn one_line(&self) -> String {
        format!(
            "{} {} ({}, {})",
            escape(self.resource_type, 60),
            escape(self.resource_id, 120),
            escape(self.account, 20),
            escape(self.region, 30)
        )
    }
}

fn source_name(source: &str) -> String {
    match source {
        "config" => "AWS Config".to_owned(),
        "guardduty" => "GuardDuty".to_owned(),
        "securityhub" => "Security Hub".to_owned(),
        other => escape(other, 40),
    }
}

/// GuardDuty's bands on its 0–10 scale (Security Hub's is divided by 10 at intake).
fn severity_text(severity: Option<f64>) -> String {
    match severity {
        None => "not given".to_owned(),
        Some(s) => {
            let band = if s >= 9.0 {
                "critical"
            } else if s >= 7.0 {
                "high"
            } else if s >= 4.0 {
                "medium"
            } else {
                "low"
            };
            format!("{s:.1} ({band})")
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so an id cannot end a
/// Slack link (`|`, `>`) or change the URL's structure.
fn pct(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Console URLs below are the commercial partition's; elsewhere no link beats a wrong one.
fn in_aws_partition(found: &Found<'_>) -> bool {
    let arn_partition = found.resource_arn.and_then(|a| a.split(':').nth(1));
    let region_other = found.region.starts_with("cn-")
        || found.region.starts_with("us-gov-")
        || found.region.contains("-iso");
    match arn_partition {
        Some(p) => p == "aws" && !region_other,
        None => !region_other,
    }
}

fn param_str<'a>(req: &'a ApprovalRequest, name: &str) -> Option<&'a str> {
    req.steps.iter().find_map(|s| match s.params.get(name) {
        Some(ParamValue::Str(v)) if !v.is_empty() => Some(v.as_str()),
        _ => None,
    })
}

/// The captured state of step `i` (`before` is one state per step).
fn before_of(req: &ApprovalRequest, i: usize) -> Option<&Value> {
    match &req.before {
        Value::Array(states) => states.get(i),
        Value::Null => None,
        one if req.steps.len() == 1 && i == 0 => Some(one),
        _ => None,
    }
}

/// The IAM user a request is about: the name the capture resolved, else the step's `user`
/// parameter unless it is a user id (AIDA…), which the console cannot open by.
fn iam_user(req: &ApprovalRequest) -> Option<String> {
    let resolved = (0..req.steps.len())
        .filter_map(|i| before_of(req, i))
        .find_map(|s| s.get("user").and_then(Value::as_str));
    resolved
        .or_else(|| param_str(req, "user").filter(|u| !u.starts_with("AIDA")))
        .map(str::to_owned)
}

/// A console link for the resource, when redress knows the URL shape.
fn console_url(req: &ApprovalRequest, found: &Found<'_>) -> Option<String> {
    if !in_aws_partition(found) {
        return None;
    }
    let id = found.resource_id;
    let region = found.region;
    let regional = |fragment: &str| {
        is_region(region).then(|| {
            format!("https://{region}.console.aws.amazon.com/ec2/home?region={region}#{fragment}")
        })
    };
    match found.resource_type {
        "AWS::S3::Bucket" if !id.is_empty() => {
            let mut url = format!("https://s3.console.aws.amazon.com/s3/buckets/{}", pct(id));
            if is_region(region) {
                url.push_str(&format!("?region={region}"));
            }
            Some(url)
        }
        "AWS::EC2::SecurityGroup" if !id.is_empty() => {
            regional(&format!("SecurityGroup:groupId={}", pct(id)))
        }
        "AWS::EC2::Instance" if !id.is_empty() => {
            regional(&format!("InstanceDetails:instanceId={}", pct(id)))
        }
        "AWS::IAM::AccessKey" | "AWS::IAM::User" => iam_user(req).map(|u| {
            format!(
                "https://console.aws.amazon.com/iam/home#/users/details/{}",
                pct(&u)
            )
        }),
        "AWS::IAM::Role" => param_str(req, "role")
            .or(Some(id).filter(|i| !i.is_empty()))
            .map(|r| {
                format!(
                    "https://console.aws.amazon.com/iam/home#/roles/details/{}",
                    pct(r)
                )
            }),
        "AWS::::Account" => {
            let service = req.steps.first()?.action.split('.').next()?;
            match service {
                "iam" => Some("https://console.aws.amazon.com/iam/home".to_owned()),
                "ec2" => regional("Settings:"),
                "s3" => Some("https://s3.console.aws.amazon.com/s3/home".to_owned()),
                s if s.bytes().all(|b| b.is_ascii_lowercase()) && !s.is_empty() => {
                    is_region(region).then(|| {
                        format!("https://{region}.console.aws.amazon.com/{s}/home?region={region}")
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Tags the finding carries (`finding.tags`), as `key=value` code spans.
fn tags_text(req: &ApprovalRequest) -> Option<String> {
    let tags = req.finding.get("tags")?.as_object()?;
    if tags.is_empty() {
        return None;
    }
    let mut shown: Vec<String> = tags
        .iter()
        .take(LINES_SHOWN)
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            code(&format!("{k}={v}"), 120)
        })
        .collect();
    if tags.len() > LINES_SHOWN {
        shown.push(format!("and {} more", tags.len() - LINES_SHOWN));
    }
    Some(shown.join(" "))
}

/// The "what was found" section: one line and fields.
fn finding_block(req: &ApprovalRequest, found: &Found<'_>) -> Value {
    let resource = match (console_url(req, found), iam_user(req)) {
        // The console has no page per access key: link its user.
        (Some(url), Some(user)) if found.resource_type == "AWS::IAM::AccessKey" => format!(
            "{} of user <{url}|{}>",
            code(found.resource_id, 200),
            escape(&user, 80)
        ),
        (Some(url), _) => format!("<{url}|{}>", escape(found.resource_id, 200)),
        (None, _) => code(found.resource_id, 200),
    };
    let mut fields = vec![
        format!(
            "*Finding*\n{} from {}",
            code(found.kind, 200),
            source_name(found.source)
        ),
        format!("*Severity*\n{}", severity_text(found.severity)),
        format!("*Account*\n{}", code(found.account, 20)),
        format!("*Region*\n{}", code(found.region, 30)),
        format!("*Resource type*\n{}", code(found.resource_type, 80)),
        format!("*Resource*\n{resource}"),
    ];
    if let Some(tags) = tags_text(req) {
        fields.push(format!("*Tags*\n{tags}"));
    }
    let fields: Vec<Value> = fields.iter().map(|f| mrkdwn(&fit(f, FIELD_MAX))).collect();
    json!({
        "type": "section",
        "text": mrkdwn("*What was found*"),
        "fields": fields,
    })
}

// ---------------------------------------------------------------------------------------
// What will change
// ---------------------------------------------------------------------------------------

/// A JSON value on one line: strings as they are, the rest as compact JSON.
fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `tcp 22 from 0.0.0.0/0` for one security group rule of the captured state.
fn rule_text(r: &Value) -> String {
    let s = |k: &str| r.get(k).and_then(Value::as_str);
    let protocol = s("protocol").unwrap_or("-1");
    let from = r.get("from_port").and_then(Value::as_i64);
    let to = r.get("to_port").and_then(Value::as_i64);
    let what = match protocol {
        "-1" | "all" => "all traffic".to_owned(),
        "icmp" | "icmpv6" | "1" | "58" => match from {
            Some(t) if t >= 0 => format!("{protocol} type {t}"),
            _ => format!("{protocol} all"),
        },
        p => match (from, to) {
            (Some(f), Some(t)) if f >= 0 && f == t => format!("{p} {f}"),
            (Some(f), Some(t)) if f >= 0 && t >= 0 => format!("{p} {f}-{t}"),
            _ => format!("{p} all ports"),
        },
    };
    let source = s("cidr_ipv4")
        .or(s("cidr_ipv6"))
        .or(s("prefix_list_id"))
        .or(s("referenced_group_id"))
        .unwrap_or("?");
    format!("{what} from {source}")
}

fn bullet_list(items: &[String], total: usize) -> String {
    let mut lines: Vec<String> = items
        .iter()
        .take(LINES_SHOWN)
        .map(|i| format!("• {i}"))
        .collect();
    if total > LINES_SHOWN.min(items.len()) {
        lines.push(format!(
            "• … and {} more",
            total - LINES_SHOWN.min(items.len())
        ));
    }
    lines.join("\n")
}

fn ingress_summary(state: &Value) -> String {
    let s = |k: &str| state.get(k).and_then(Value::as_str);
    let rules = |k: &str| {
        state
            .get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let ingress = rules("ingress");
    let offending = rules("offending");
    let mut names = Vec::new();
    if let Some(n) = s("group_name") {
        names.push(code(n, 80));
    }
    if let Some(v) = s("vpc_id") {
        names.push(format!("in {}", code(v, 40)));
    }
    let names = if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(" "))
    };
    let group = code(s("group_id").unwrap_or(""), 40);
    let rules = format!(
        "{} ingress rule{}",
        ingress.len(),
        if ingress.len() == 1 { "" } else { "s" }
    );
    if offending.is_empty() {
        return format!(
            "Group {group}{names} has {rules}; none opens the checked ports to the world any more."
        );
    }
    let head = format!(
        "Group {group}{names} has {rules}; {} open{} the checked ports to the world:",
        offending.len(),
        if offending.len() == 1 { "s" } else { "" },
    );
    let items: Vec<String> = offending
        .iter()
        .map(|r| {
            let id = r
                .get("rule_id")
                .and_then(Value::as_str)
                .map(|id| format!(" (rule {})", code(id, 40)))
                .unwrap_or_default();
            let desc = r
                .get("description")
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty())
                .map(|d| format!(" “{}”", escape(d, 60)))
                .unwrap_or_default();
            format!("{}{id}{desc}", code(&rule_text(r), 80))
        })
        .collect();
    format!("{head}\n{}", bullet_list(&items, offending.len()))
}

fn access_key_summary(state: &Value) -> String {
    let s = |k: &str| state.get(k).and_then(Value::as_str).unwrap_or("");
    let resolved = state
        .get("resolved_from")
        .and_then(Value::as_str)
        .map(|id| format!(" (user id {})", code(id, 40)))
        .unwrap_or_default();
    format!(
        "Access key {} of IAM user {}{resolved} is *{}*.",
        code(s("access_key_id"), 40),
        code(s("user"), 80),
        escape(s("status"), 20)
    )
}

fn stale_keys_summary(state: &Value) -> String {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let keys = state
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let as_of = s(state, "as_of")
        .map(|t| format!(" as of {}", escape(&t, 30)))
        .unwrap_or_default();
    let items: Vec<String> = keys
        .iter()
        .map(|k| {
            let date = |f: &str| {
                s(k, f)
                    .map(|d| escape(d.get(..10).unwrap_or(&d), 12))
                    .unwrap_or_else(|| "never".to_owned())
            };
            let stale = if k.get("stale").and_then(Value::as_bool) == Some(true) {
                ": *stale*"
            } else {
                ""
            };
            format!(
                "{} {}, created {}, last used {}{stale}",
                code(&s(k, "access_key_id").unwrap_or_default(), 40),
                escape(&s(k, "status").unwrap_or_default(), 20),
                date("create_date"),
                date("last_used_date"),
            )
        })
        .collect();
    format!(
        "IAM user {} has {} access key{}{as_of}:\n{}",
        code(&s(state, "user").unwrap_or_default(), 80),
        keys.len(),
        if keys.len() == 1 { "" } else { "s" },
        bullet_list(&items, keys.len())
    )
}

/// Any state: its top-level fields, one per line, in a code block.
fn generic_summary(state: &Value) -> String {
    let line = |t: &str, max: usize| escape(&t.replace('`', "ˋ"), max);
    let mut lines: Vec<String> = match state {
        Value::Object(map) => map
            .iter()
            .take(LINES_SHOWN)
            .map(|(k, v)| line(&format!("{k}: {}", compact(v)), 120))
            .collect(),
        other => vec![line(&compact(other), 400)],
    };
    if let Value::Object(map) = state
        && map.len() > LINES_SHOWN
    {
        lines.push(format!("… {} more fields", map.len() - LINES_SHOWN));
    }
    format!("```\n{}\n```", lines.join("\n"))
}

fn state_summary(action: &str, state: Option<&Value>) -> String {
    match (action, state) {
        (_, None | Some(Value::Null)) => "_not captured_".to_owned(),
        ("ec2.revoke_open_ingress", Some(s)) if s.get("offending").is_some() => ingress_summary(s),
        ("iam.deactivate_access_key", Some(s)) if s.get("access_key_id").is_some() => {
            access_key_summary(s)
        }
        ("iam.deactivate_stale_access_keys", Some(s)) if s.get("keys").is_some() => {
            stale_keys_summary(s)
        }
        (_, Some(s)) => generic_summary(s),
    }
}

/// `ec2:RevokeSecurityGroupIngress` group_id `sg-…`, security_group_rule_ids `sgr-1`, `sgr-2`
fn call_text(call: &Value) -> String {
    let action = call.get("action").and_then(Value::as_str).unwrap_or("?");
    let params = match call.get("params") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::Array(items)
                        if items.iter().all(|i| !i.is_object() && !i.is_array()) =>
                    {
                        let mut shown: Vec<String> = items
                            .iter()
                            .take(LINES_SHOWN)
                            .map(|i| code(&compact(i), 60))
                            .collect();
                        if items.len() > LINES_SHOWN {
                            shown.push(format!("… {} more", items.len() - LINES_SHOWN));
                        }
                        if shown.is_empty() {
                            "`[]`".to_owned()
                        } else {
                            shown.join(", ")
                        }
                    }
                    other => code(&compact(other), 200),
                };
                format!("{} {value}", escape(k, 40))
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::Null) | None => String::new(),
        Some(other) => code(&compact(other), 300),
    };
    format!("{} {params}", code(action, 80))
        .trim_end()
        .to_owned()
}

fn category_name(req: &ApprovalRequest, i: usize) -> String {
    req.steps
        .get(i)
        .and_then(|s| serde_json::to_value(s.category).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One section per step (description, current state), then one with the planned calls.
fn change_blocks(req: &ApprovalRequest, kind: Kind) -> Vec<Value> {
    let mut blocks = Vec::new();
    let n = req.steps.len();
    let title = match kind {
        Kind::Request | Kind::Approved => "What will change",
        Kind::Review => "What would change",
        Kind::Closed => "What would have changed",
    };
    if n == 0 {
        blocks.push(section(&format!("*{title}*\nThe plan has no step.")));
    }
    for (i, step) in req.steps.iter().enumerate().take(STEPS_SHOWN) {
        // Two sections, so a long description cannot push the current state out of
        // Slack's 3000 characters.
        blocks.push(section(&format!(
            "*{title}*, step {} of {n}: {} ({})\n{}",
            i + 1,
            code(&step.action, 80),
            escape(&category_name(req, i), 20),
            escape(&step.description, 800),
        )));
        blocks.push(section(&format!(
            "*Now:* {}",
            state_summary(&step.action, before_of(req, i))
        )));
    }
    if n > STEPS_SHOWN {
        blocks.push(section(&format!(
            "… and {} more steps (see the evidence record).",
            n - STEPS_SHOWN
        )));
    }
    let calls_title = match kind {
        Kind::Request | Kind::Approved => "*Calls it will make*",
        Kind::Review => "*Calls it would make*",
        Kind::Closed => "*Calls it would have made*",
    };
    let calls = if req.planned_calls.is_empty() {
        "_None listed: the calls follow from the state re-read when the fix is applied._".to_owned()
    } else {
        let items: Vec<String> = req.planned_calls.iter().map(call_text).collect();
        bullet_list(&items, items.len())
    };
    blocks.push(section(&format!("{calls_title}\n{calls}")));
    blocks
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

/// Which message the common content is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Pending: buttons.
    Request,
    /// The dry-run change review.
    Review,
    /// Approved: being applied.
    Approved,
    /// Rejected or expired: nothing changes.
    Closed,
}

fn why_block(req: &ApprovalRequest, kind: Kind) -> Value {
    let label = if kind == Kind::Review {
        "Why"
    } else {
        "Why it needs approval"
    };
    section(&format!(
        "*{label}:* {}\n*Playbook:* {}",
        escape(&req.reason, 1500),
        code(&req.playbook, 100)
    ))
}

fn approvers_text(req: &ApprovalRequest) -> String {
    if req.approvers.is_empty() {
        "nobody is configured (`[approvals] approvers`), so this request cannot be approved"
            .to_owned()
    } else {
        req.approvers
            .iter()
            .take(20)
            .map(|a| mention(a))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn footer(req: &ApprovalRequest) -> Value {
    let hash = req
        .plan_hash
        .strip_prefix("sha256:")
        .unwrap_or(&req.plan_hash);
    // The held evidence record usually has the request's id; name it only when it differs.
    let evidence = if req.evidence == req.id {
        String::new()
    } else {
        format!(" · evidence {}", code(&req.evidence, 64))
    };
    context(&format!(
        "Request {}{evidence} · plan {} · event {}",
        code(&req.id, 64),
        code(&format!("sha256:{}", hash.get(..12).unwrap_or(hash)), 20),
        code(Found::of(req).event_id, 64),
    ))
}

/// Header, intro, finding, changes, why: the part every view of a request shares.
fn content(req: &ApprovalRequest, title: &str, intro: &str, kind: Kind) -> Vec<Value> {
    let found = Found::of(req);
    let mut blocks = vec![
        header(&format!("{title}: {}", req.playbook)),
        section(intro),
        finding_block(req, &found),
        divider(),
    ];
    blocks.extend(change_blocks(req, kind));
    blocks.push(divider());
    blocks.push(why_block(req, kind));
    blocks
}

fn token(req: &ApprovalRequest) -> String {
    Token {
        request: req.id.clone(),
        plan_hash: req.plan_hash.clone(),
    }
    .encode()
}

fn buttons(req: &ApprovalRequest) -> Value {
    let found = Found::of(req);
    let n = req.steps.len();
    let confirm = plain(
        &format!(
            "Apply {} ({n} step{}) to {} {} in account {}, {}? redress re-reads the resource first and changes nothing if it differs from what is shown.",
            req.playbook,
            if n == 1 { "" } else { "s" },
            found.resource_type,
            found.resource_id,
            found.account,
            found.region
        ),
        CONFIRM_TEXT_MAX,
    );
    let value = token(req);
    json!({
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": plain_text("Approve"),
                "style": "primary",
                "value": value,
                "confirm": {
                    "title": plain_text("Approve this fix?"),
                    "text": plain_text(&confirm),
                    "confirm": plain_text("Approve"),
                    "deny": plain_text("Cancel"),
                },
            },
            {
                "type": "button",
                "action_id": "reject",
                "text": plain_text("Reject"),
                "style": "danger",
                "value": value,
            },
        ],
    })
}

/// The request message with Approve (confirm dialog) and Reject buttons.
pub fn request_message(req: &ApprovalRequest) -> (String, Value) {
    let found = Found::of(req);
    let text = format!(
        "redress: approval needed for {} on {}",
        escape(&req.playbook, 100),
        found.one_line()
    );
    let mut blocks = content(
        req,
        "Approval needed",
        "redress holds a fix for a decision: nothing changes until an approver clicks *Approve*.",
        Kind::Request,
    );
    blocks.push(section(&format!(
        "*Who may approve:* {}\n*Expires:* {}",
        approvers_text(req),
        slack_date(req.expires_at)
    )));
    blocks.push(buttons(req));
    blocks.push(footer(req));
    (text, Value::Array(blocks))
}

/// The dry-run change review: the same content, no buttons.
pub fn review_message(req: &ApprovalRequest) -> (String, Value) {
    let found = Found::of(req);
    let text = format!(
        "redress (dry-run): change review of {} on {}",
        escape(&req.playbook, 100),
        found.one_line()
    );
    let mut blocks = content(
        req,
        "Change review (dry-run)",
        "*Dry-run*: redress changed nothing. This is what would have been done, and why.",
        Kind::Review,
    );
    blocks.push(footer(req));
    (text, Value::Array(blocks))
}

/// The request message after a decision (buttons gone; who, when, what happens next).
pub fn decided_message(req: &ApprovalRequest, d: &DecisionRecord) -> (String, Value) {
    let found = Found::of(req);
    let (title, line) = match d.verdict {
        Verdict::Approve => (
            "Approved",
            format!(
                "Approved by {} at {}; applying…",
                mention(&d.by),
                slack_date(d.at)
            ),
        ),
        Verdict::Reject => (
            "Rejected",
            format!(
                "Rejected by {} at {}; nothing will be changed.",
                mention(&d.by),
                slack_date(d.at)
            ),
        ),
        Verdict::Expire => (
            "Expired",
            format!("Expired at {}; nothing was changed.", slack_date(d.at)),
        ),
    };
    let text = format!(
        "redress: {} {} on {}",
        title.to_lowercase(),
        escape(&req.playbook, 100),
        found.one_line()
    );
    let intro = match d.verdict {
        Verdict::Approve => {
            "This fix was approved; redress re-reads the resource and applies it only if nothing changed since."
        }
        Verdict::Reject => "This fix was rejected.",
        Verdict::Expire => "Nobody decided on this fix before it expired.",
    };
    let kind = if d.verdict == Verdict::Approve {
        Kind::Approved
    } else {
        Kind::Closed
    };
    let mut blocks = content(req, title, intro, kind);
    blocks.push(context(&line));
    blocks.push(footer(req));
    (text, Value::Array(blocks))
}

/// How an outcome reads in a thread reply.
fn outcome_label(outcome: &str) -> (&'static str, String) {
    match outcome {
        "fixed" => (":white_check_mark:", "Fixed".to_owned()),
        "verify-failed" => (":warning:", "Applied, but verification failed".to_owned()),
        "already-compliant" => (
            ":information_source:",
            "Already compliant; nothing was changed".to_owned(),
        ),
        "failed" => (":x:", "Failed".to_owned()),
        "rejected" => (
            ":no_entry_sign:",
            "Rejected; nothing was changed".to_owned(),
        ),
        "expired" => (":hourglass:", "Expired; nothing was changed".to_owned()),
        other => (":grey_question:", escape(other, 40)),
    }
}

/// A thread reply with the outcome of an approved fix (`fixed`, `verify-failed`, …).
pub fn outcome_message(req: &ApprovalRequest, outcome: &str, detail: &str) -> (String, Value) {
    let found = Found::of(req);
    let (emoji, label) = outcome_label(outcome);
    let detail = escape(detail, 2500);
    let text = format!(
        "redress: {label}: {} on {}",
        escape(&req.playbook, 100),
        found.one_line()
    );
    let body = if detail.is_empty() {
        format!("{emoji} *{label}.*")
    } else {
        format!("{emoji} *{label}.* {detail}")
    };
    let blocks = json!([section(&body), footer(req)]);
    (text, blocks)
}

/// A thread reply: the finding was seen again while its request is pending.
pub fn repeat_note(req: &ApprovalRequest, event_id: &str) -> (String, Value) {
    let text = format!(
        "redress: seen again (event {}) while pending",
        escape(event_id, 80)
    );
    let blocks = json!([
        section(&format!(
            ":repeat: Seen again (event {}) while this request is pending; it is not acted on twice.",
            code(event_id, 80)
        )),
        footer(req)
    ]);
    (text, blocks)
}

/// The body of an ephemeral reply to the clicker through response_url (changes nothing).
/// `text` is mrkdwn written by redress: escape anything from a finding before.
pub fn ephemeral(text: &str) -> Value {
    json!({"response_type": "ephemeral", "replace_original": false, "text": text})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralizes_markup_and_cuts_with_ellipsis() {
        assert_eq!(
            escape("<!channel> & <@U1>", 100),
            "&lt;!channel&gt; &amp; &lt;@U1&gt;"
        );
        assert_eq!(escape("a\nb\u{202E}c\u{7}", 100), "a bc");
        assert_eq!(escape("abcdef", 4), "abc…");
        assert_eq!(escape("abcd", 4), "abcd");
        assert_eq!(escape("abc", 0), "");
    }

    #[test]
    fn fit_never_splits_an_entity_or_a_link() {
        let text = format!("{}&amp;{}", "a".repeat(20), "b".repeat(10));
        let out = fit(&text, 28);
        assert_eq!(out, format!("{}…", "a".repeat(20)));
        let text = format!("{}<https://x.example/|y>", "a".repeat(20));
        let out = fit(&text, 30);
        assert!(!out.contains('<'), "{out}");
        let text = format!("```\n{}", "a".repeat(40));
        assert!(fit(&text, 20).ends_with("```"));
    }

    #[test]
    fn urls_are_percent_encoded() {
        assert_eq!(pct("a|b>c d"), "a%7Cb%3Ec%20d");
        assert_eq!(pct("my-bucket.logs_1~"), "my-bucket.logs_1~");
    }

    #[test]
    fn rules_read_like_rules() {
        let r =
            json!({"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0"});
        assert_eq!(rule_text(&r), "tcp 22 from 0.0.0.0/0");
        let r = json!({"protocol": "-1", "from_port": -1, "to_port": -1, "cidr_ipv6": "::/0"});
        assert_eq!(rule_text(&r), "all traffic from ::/0");
        let r =
            json!({"protocol": "tcp", "from_port": 0, "to_port": 65535, "cidr_ipv4": "0.0.0.0/0"});
        assert_eq!(rule_text(&r), "tcp 0-65535 from 0.0.0.0/0");
    }

    #[test]
    fn only_user_ids_become_mentions() {
        assert_eq!(mention("U0ABCDEF1"), "<@U0ABCDEF1>");
        assert_eq!(mention("redress"), "`redress`");
        assert_eq!(mention("U1> <!channel"), "`U1&gt; &lt;!channel`");
    }
}
