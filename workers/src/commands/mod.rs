//! One module per command, plus the loading they share.

pub mod check;
pub mod iam_policy;
pub mod plan;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use redress_playbooks::config::Config;
use redress_playbooks::exceptions::{self, Exception};
use redress_playbooks::playbook::{self, Catalog};

/// Loads the config's playbook catalog; refuses one with errors (warnings go to stderr).
pub fn load_catalog(config: &Config) -> Result<Catalog> {
    let (catalog, diags) = playbook::load_catalog(&config.playbooks).with_context(|| {
        format!(
            "cannot read the playbook folder {}",
            config.playbooks.display()
        )
    })?;
    for d in &diags {
        eprintln!("{d}");
    }
    if playbook::has_errors(&diags) {
        bail!(
            "the playbooks in {} have errors; `redress check` lists them",
            config.playbooks.display()
        );
    }
    Ok(catalog)
}

/// Loads the config's exceptions file, if it names one.
pub fn load_exceptions(config: &Config, now: DateTime<Utc>) -> Result<Vec<Exception>> {
    let Some(path) = &config.exceptions else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the exceptions file {}", path.display()))?;
    match exceptions::parse(path, &text, now) {
        Ok((list, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            Ok(list)
        }
        Err(diags) => {
            let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
            bail!("invalid exceptions file:\n{}", lines.join("\n"))
        }
    }
}
