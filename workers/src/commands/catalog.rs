//! `redress catalog [--json | --markdown]`.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use redress_playbooks::reference;

use super::load_catalog;
use crate::cli::{Exit, load_config};

pub fn run(config: Option<&PathBuf>, json: bool, markdown: bool) -> Result<Exit> {
    let config = load_config(config)?;
    let catalog = load_catalog(&config)?;
    if markdown {
        print!("{}", reference::markdown(&catalog));
        return Ok(Exit::Ok);
    }
    let entries = reference::entries(&catalog, &config);
    if json {
        for e in &entries {
            println!(
                "{}",
                serde_json::to_string(e).context("cannot encode the catalog")?
            );
        }
        return Ok(Exit::Ok);
    }
    println!(
        "{:<36} {:<9} {:<5} {:<9} matches",
        "playbook", "category", "risk", "decision"
    );
    for e in &entries {
        let mut matches: Vec<String> = Vec::new();
        matches.extend(e.securityhub_controls.iter().cloned());
        matches.extend(e.config_rules.iter().cloned());
        matches.extend(e.guardduty_types.iter().cloned());
        println!(
            "{:<36} {:<9} {:<5} {:<9} {}",
            e.id,
            e.category.as_str(),
            e.risk,
            e.decision.as_str(),
            matches.join(", ")
        );
    }
    println!("{} playbooks", entries.len());
    Ok(Exit::Ok)
}
