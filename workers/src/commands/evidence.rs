//! `redress evidence list | show ID | verify`.

use std::path::PathBuf;

use anyhow::{Context as _, Result};

use super::{open_store, runtime, sdk_config};
use crate::cli::{Exit, load_config};
use crate::evidence::Evidence;

pub enum What {
    List { json: bool },
    Show { id: String },
    Verify,
}

pub fn run(config: Option<&PathBuf>, what: What) -> Result<Exit> {
    let config = load_config(config)?;
    runtime()?.block_on(async move {
        let sdk = sdk_config().await;
        let store = open_store(&config, &sdk)?;
        let keys = store
            .list("evidence/")
            .await
            .with_context(|| format!("cannot list evidence in {}", store.describe()))?;
        match what {
            What::List { json } => {
                for key in &keys {
                    let Some(bytes) = store.get(key).await? else {
                        continue;
                    };
                    let v: serde_json::Value = match serde_json::from_slice(&bytes) {
                        Ok(v) => v,
                        Err(e) => {
                            eprintln!("{key}: not JSON: {e}");
                            continue;
                        }
                    };
                    if json {
                        println!("{v}");
                    } else {
                        let s = |p: &str| {
                            v.pointer(p)
                                .and_then(|x| x.as_str())
                                .unwrap_or("-")
                                .to_owned()
                        };
                        println!(
                            "{}  {}  {:<9} {:<17} {:<34} {}",
                            s("/id"),
                            s("/started_at"),
                            s("/decision"),
                            s("/outcome"),
                            s("/playbook/id"),
                            s("/finding/resource_id"),
                        );
                    }
                }
                Ok(Exit::Ok)
            }
            What::Show { id } => {
                let suffix = format!("/{id}.json");
                let Some(key) = keys.iter().find(|k| k.ends_with(&suffix)) else {
                    eprintln!("redress: no evidence record has id {id}");
                    return Ok(Exit::Failed);
                };
                let bytes = store.get(key).await?.unwrap_or_default();
                println!("{}", String::from_utf8_lossy(&bytes));
                Ok(Exit::Ok)
            }
            What::Verify => {
                let mut bad = 0;
                for key in &keys {
                    let bytes = store.get(key).await?.unwrap_or_default();
                    if let Err(e) = Evidence::verify_bytes(&bytes) {
                        bad += 1;
                        eprintln!("{key}: {e}");
                    }
                }
                println!(
                    "verified {} record(s) in {}: {} intact, {bad} damaged",
                    keys.len(),
                    store.describe(),
                    keys.len() - bad
                );
                Ok(if bad == 0 { Exit::Ok } else { Exit::Failed })
            }
        }
    })
}
