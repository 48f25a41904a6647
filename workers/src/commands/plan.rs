//! `redress plan --event FILE [--json]`: what the fleet would do with an event, and why.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use redress_playbooks::intake::{self, MAX_MESSAGE_BYTES};
use redress_playbooks::plan::{self, Context};

use super::{load_catalog, load_exceptions};
use crate::cli::{Exit, load_config};

/// Reads at most one byte more than SQS allows, so an oversized body is named as such
/// without reading all of it.
fn read_event(path: &Path) -> Result<Vec<u8>> {
    let limit = (MAX_MESSAGE_BYTES + 1) as u64;
    let mut buf = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut buf)
            .context("cannot read the event from stdin")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut buf))
            .with_context(|| format!("cannot read event file {}", path.display()))?;
    }
    Ok(buf)
}

pub fn run(config: Option<&PathBuf>, event: &Path, json: bool, at: Option<&str>) -> Result<Exit> {
    let now: DateTime<Utc> = match at {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| anyhow!("--at {t:?} is not an RFC 3339 time: {e}"))?,
        None => Utc::now(),
    };
    let body = read_event(event)?;
    let name = if event == Path::new("-") {
        "stdin".to_owned()
    } else {
        event.display().to_string()
    };
    let decoded = intake::decode(&body).map_err(|e| anyhow!("event {name}: {e}"))?;
    let config = load_config(config)?;
    let catalog = load_catalog(&config)?;
    let exceptions = load_exceptions(&config, now)?;
    let cx = Context {
        catalog: &catalog,
        config: &config,
        fleet_mode: config.mode,
        exceptions: &exceptions,
        now,
    };
    let plans = plan::plan_message(&decoded, cx);
    let mut out = String::new();
    for (i, p) in plans.iter().enumerate() {
        if json {
            out.push_str(&serde_json::to_string(p).context("cannot encode the plan")?);
            out.push('\n');
        } else {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&plan::render_text(p));
        }
    }
    print!("{out}");
    Ok(if plans.iter().any(|p| p.error.is_some()) {
        Exit::Failed
    } else {
        Exit::Ok
    })
}
