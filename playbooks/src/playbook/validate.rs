//! Stage two: raw playbook → [`Playbook`], collecting every problem with its location.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::raw::{RawMatch, RawPlaybook, RawStep};
use super::{Matcher, ParamSource, Playbook, Risk, Step};
use crate::actions::{self, ActionSpec, ParamSpec, ParamType, Value};
use crate::condition::{self, Condition, Test};
use crate::diag::{Diagnostic, SourceFile, did_you_mean};
use crate::finding::resource_types;
use crate::template::{self, Template, TemplateError, Var};

/// Where things are in a file, for checks across files.
#[derive(Debug, Clone)]
pub struct Spans {
    pub id: Range<usize>,
    pub matcher: Range<usize>,
}

/// A playbook that passed, with where its parts are and its warnings.
pub type Parsed = (Playbook, Spans, Vec<Diagnostic>);

/// Parses and validates one playbook file: the playbook and its warnings, or every
/// diagnostic (errors and warnings) when it has an error.
pub fn parse(src: SourceFile<'_>) -> Result<Parsed, Vec<Diagnostic>> {
    let raw: RawPlaybook = toml::from_str(src.text).map_err(|e| vec![src.from_toml(&e)])?;
    let mut v = Validator {
        src,
        diags: Vec::new(),
    };
    let playbook = v.playbook(raw);
    let errors = super::has_errors(&v.diags);
    match playbook {
        Some((p, spans)) if !errors => Ok((p, spans, v.diags)),
        _ => Err(v.diags),
    }
}

struct Validator<'a> {
    src: SourceFile<'a>,
    diags: Vec<Diagnostic>,
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl Validator<'_> {
    fn error(&mut self, span: Range<usize>, msg: impl Into<String>) {
        self.diags.push(self.src.error(span, msg));
    }

    fn error_help(&mut self, span: Range<usize>, msg: impl Into<String>, help: impl Into<String>) {
        self.diags.push(self.src.error_help(span, msg, help));
    }

    fn warning(&mut self, span: Range<usize>, msg: impl Into<String>) {
        self.diags.push(self.src.warning(span, msg));
    }

    fn playbook(&mut self, raw: RawPlaybook) -> Option<(Playbook, Spans)> {
        let id = raw.id.get_ref().clone();
        if !is_id(&id) {
            self.error_help(
                raw.id.span(),
                format!("playbook id `{id}` is not a lower-case kebab-case name"),
                "use letters a-z, digits and dashes, e.g. `s3-block-public-access`",
            );
        } else if let Some(stem) = self.src.path.file_stem().and_then(|s| s.to_str())
            && stem != id
        {
            self.error_help(
                raw.id.span(),
                format!("playbook id `{id}` does not match its file name `{stem}.toml`"),
                format!("rename the file to `{id}.toml`, or set `id = \"{stem}\"`"),
            );
        }
        for (field, value) in [("title", &raw.title), ("description", &raw.description)] {
            if value.get_ref().trim().is_empty() {
                self.error(value.span(), format!("`{field}` is empty"));
            }
        }
        let matcher = self.matcher(&raw.matcher);
        let steps = self.steps(&raw);
        let config_reevaluate = raw.verify.as_ref().is_some_and(|v| v.config_reevaluate);
        if config_reevaluate && matcher.config_rules.is_empty() {
            self.warning(
                raw.matcher.span(),
                "`[verify] config_reevaluate` has no effect: the playbook matches no Config rule",
            );
        }
        let risk = *raw.risk.get_ref();
        if risk == Risk::Low {
            for (i, step) in steps.iter().enumerate() {
                if !step.action.category.may_run_unattended() {
                    self.warning(
                        raw.risk.span(),
                        format!(
                            "risk is `low` but step {} ({}) is of category {}: it needs approval whatever the risk says",
                            i + 1,
                            step.action.id,
                            step.action.category
                        ),
                    );
                }
            }
        }
        let sha256 = hex::encode(Sha256::digest(self.src.text.as_bytes()));
        Some((
            Playbook {
                id,
                title: raw.title.into_inner(),
                description: raw.description.into_inner(),
                risk,
                mode: raw.mode.map(Spanned::into_inner),
                priority: raw.priority.map_or(0, Spanned::into_inner),
                matcher,
                steps,
                config_reevaluate,
                path: self.src.path.to_path_buf(),
                sha256,
            },
            Spans {
                id: raw.id.span(),
                matcher: raw.matcher.span(),
            },
        ))
    }

    fn matcher(&mut self, raw: &Spanned<RawMatch>) -> Matcher {
        let m = raw.get_ref();
        let mut out = Matcher::default();
        if let Some(rt) = &m.resource_type {
            out.resource_types = self.resource_types(rt);
        }
        if m.config_rules.is_empty()
            && m.securityhub_controls.is_empty()
            && m.guardduty_types.is_empty()
        {
            self.error_help(
                raw.span(),
                "this match section can never match: it names no `config_rules`, `securityhub_controls` or `guardduty_types`",
                "list the Config rules, Security Hub control ids or GuardDuty finding types this playbook fixes",
            );
        }
        out.config_rules = self.names(&m.config_rules, "Config rule name", |s| {
            !s.is_empty()
                && s.len() <= 128
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        });
        out.securityhub_controls = self.names(
            &m.securityhub_controls,
            "Security Hub control id (like S3.8)",
            |s| {
                s.split_once('.').is_some_and(|(svc, n)| {
                    !svc.is_empty()
                        && svc.bytes().all(|c| c.is_ascii_alphanumeric())
                        && !n.is_empty()
                        && n.bytes().all(|c| c.is_ascii_digit())
                })
            },
        );
        out.guardduty_types = self.names(
            &m.guardduty_types,
            "GuardDuty finding type (like Recon:EC2/PortProbeUnprotectedPort)",
            |s| gd_resource_segment(s).is_some(),
        );
        if !out.resource_types.is_empty() {
            for t in &m.guardduty_types {
                let Some(on) = gd_resource_segment(t.get_ref()).and_then(gd_resource_type) else {
                    continue;
                };
                if !out.resource_types.iter().any(|r| r == on) {
                    self.error_help(
                        t.span(),
                        format!(
                            "GuardDuty reports `{}` on {on} resources, and this playbook only matches {}: this entry can never match",
                            t.get_ref(),
                            out.resource_types.join(", ")
                        ),
                        format!("add {on} to `resource_type`, or move this type to a playbook for {on}"),
                    );
                }
            }
        }
        for (key, value) in &m.conditions {
            if let Some(c) = self.condition(key, value) {
                out.conditions.push(c);
            }
        }
        out
    }

    fn resource_types(&mut self, v: &Spanned<toml::Value>) -> Vec<String> {
        let items: Vec<&toml::Value> = match v.get_ref() {
            toml::Value::String(_) => vec![v.get_ref()],
            toml::Value::Array(a) => a.iter().collect(),
            _ => {
                self.error(
                    v.span(),
                    "`resource_type` must be a string or a list of strings",
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            let Some(s) = item.as_str() else {
                self.error(
                    v.span(),
                    "`resource_type` must be a string or a list of strings",
                );
                continue;
            };
            if resource_types::KNOWN.contains(&s) {
                out.push(s.to_owned());
                continue;
            }
            let well_formed = s.split("::").collect::<Vec<_>>().as_slice().len() == 3
                && s.starts_with("AWS::")
                && s.split("::")
                    .skip(1)
                    .all(|p| p.bytes().all(|c| c.is_ascii_alphanumeric()));
            match did_you_mean(s, resource_types::KNOWN.iter().copied()) {
                Some(near) => self.error_help(
                    v.span(),
                    format!("unknown resource type `{s}`"),
                    format!("did you mean `{near}`?"),
                ),
                None if !well_formed => self.error_help(
                    v.span(),
                    format!("`{s}` is not a resource type"),
                    "use CloudFormation-style names such as `AWS::S3::Bucket` or `AWS::::Account`",
                ),
                None => out.push(s.to_owned()),
            }
        }
        out
    }

    fn names(
        &mut self,
        list: &[Spanned<String>],
        what: &str,
        ok: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for item in list {
            let s = item.get_ref();
            if !ok(s) {
                self.error(item.span(), format!("`{s}` is not a {what}"));
                continue;
            }
            if !seen.insert(s.clone()) {
                self.warning(item.span(), format!("`{s}` is listed twice"));
                continue;
            }
            out.push(s.clone());
        }
        out
    }

    fn condition(
        &mut self,
        key: &Spanned<String>,
        value: &Spanned<toml::Value>,
    ) -> Option<Condition> {
        let name = key.get_ref();
        let field = if name.starts_with('/') {
            Some(Var::Detail(name.clone()))
        } else {
            Var::parse(name)
        };
        let Some(field) = field else {
            let help = match did_you_mean(name, template::NAMES.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "use a JSON pointer into the finding's detail (\"/service/resourceRole\"), `tags.<key>`, or one of: {}",
                    template::NAMES.join(", ")
                ),
            };
            self.error_help(
                key.span(),
                format!("unknown field `{name}` in [match.where]"),
                help,
            );
            return None;
        };
        let test = self.test(name, value)?;
        let out_of_scale = field == Var::Severity
            && (test.min.is_some_and(|m| m > 10.0) || test.max.is_some_and(|m| m < 0.0));
        if test.is_unsatisfiable() || out_of_scale {
            self.error_help(
                value.span(),
                format!(
                    "the condition on `{name}` can never hold, so this playbook can never match"
                ),
                if out_of_scale {
                    "severity is on a 0–10 scale (Security Hub's 0–100 is divided by 10)"
                } else {
                    "check the bounds and the listed values"
                },
            );
            return None;
        }
        Some(Condition { field, test })
    }

    fn test(&mut self, name: &str, value: &Spanned<toml::Value>) -> Option<Test> {
        let span = value.span();
        let table = match value.get_ref() {
            toml::Value::Table(t) => t,
            toml::Value::Array(_) => {
                self.error_help(
                    span,
                    format!("`{name}` is a list: a condition is a value or a table of operators"),
                    format!("write `{name} = {{ one_of = [...] }}`"),
                );
                return None;
            }
            scalar => {
                let v = self.scalar(scalar, span.clone(), name)?;
                return Some(Test {
                    equals: Some(v),
                    ..Test::default()
                });
            }
        };
        let mut t = Test::default();
        for (op, v) in table {
            match op.as_str() {
                "equals" => t.equals = self.scalar(v, span.clone(), name),
                "one_of" | "none_of" => {
                    let Some(items) = v.as_array() else {
                        self.error(span.clone(), format!("`{op}` of `{name}` must be a list"));
                        continue;
                    };
                    let list: Vec<serde_json::Value> = items
                        .iter()
                        .filter_map(|i| self.scalar(i, span.clone(), name))
                        .collect();
                    if op == "one_of" {
                        t.one_of = Some(list);
                    } else {
                        t.none_of = Some(list);
                    }
                }
                "min" | "max" => {
                    let n = match v {
                        toml::Value::Integer(i) => Some(*i as f64),
                        toml::Value::Float(f) => Some(*f),
                        _ => {
                            self.error(
                                span.clone(),
                                format!("`{op}` of `{name}` must be a number"),
                            );
                            None
                        }
                    };
                    if op == "min" {
                        t.min = n;
                    } else {
                        t.max = n;
                    }
                }
                "prefix" => match v.as_str() {
                    Some(s) => t.prefix = Some(s.to_owned()),
                    None => self.error(
                        span.clone(),
                        format!("`prefix` of `{name}` must be a string"),
                    ),
                },
                "exists" => match v.as_bool() {
                    Some(b) => t.exists = Some(b),
                    None => self.error(
                        span.clone(),
                        format!("`exists` of `{name}` must be true or false"),
                    ),
                },
                other => {
                    let help = match did_you_mean(other, condition::OPERATORS.iter().copied()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("operators: {}", condition::OPERATORS.join(", ")),
                    };
                    self.error_help(
                        span.clone(),
                        format!("unknown operator `{other}` in the condition on `{name}`"),
                        help,
                    );
                }
            }
        }
        if *table == toml::Table::new() {
            self.error(span, format!("the condition on `{name}` is empty"));
            return None;
        }
        Some(t)
    }

    fn scalar(
        &mut self,
        v: &toml::Value,
        span: Range<usize>,
        name: &str,
    ) -> Option<serde_json::Value> {
        match v {
            toml::Value::String(s) => Some(serde_json::Value::from(s.as_str())),
            toml::Value::Integer(i) => Some(serde_json::Value::from(*i)),
            toml::Value::Float(f) => {
                serde_json::Number::from_f64(*f).map(serde_json::Value::Number)
            }
            toml::Value::Boolean(b) => Some(serde_json::Value::from(*b)),
            _ => {
                self.error(
                    span,
                    format!("values compared with `{name}` must be strings, numbers or booleans"),
                );
                None
            }
        }
    }

    fn steps(&mut self, raw: &RawPlaybook) -> Vec<Step> {
        let Some(steps) = &raw.steps else {
            self.error_help(
                0..0,
                "a playbook needs at least one `[[steps]]`",
                "add `[[steps]]` with `action = \"…\"` and its parameters",
            );
            return Vec::new();
        };
        if steps.get_ref().is_empty() {
            self.error(steps.span(), "a playbook needs at least one `[[steps]]`");
        }
        steps
            .get_ref()
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.step(i, s))
            .collect()
    }

    fn step(&mut self, index: usize, raw: &Spanned<RawStep>) -> Option<Step> {
        let table = raw.get_ref();
        let Some((_, action_value)) = table.iter().find(|(k, _)| k.get_ref() == "action") else {
            self.error_help(
                raw.span(),
                format!("step {} has no `action`", index + 1),
                "add `action = \"…\"`; `redress catalog` lists the actions",
            );
            return None;
        };
        let Some(action_id) = action_value.get_ref().as_str() else {
            self.error(action_value.span(), "`action` must be a string");
            return None;
        };
        let Some(spec) = actions::lookup(action_id) else {
            let help = match did_you_mean(action_id, actions::ids()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "known actions: {}",
                    actions::ids().collect::<Vec<_>>().join(", ")
                ),
            };
            self.error_help(
                action_value.span(),
                format!("unknown action `{action_id}`"),
                help,
            );
            return None;
        };
        let mut params = BTreeMap::new();
        for (key, value) in table {
            let name = key.get_ref();
            if name == "action" {
                continue;
            }
            let Some(p) = spec.param(name) else {
                let accepted: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                let help = match did_you_mean(name, accepted.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None if accepted.is_empty() => format!("`{}` takes no parameters", spec.id),
                    None => format!("`{}` takes: {}", spec.id, accepted.join(", ")),
                };
                self.error_help(
                    key.span(),
                    format!("unknown parameter `{name}` for action `{}`", spec.id),
                    help,
                );
                continue;
            };
            if let Some(source) = self.param(spec, p, value) {
                params.insert(name.clone(), source);
            }
        }
        for p in spec.params {
            if params.contains_key(p.name) || table.keys().any(|k| k.get_ref() == p.name) {
                continue;
            }
            match p.default {
                Some(d) => {
                    params.insert(p.name.to_owned(), ParamSource::Fixed(d.value()));
                }
                None if p.optional => {}
                None => self.error_help(
                    raw.span(),
                    format!(
                        "step {} ({}) is missing parameter `{}`",
                        index + 1,
                        spec.id,
                        p.name
                    ),
                    format!("`{}` is {}: {}", p.name, p.ty.describe(), p.doc),
                ),
            }
        }
        Some(Step {
            action: spec,
            params,
        })
    }

    fn param(
        &mut self,
        spec: &ActionSpec,
        p: &ParamSpec,
        value: &Spanned<toml::Value>,
    ) -> Option<ParamSource> {
        let span = value.span();
        let wrong = |this: &mut Self| {
            this.error_help(
                span.clone(),
                format!(
                    "parameter `{}` of `{}` must be {}, not {}",
                    p.name,
                    spec.id,
                    p.ty.describe(),
                    toml_type(value.get_ref())
                ),
                p.doc,
            );
            None
        };
        if let toml::Value::Table(t) = value.get_ref() {
            let name = t.get("config").and_then(toml::Value::as_str);
            let ok_name = name.is_some_and(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
            });
            return match (name, t.len()) {
                (Some(n), 1) if ok_name => Some(ParamSource::FromConfig {
                    name: n.to_owned(),
                    ty: p.ty,
                    default: p.default.map(crate::actions::Default::value),
                    at: self.src.line_col(span.start),
                }),
                _ => {
                    self.error_help(
                        span,
                        format!("parameter `{}` is a table: only `{{ config = \"name\" }}` is accepted", p.name),
                        "`{ config = \"logging_bucket\" }` takes the value from the fleet config's `[parameters]`; use snake_case names",
                    );
                    None
                }
            };
        }
        match (p.ty, value.get_ref()) {
            (ParamType::Bool, toml::Value::Boolean(b)) => Some(ParamSource::Fixed(Value::Bool(*b))),
            (ParamType::Int { min, max }, toml::Value::Integer(i)) => {
                if (min..=max).contains(i) {
                    Some(ParamSource::Fixed(Value::Int(*i)))
                } else {
                    self.error(
                        span,
                        format!(
                            "parameter `{}` must be from {min} to {max}, not {i}",
                            p.name
                        ),
                    );
                    None
                }
            }
            (ParamType::IntList { min, max }, toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item.as_integer() {
                        Some(i) if (min..=max).contains(&i) => out.push(i),
                        _ => {
                            self.error(
                                span.clone(),
                                format!(
                                    "parameter `{}` must hold integers from {min} to {max}; found {item}",
                                    p.name
                                ),
                            );
                            return None;
                        }
                    }
                }
                if out.is_empty() {
                    self.error(span, format!("parameter `{}` is an empty list", p.name));
                    return None;
                }
                Some(ParamSource::Fixed(Value::IntList(out)))
            }
            (ParamType::Enum(allowed), toml::Value::String(s)) => {
                if allowed.contains(&s.as_str()) {
                    Some(ParamSource::Fixed(Value::Str(s.clone())))
                } else {
                    let help = match did_you_mean(s, allowed.iter().copied()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("`{}` is {}", p.name, p.ty.describe()),
                    };
                    self.error_help(
                        span,
                        format!("`{s}` is not an accepted value of parameter `{}`", p.name),
                        help,
                    );
                    None
                }
            }
            (ParamType::Id(kind), toml::Value::String(s)) => {
                let t = self.template(s, span.clone())?;
                if !t.has_vars()
                    && let Err(e) = kind.check(s)
                {
                    self.error(span, format!("parameter `{}`: {e}", p.name));
                    return None;
                }
                Some(ParamSource::Template(t, kind))
            }
            (ParamType::IdList(kind), toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    let Some(s) = item.as_str() else {
                        return wrong(self);
                    };
                    let t = self.template(s, span.clone())?;
                    if !t.has_vars()
                        && let Err(e) = kind.check(s)
                    {
                        self.error(span.clone(), format!("parameter `{}`: {e}", p.name));
                        return None;
                    }
                    out.push(t);
                }
                Some(ParamSource::TemplateList(out, kind))
            }
            _ => wrong(self),
        }
    }

    fn template(&mut self, s: &str, span: Range<usize>) -> Option<Template> {
        match Template::parse(s) {
            Ok(t) => Some(t),
            Err(e) => {
                let help = match &e {
                    TemplateError::UnknownVar { name, .. } => {
                        match did_you_mean(name, template::NAMES.iter().copied()) {
                            Some(near) => format!("did you mean `{near}`?"),
                            None => format!(
                                "variables: {}, `tags.<key>`, `detail:/json/pointer`",
                                template::NAMES.join(", ")
                            ),
                        }
                    }
                    _ => "write variables as `{{ resource.id }}`".to_owned(),
                };
                self.error_help(span, e.to_string(), help);
                None
            }
        }
    }
}

fn toml_type(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a datetime",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

/// `Recon:EC2/PortProbeUnprotectedPort` → `EC2`; `None` when not of that shape.
fn gd_resource_segment(t: &str) -> Option<&str> {
    let (purpose, rest) = t.split_once(':')?;
    let (resource, family) = rest.split_once('/')?;
    let ok = !purpose.is_empty()
        && purpose.bytes().all(|c| c.is_ascii_alphabetic())
        && !resource.is_empty()
        && resource.bytes().all(|c| c.is_ascii_alphanumeric())
        && !family.is_empty()
        && !family.chars().any(char::is_whitespace);
    ok.then_some(resource)
}

/// The resource type GuardDuty reports a finding family on, where it is always the same.
fn gd_resource_type(segment: &str) -> Option<&'static str> {
    match segment {
        // Every IAM finding is reported on the access key that made the calls.
        "IAMUser" => Some(resource_types::IAM_ACCESS_KEY),
        "EC2" => Some(resource_types::EC2_INSTANCE),
        "S3" => Some(resource_types::S3_BUCKET),
        _ => None,
    }
}

/// Duplicate ids and overlapping matches across files.
pub(super) fn across_files(
    parsed: &[(Playbook, Spans, SourceFile<'_>)],
    diags: &mut Vec<Diagnostic>,
) {
    let mut first: BTreeMap<&str, (&Spans, SourceFile<'_>)> = BTreeMap::new();
    for (p, spans, src) in parsed {
        if let Some((s0, src0)) = first.get(p.id.as_str()) {
            let (line, col) = src0.line_col(s0.id.start);
            diags.push(src.error_help(
                spans.id.clone(),
                format!("duplicate playbook id `{}`", p.id),
                format!("first defined at {}:{line}:{col}", src0.path.display()),
            ));
        } else {
            first.insert(&p.id, (spans, *src));
        }
    }
    for (j, (b, spans_b, src_b)) in parsed.iter().enumerate() {
        for (a, _, _) in &parsed[..j] {
            if a.id == b.id || a.priority != b.priority {
                continue;
            }
            if let Some(on) = overlap(&a.matcher, &b.matcher) {
                diags.push(src_b.error_help(
                    spans_b.matcher.clone(),
                    format!(
                        "playbooks `{}` and `{}` can both match the same finding ({on}) with equal priority {}",
                        a.id, b.id, b.priority
                    ),
                    "give one a higher `priority`, or make their `[match.where]` conditions exclusive",
                ));
            }
        }
    }
}

/// What two matchers can both match, if anything (conservative: reports when unsure).
fn overlap(a: &Matcher, b: &Matcher) -> Option<String> {
    let types_meet = a.resource_types.is_empty()
        || b.resource_types.is_empty()
        || a.resource_types
            .iter()
            .any(|t| b.resource_types.contains(t));
    if !types_meet {
        return None;
    }
    let common = |x: &[String], y: &[String]| x.iter().find(|i| y.contains(i)).cloned();
    let trigger = common(&a.config_rules, &b.config_rules)
        .map(|r| format!("Config rule `{r}`"))
        .or_else(|| {
            common(&a.securityhub_controls, &b.securityhub_controls)
                .map(|c| format!("Security Hub control `{c}`"))
        })
        .or_else(|| {
            common(&a.guardduty_types, &b.guardduty_types).map(|t| format!("GuardDuty type `{t}`"))
        })?;
    let exclusive = a.conditions.iter().any(|ca| {
        b.conditions
            .iter()
            .any(|cb| ca.field == cb.field && !ca.test.overlaps(&cb.test))
    });
    (!exclusive).then_some(trigger)
}
