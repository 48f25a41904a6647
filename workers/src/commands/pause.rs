//! `redress pause --by USER --why TEXT` and `redress resume --by USER --why TEXT`.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use chrono::Utc;

use super::{open_store, runtime, sdk_config};
use crate::cli::{Exit, load_config};
use crate::control::{self, PauseRecord};

pub fn run(config: Option<&PathBuf>, paused: bool, by: &str, why: &str) -> Result<Exit> {
    if by.trim().is_empty() || why.trim().is_empty() {
        return Err(anyhow!(
            "--by and --why must say who and why; they are recorded"
        ));
    }
    let config = load_config(config)?;
    runtime()?.block_on(async move {
        let sdk = sdk_config().await;
        let store = open_store(&config, &sdk)?;
        let record = PauseRecord {
            paused,
            by: by.to_owned(),
            why: why.to_owned(),
            at: Utc::now(),
        };
        let key = control::set(store.as_ref(), &record)
            .await
            .with_context(|| format!("cannot write the kill switch to {}", store.describe()))?;
        println!(
            "{} by {by} ({}): {why}",
            if paused {
                "fleet paused: every worker turns to dry-run within one poll"
            } else {
                "fleet resumed: workers follow their config again"
            },
            key
        );
        Ok(Exit::Ok)
    })
}
