//! The fleet config file (DESIGN §4). Every section is optional; a command that needs one
//! says which is missing. Secrets never live here: they come from the environment.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::{Diagnostic, SourceFile};
use crate::playbook::Mode;

/// The loaded, checked config.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Fleet mode: `dry-run` makes no mutating call anywhere.
    pub mode: Mode,
    /// The playbook directory (relative paths are taken from the config file's folder).
    pub playbooks: PathBuf,
    /// The exceptions file, if any.
    pub exceptions: Option<PathBuf>,
    pub queue: Option<QueueConfig>,
    pub store: StoreConfig,
    pub aws: AwsConfig,
    pub slack: Option<SlackConfig>,
    pub approvals: ApprovalsConfig,
    pub gate: GateConfig,
    /// `[breaker]`: the blast-radius limits on `auto` fixes.
    pub breaker: BreakerConfig,
    /// `[parameters]`: values operators set once for playbook steps that say
    /// `{ config = "name" }` (a logging bucket, a flow-log destination, allowed ports…).
    pub parameters: crate::playbook::Parameters,
    /// The file it came from; `None` for the built-in defaults.
    pub source: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Enforce,
            playbooks: PathBuf::from("playbooks/catalog"),
            exceptions: None,
            queue: None,
            store: StoreConfig::default(),
            aws: AwsConfig::default(),
            slack: None,
            approvals: ApprovalsConfig::default(),
            gate: GateConfig::default(),
            breaker: BreakerConfig::default(),
            parameters: crate::playbook::Parameters::new(),
            source: None,
        }
    }
}

/// `[queue]`: where findings arrive, and how the worker consumes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The SQS queue URL.
    pub url: String,
    /// Messages processed at once. Remediation is I/O-bound (AWS round trips), so a
    /// 0.25 vCPU Fargate task keeps 8 in flight without strain.
    #[serde(default = "default_concurrency")]
    pub concurrency: std::num::NonZeroUsize,
    /// Visibility timeout asked for on receive; extended while a remediation runs.
    #[serde(default = "default_visibility")]
    pub visibility_timeout_secs: u32,
    /// Long-poll wait per receive (SQS allows at most 20).
    #[serde(default = "default_wait")]
    pub wait_time_secs: u32,
    /// Where undecodable messages go, with the reason as a message attribute. Without it
    /// they are left to the queue's redrive policy.
    #[serde(default)]
    pub dlq_url: Option<String>,
    /// How long SIGTERM waits for in-flight remediations (ECS gives 30 s by default).
    #[serde(default = "default_drain")]
    pub shutdown_deadline_secs: u32,
    /// Deliveries of a message whose remediation keeps failing transiently (throttling,
    /// 5xx, timeouts) before the worker gives up: each attempt is recorded `failed`, and
    /// the message then goes to `dlq_url` (or is deleted, its evidence kept).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// How long a finding's claim keeps other deliveries of it away. A delivery gives up
    /// its work before its lease ends, so a delivery that takes over an expired claim never
    /// works beside the one that held it. Default: twice the visibility timeout, at least
    /// 120 s.
    #[serde(default)]
    pub claim_lease_secs: Option<u32>,
}

impl QueueConfig {
    /// The claim lease in force.
    pub fn claim_lease(&self) -> Duration {
        Duration::from_secs(u64::from(
            self.claim_lease_secs
                .unwrap_or_else(|| self.visibility_timeout_secs.saturating_mul(2).max(120)),
        ))
    }
}

fn default_attempts() -> u32 {
    5
}

fn default_concurrency() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(8).unwrap_or(std::num::NonZeroUsize::MIN)
}

fn default_visibility() -> u32 {
    60
}

fn default_wait() -> u32 {
    20
}

fn default_drain() -> u32 {
    25
}

impl QueueConfig {
    /// A queue with every default, for `url`.
    pub fn with_url(url: &str) -> Self {
        QueueConfig {
            url: url.to_owned(),
            concurrency: default_concurrency(),
            visibility_timeout_secs: default_visibility(),
            wait_time_secs: default_wait(),
            dlq_url: None,
            shutdown_deadline_secs: default_drain(),
            max_attempts: default_attempts(),
            claim_lease_secs: None,
        }
    }
}

/// `[store]`: where evidence, approvals and claims are kept.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `s3://bucket/prefix` or `file:///path`.
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: "file://.redress/store".to_owned(),
        }
    }
}

/// `[aws]`: how to reach member accounts.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Role ARN to assume in the finding's account, with `{account}` substituted. Without it
    /// the worker uses its own credentials and refuses findings from other accounts.
    #[serde(default)]
    pub assume_role: Option<String>,
    /// The `sts:ExternalId` the member accounts' role trust policy requires.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `[slack]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The Web API base URL; overridable for a local stand-in.
    #[serde(default = "default_slack_api")]
    pub api_url: String,
    /// The channel for requests no routing rule claims.
    pub default_channel: String,
    /// The resource tag that names the owning team (e.g. `team`); its value is looked up
    /// in `channels_by_tag`.
    #[serde(default)]
    pub owner_tag: Option<String>,
    /// Owner tag value → channel id.
    #[serde(default)]
    pub channels_by_tag: std::collections::BTreeMap<String, String>,
    /// Account id → channel id, for resources without an owner tag.
    #[serde(default)]
    pub channels_by_account: std::collections::BTreeMap<String, String>,
}

fn default_slack_api() -> String {
    "https://slack.com/api".to_owned()
}

/// `[approvals]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalsConfig {
    /// Slack user ids allowed to decide.
    pub approvers: Vec<String>,
    /// How long a request stays open.
    pub ttl: Duration,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            approvers: Vec::new(),
            ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// `[gate]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Playbook ids the operator lets run without approval although their steps are of
    /// category iam or exposure. Irreversible steps still need approval.
    #[serde(default)]
    pub auto: Vec<String>,
}

/// `[breaker]`: how many `auto` fixes the fleet makes before it stops and asks a human
/// (DESIGN §5 invariant 7). Windows are fixed (aligned to the epoch), counted in the store
/// so every worker of the fleet shares them. Past a limit, fixes are held for approval and
/// one alert per window is posted to Slack.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// `auto` fixes per account per window.
    pub max_auto_per_account: u32,
    /// `auto` fixes per playbook (all accounts) per window.
    pub max_auto_per_playbook: u32,
    /// Fixes of one playbook that fail verification in a window before its `auto` fixes
    /// are held (a playbook that does not fix what it claims to must not keep trying).
    pub max_verify_failures: u32,
    /// The window.
    pub window: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            max_auto_per_account: 50,
            max_auto_per_playbook: 200,
            max_verify_failures: 3,
            window: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreaker {
    #[serde(default)]
    max_auto_per_account: Option<u32>,
    #[serde(default)]
    max_auto_per_playbook: Option<u32>,
    #[serde(default)]
    max_verify_failures: Option<u32>,
    #[serde(default)]
    window: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    mode: Option<Spanned<Mode>>,
    #[serde(default)]
    playbooks: Option<String>,
    #[serde(default)]
    exceptions: Option<String>,
    #[serde(default)]
    queue: Option<Spanned<QueueConfig>>,
    #[serde(default)]
    store: Option<Spanned<StoreConfig>>,
    #[serde(default)]
    aws: Option<Spanned<AwsConfig>>,
    #[serde(default)]
    slack: Option<Spanned<SlackConfig>>,
    #[serde(default)]
    approvals: Option<Spanned<RawApprovals>>,
    #[serde(default)]
    gate: Option<Spanned<GateConfig>>,
    #[serde(default)]
    breaker: Option<Spanned<RawBreaker>>,
    #[serde(default)]
    parameters: Option<toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovals {
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    ttl: Option<String>,
}

/// Parses a duration such as `24h`, `30m`, `7d`, `90s` or `1h30m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
        any = true;
    }
    (any && digits.is_empty() && total > 0).then(|| Duration::from_secs(total))
}

impl Config {
    /// Parses and checks a config file's text. `path` names it in diagnostics and anchors
    /// relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<Diagnostic>> {
        let src = SourceFile::new(path, text);
        let raw: RawConfig = toml::from_str(text).map_err(|e| vec![src.from_toml(&e)])?;
        let mut diags = Vec::new();
        let base = path.parent().unwrap_or(Path::new(""));
        let mut err = |span: Range<usize>, msg: String, help: &str| {
            diags.push(src.error_help(span, msg, help));
        };
        let mut cfg = Config {
            source: Some(path.to_path_buf()),
            ..Config::default()
        };
        if let Some(m) = raw.mode {
            cfg.mode = m.into_inner();
        }
        cfg.playbooks = base.join(raw.playbooks.as_deref().unwrap_or("playbooks/catalog"));
        cfg.exceptions = raw.exceptions.map(|e| base.join(e));
        if let Some(q) = raw.queue {
            let url = &q.get_ref().url;
            let q_ref = q.get_ref();
            if q_ref.wait_time_secs > 20 {
                err(
                    q.span(),
                    format!(
                        "`[queue] wait_time_secs` is {}; SQS allows at most 20",
                        q_ref.wait_time_secs
                    ),
                    "use 20 for the longest poll",
                );
            }
            if !(10..=43_200).contains(&q_ref.visibility_timeout_secs) {
                err(
                    q.span(),
                    format!(
                        "`[queue] visibility_timeout_secs` is {}; use 10 to 43200",
                        q_ref.visibility_timeout_secs
                    ),
                    "the worker extends visibility while it works; 60 is a good start",
                );
            }
            if q_ref.claim_lease_secs.is_some_and(|l| l < 10) {
                err(
                    q.span(),
                    "`[queue] claim_lease_secs` is below 10".to_owned(),
                    "a remediation needs several AWS round trips; use 10 or more (default: twice the visibility timeout, at least 120)",
                );
            }
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                err(
                    q.span(),
                    format!("`[queue] url` {url:?} is not an SQS queue URL"),
                    "use the queue's URL, e.g. https://sqs.us-east-1.amazonaws.com/111122223333/redress-events",
                );
            }
            cfg.queue = Some(q.into_inner());
        }
        if let Some(s) = raw.store {
            let url = &s.get_ref().url;
            let ok = url
                .strip_prefix("s3://")
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
                || url
                    .strip_prefix("file://")
                    .is_some_and(|rest| !rest.is_empty());
            if !ok {
                err(
                    s.span(),
                    format!("`[store] url` {url:?} is neither s3://bucket/prefix nor file:///path"),
                    "e.g. url = \"s3://redress-evidence/org-main\" or url = \"file:///var/lib/redress\"",
                );
            }
            cfg.store = s.into_inner();
        }
        if let Some(a) = raw.aws {
            if let Some(role) = &a.get_ref().assume_role {
                let ok = role.starts_with("arn:")
                    && role.contains(":role/")
                    && role.contains("{account}");
                if !ok {
                    err(
                        a.span(),
                        format!(
                            "`[aws] assume_role` {role:?} is not a role ARN template with `{{account}}`"
                        ),
                        "e.g. assume_role = \"arn:aws:iam::{account}:role/RedressRemediation\"",
                    );
                }
            }
            cfg.aws = a.into_inner();
        }
        if let Some(s) = raw.slack {
            let api = &s.get_ref().api_url;
            if !(api.starts_with("https://") || api.starts_with("http://")) {
                err(
                    s.span(),
                    format!("`[slack] api_url` {api:?} is not a URL"),
                    "e.g. https://slack.com/api",
                );
            }
            cfg.slack = Some(s.into_inner());
        }
        if let Some(a) = raw.approvals {
            let span = a.span();
            let a = a.into_inner();
            for u in &a.approvers {
                let ok = (u.starts_with('U') || u.starts_with('W'))
                    && u.len() >= 5
                    && u.bytes()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
                if !ok {
                    err(
                        span.clone(),
                        format!("`[approvals] approvers` entry {u:?} is not a Slack user id"),
                        "Slack user ids look like U0ABCDEF1 (profile → ⋮ → Copy member ID)",
                    );
                }
            }
            cfg.approvals.approvers = a.approvers;
            if let Some(ttl) = a.ttl {
                match parse_duration(&ttl) {
                    Some(d) => cfg.approvals.ttl = d,
                    None => err(
                        span,
                        format!("`[approvals] ttl` {ttl:?} is not a duration"),
                        "e.g. ttl = \"24h\", \"90m\" or \"7d\"",
                    ),
                }
            }
        }
        if let Some(g) = raw.gate {
            cfg.gate = g.into_inner();
        }
        if let Some(b) = raw.breaker {
            let span = b.span();
            let b = b.into_inner();
            let d = BreakerConfig::default();
            cfg.breaker = BreakerConfig {
                max_auto_per_account: b.max_auto_per_account.unwrap_or(d.max_auto_per_account),
                max_auto_per_playbook: b.max_auto_per_playbook.unwrap_or(d.max_auto_per_playbook),
                max_verify_failures: b.max_verify_failures.unwrap_or(d.max_verify_failures),
                window: d.window,
            };
            if let Some(w) = b.window {
                match parse_duration(&w) {
                    Some(w) => cfg.breaker.window = w,
                    None => err(
                        span,
                        format!("`[breaker] window` {w:?} is not a duration"),
                        "e.g. window = \"1h\", \"30m\" or \"1d\"",
                    ),
                }
            }
        }
        if let Some(p) = raw.parameters {
            cfg.parameters = p.into_iter().collect();
        }
        if diags.is_empty() {
            Ok(cfg)
        } else {
            Err(diags)
        }
    }

    /// Checks that `[gate] auto` names playbooks that exist; `text` is the file's text.
    pub fn check_gate_ids(path: &Path, text: &str, known: &[&str]) -> Vec<Diagnostic> {
        #[derive(Deserialize)]
        struct Spans {
            #[serde(default)]
            gate: Option<GateSpans>,
        }
        #[derive(Deserialize)]
        struct GateSpans {
            #[serde(default)]
            auto: Vec<Spanned<String>>,
        }
        let src = SourceFile::new(path, text);
        // Unknown keys were reported by `parse`; this pass only needs `[gate] auto`.
        let Ok(spans) = toml::from_str::<Spans>(text) else {
            return Vec::new();
        };
        let mut diags = Vec::new();
        for id in spans.gate.map(|g| g.auto).unwrap_or_default() {
            if !known.contains(&id.get_ref().as_str()) {
                let help = match crate::diag::did_you_mean(id.get_ref(), known.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "list playbook ids from `redress check`'s catalog".to_owned(),
                };
                diags.push(src.error_help(
                    id.span(),
                    format!("`[gate] auto` names unknown playbook `{}`", id.get_ref()),
                    help,
                ));
            }
        }
        diags
    }

    /// Where the config comes from when no `--config` is given: `REDRESS_CONFIG`, else
    /// `redress.toml` if present, else the built-in defaults (`None`).
    pub fn default_path(env: Option<&str>) -> Option<PathBuf> {
        match env {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
            _ => {
                let local = PathBuf::from("redress.toml");
                local.is_file().then_some(local)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        for bad in ["", "24", "h", "1x", "0s", "-1h", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn full_config_parses_with_paths_from_its_folder() {
        let text = r#"
mode = "dry-run"
playbooks = "catalog"
exceptions = "exceptions.toml"
[queue]
url = "https://sqs.us-east-1.amazonaws.com/111122223333/redress-events"
[store]
url = "s3://redress-evidence/org-main"
[aws]
assume_role = "arn:aws:iam::{account}:role/RedressRemediation"
[slack]
default_channel = "C0SECURITY"
[approvals]
approvers = ["U0ABCDEF1"]
ttl = "12h"
[gate]
auto = ["s3-block-public-access"]
"#;
        let cfg = Config::parse(Path::new("/etc/redress/redress.toml"), text).unwrap();
        assert_eq!(cfg.mode, Mode::DryRun);
        assert_eq!(cfg.playbooks, PathBuf::from("/etc/redress/catalog"));
        assert_eq!(
            cfg.exceptions,
            Some(PathBuf::from("/etc/redress/exceptions.toml"))
        );
        assert_eq!(cfg.approvals.ttl, Duration::from_secs(12 * 3600));
        assert_eq!(cfg.slack.unwrap().api_url, "https://slack.com/api");
        assert_eq!(cfg.gate.auto, ["s3-block-public-access"]);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_place() {
        let text =
            "[store]\nurl = \"ftp://x\"\n[approvals]\napprovers = [\"bob\"]\nttl = \"soon\"\n";
        let diags = Config::parse(Path::new("redress.toml"), text).unwrap_err();
        let lines: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with("redress.toml:1:1: `[store] url` \"ftp://x\""),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("\"bob\" is not a Slack user id"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("\"soon\" is not a duration"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let diags = Config::parse(
            Path::new("r.toml"),
            "mode = \"enforce\"\nqueue_url = \"x\"\n",
        )
        .unwrap_err();
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0]
                .to_string()
                .starts_with("r.toml:2:1: unknown field `queue_url`"),
            "{}",
            diags[0]
        );
    }

    #[test]
    fn breaker_limits_have_defaults_and_can_be_set() {
        let cfg = Config::parse(Path::new("r.toml"), "").unwrap();
        assert_eq!(cfg.breaker, BreakerConfig::default());
        let cfg = Config::parse(
            Path::new("r.toml"),
            "[breaker]\nmax_auto_per_account = 3\nwindow = \"10m\"\n",
        )
        .unwrap();
        assert_eq!(cfg.breaker.max_auto_per_account, 3);
        assert_eq!(cfg.breaker.window, Duration::from_secs(600));
        assert_eq!(
            cfg.breaker.max_auto_per_playbook,
            BreakerConfig::default().max_auto_per_playbook
        );
        let diags = Config::parse(
            Path::new("r.toml"),
            "[breaker]\nwindow = \"often\"\nmax_fixes = 1\n",
        )
        .unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].to_string().contains("unknown field `max_fixes`"));
        let diags =
            Config::parse(Path::new("r.toml"), "[breaker]\nwindow = \"often\"\n").unwrap_err();
        assert!(
            diags[0]
                .to_string()
                .contains("`[breaker] window` \"often\" is not a duration"),
            "{}",
            diags[0]
        );
    }
}
