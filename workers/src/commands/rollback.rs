//! `redress rollback ID [--approved-by USER]`.

use std::path::PathBuf;

use anyhow::Result;
use tracing::Instrument as _;

use super::{build_engine, runtime};
use crate::cli::{Exit, load_config};
use crate::evidence::Outcome;

pub fn run(config: Option<&PathBuf>, id: &str, approved_by: Option<&str>) -> Result<Exit> {
    let config = load_config(config)?;
    runtime()?.block_on(async move {
        let (engine, _) = build_engine(config, false).await?;
        let span = tracing::info_span!("rollback", redress.rollback_of = id);
        match engine.rollback(id, approved_by).instrument(span).await {
            Ok(record) => {
                println!(
                    "rollback of {id}: {} (record {}){}",
                    record.outcome.as_str(),
                    record.id,
                    record
                        .error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
                Ok(
                    if record.outcome == Outcome::Fixed || record.outcome == Outcome::WouldFix {
                        Exit::Ok
                    } else {
                        Exit::Failed
                    },
                )
            }
            Err(e) => {
                eprintln!("redress: rollback of {id}: {e}");
                Ok(Exit::Failed)
            }
        }
    })
}
