//! `redress iam-policy`: the IAM policy the loaded playbooks need, from the action catalog.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde_json::json;

use super::load_catalog;
use crate::cli::{Exit, load_config};

pub fn run(config: Option<&PathBuf>) -> Result<Exit> {
    let config = load_config(config)?;
    let catalog = load_catalog(&config)?;
    let mut actions = BTreeSet::new();
    let mut reevaluate = false;
    for p in &catalog.playbooks {
        for s in &p.steps {
            actions.extend(s.action.permissions.iter().copied());
        }
        reevaluate |= p.config_reevaluate;
    }
    if reevaluate {
        actions.insert("config:StartConfigRulesEvaluation");
    }
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RedressRemediation",
            "Effect": "Allow",
            "Action": actions.into_iter().collect::<Vec<_>>(),
            "Resource": "*",
        }],
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&policy).context("cannot encode the policy")?
    );
    Ok(Exit::Ok)
}
