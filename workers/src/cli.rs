//! Command-line interface (DESIGN §4).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use redress_playbooks::config::Config;

use crate::commands;

/// Exit codes of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// Checks failed or the operation failed.
    Failed = 1,
    /// Bad input or usage.
    BadInput = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// redress: auto-remediation for AWS Organizations.
#[derive(Debug, Parser)]
#[command(name = "redress", version, about, long_about = None)]
pub struct Cli {
    /// Config file (else $REDRESS_CONFIG, else ./redress.toml if present, else defaults).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate playbooks, the config and the exceptions file; errors as path:line:col: message.
    Check {
        /// Playbook files or folders (default: the config's `playbooks`, playbooks/catalog).
        paths: Vec<PathBuf>,
    },
    /// Offline: decode an event, match a playbook, run the gate; print what would happen.
    Plan {
        /// The event file (an SQS message body); `-` reads stdin.
        #[arg(long, value_name = "FILE")]
        event: PathBuf,
        /// Print plan JSON, one object per finding per line.
        #[arg(long)]
        json: bool,
        /// Judge exception expiry at this time (RFC 3339) instead of now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// Print the least-privilege IAM policy that the loaded playbooks need.
    IamPolicy,
}

/// Loads the config named on the command line, or the default one.
pub fn load_config(explicit: Option<&PathBuf>) -> Result<Config> {
    let env = std::env::var("REDRESS_CONFIG").ok();
    let path = match explicit {
        Some(p) => Some(p.clone()),
        None => Config::default_path(env.as_deref()),
    };
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    Config::parse(&path, &text).map_err(|diags| {
        let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("invalid config file:\n{}", lines.join("\n"))
    })
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Exit> {
    match cli.command {
        Command::Check { paths } => commands::check::run(cli.config.as_ref(), &paths),
        Command::Plan { event, json, at } => {
            commands::plan::run(cli.config.as_ref(), &event, json, at.as_deref())
        }
        Command::IamPolicy => commands::iam_policy::run(cli.config.as_ref()),
    }
}

/// `error: cause: cause`, on one line.
pub fn error_chain(err: &anyhow::Error) -> String {
    err.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
