//! `redress check [PATH...]`: validate playbooks, the config and the exceptions file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::Utc;
use redress_playbooks::config::Config;
use redress_playbooks::diag::{Diagnostic, Level};
use redress_playbooks::{exceptions, playbook};

use crate::cli::Exit;

/// Collects the `.toml` files named by `paths` (folders are read one level deep).
fn playbook_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for path in paths {
        let mut found: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(path)
                .with_context(|| format!("cannot read folder {}", path.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
                .collect()
        } else {
            vec![path.clone()]
        };
        found.sort();
        for f in found {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read playbook {}", f.display()))?;
            files.push((f, text));
        }
    }
    Ok(files)
}

pub fn run(config_path: Option<&PathBuf>, paths: &[PathBuf]) -> Result<Exit> {
    let mut diags: Vec<Diagnostic> = Vec::new();
    let env = std::env::var("REDRESS_CONFIG").ok();
    let config_file = config_path
        .cloned()
        .or_else(|| Config::default_path(env.as_deref()));
    let mut config_text = None;
    let config = match &config_file {
        None => Config::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            let parsed = Config::parse(path, &text);
            config_text = Some(text);
            match parsed {
                Ok(c) => c,
                Err(mut d) => {
                    diags.append(&mut d);
                    Config::default()
                }
            }
        }
    };

    let paths: Vec<PathBuf> = if paths.is_empty() {
        vec![config.playbooks.clone()]
    } else {
        paths.to_vec()
    };
    let files = playbook_files(&paths)?;
    let (catalog, mut pb_diags) = playbook::load_sources(&files);
    diags.append(&mut pb_diags);
    let known: Vec<&str> = catalog.playbooks.iter().map(|p| p.id.as_str()).collect();

    if let (Some(path), Some(text)) = (&config_file, &config_text) {
        diags.extend(Config::check_gate_ids(path, text, &known));
    }
    diags.extend(check_parameters(
        &catalog,
        &config,
        config_file.as_deref(),
        config_text.as_deref(),
    ));

    if let Some(path) = &config.exceptions {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the exceptions file {}", path.display()))?;
        match exceptions::parse(path, &text, Utc::now()) {
            Ok((list, mut warnings)) => {
                diags.append(&mut warnings);
                for e in list.iter().filter(|e| e.playbook != "*") {
                    if !known.contains(&e.playbook.as_str()) {
                        diags.push(Diagnostic {
                            level: Level::Error,
                            path: path.clone(),
                            line: e.at.0,
                            col: e.at.1,
                            message: format!(
                                "the exception for `{}` names unknown playbook `{}`",
                                e.resource, e.playbook
                            ),
                            help: None,
                        });
                    }
                }
            }
            Err(mut d) => diags.append(&mut d),
        }
    }

    for d in &diags {
        eprintln!("{d}");
    }
    let errors = diags.iter().filter(|d| d.level == Level::Error).count();
    let warnings = diags.len() - errors;
    let what = describe(
        &catalog.playbooks.len(),
        config_file.as_deref(),
        config.exceptions.as_deref(),
    );
    if errors > 0 {
        println!("check failed: {errors} error(s), {warnings} warning(s) in {what}");
        Ok(Exit::Failed)
    } else {
        println!("check passed: {what}, {warnings} warning(s)");
        Ok(Exit::Ok)
    }
}

/// Each `{ config = "name" }` parameter: the config's value has the right type, or the
/// action has a default; otherwise the playbook's findings would fail (a warning: a fleet
/// that never sees such findings need not set it).
fn check_parameters(
    catalog: &playbook::Catalog,
    config: &Config,
    config_path: Option<&Path>,
    config_text: Option<&str>,
) -> Vec<Diagnostic> {
    use redress_playbooks::playbook::ParamSource;
    let mut out = Vec::new();
    for p in &catalog.playbooks {
        for (i, step) in p.steps.iter().enumerate() {
            for (param, source) in &step.params {
                let ParamSource::FromConfig {
                    name,
                    ty,
                    default,
                    at,
                } = source
                else {
                    continue;
                };
                match config.parameters.get(name) {
                    Some(v) => {
                        if let Err(why) = redress_playbooks::actions::coerce(*ty, v) {
                            let (line, col) = match (config_path, config_text) {
                                (Some(path), Some(text)) => {
                                    let src = redress_playbooks::diag::SourceFile::new(path, text);
                                    src.line_col(text.find(&format!("{name} ")).unwrap_or(0))
                                }
                                _ => (1, 1),
                            };
                            out.push(Diagnostic {
                                level: Level::Error,
                                path: config_path.map(Path::to_path_buf).unwrap_or_default(),
                                line,
                                col,
                                message: format!("`[parameters] {name}` {why} (used by `{}` step {})", p.id, i + 1),
                                help: None,
                            });
                        }
                    }
                    None if default.is_none() => out.push(Diagnostic {
                        level: Level::Warning,
                        path: p.path.clone(),
                        line: at.0,
                        col: at.1,
                        message: format!(
                            "step {} parameter `{param}` comes from `[parameters] {name}`, which the config does not set: findings for `{}` will fail until it does",
                            i + 1,
                            p.id
                        ),
                        help: None,
                    }),
                    None => {}
                }
            }
        }
    }
    out
}

fn describe(playbooks: &usize, config: Option<&Path>, exceptions: Option<&Path>) -> String {
    let mut parts = vec![format!("{playbooks} valid playbook(s)")];
    parts.push(match config {
        Some(p) => format!("config {}", p.display()),
        None => "built-in config".to_owned(),
    });
    if let Some(e) = exceptions {
        parts.push(format!("exceptions {}", e.display()));
    }
    parts.join(", ")
}
