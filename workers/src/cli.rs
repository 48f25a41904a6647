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
    /// List the playbooks: id, title, category, risk, default decision, what they match.
    Catalog {
        /// One JSON object per playbook per line.
        #[arg(long)]
        json: bool,
        /// The reference page (playbooks/README.md).
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Consume the queue: fix, hold or dry-run each finding, verify, record evidence.
    Worker {
        /// Make no mutating call: record what would be done (`would-fix`).
        #[arg(long)]
        dry_run: bool,
        /// Exit 0 once the queue stayed empty (and nothing was in flight) this many seconds.
        #[arg(long, value_name = "SECS")]
        until_idle: Option<u64>,
    },
    /// Exit 0 while the worker's loop is alive (its heartbeat is recent): for container
    /// health checks.
    Health {
        /// Oldest heartbeat still healthy, in seconds (a long poll is at most 20 s).
        #[arg(long, default_value_t = 90)]
        max_age_secs: u64,
    },
    /// Read the evidence store.
    Evidence {
        #[command(subcommand)]
        what: EvidenceCommand,
    },
    /// The Slack side of approvals.
    Approvals {
        #[command(subcommand)]
        what: ApprovalsCommand,
    },
    /// Kill switch: turn the whole fleet to dry-run within one poll (recorded in the store).
    Pause {
        /// Who pauses (recorded).
        #[arg(long)]
        by: String,
        /// Why (recorded).
        #[arg(long)]
        why: String,
    },
    /// Turn the kill switch off: the fleet follows its config again (recorded).
    Resume {
        #[arg(long)]
        by: String,
        #[arg(long)]
        why: String,
    },
    /// Restore the before-state of a recorded fix (itself gated and recorded).
    Rollback {
        /// The evidence record id of the fix.
        id: String,
        /// The person approving a rollback of an IAM or exposure fix (recorded).
        #[arg(long, value_name = "USER")]
        approved_by: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Serve Slack's interaction requests (POST /slack/interactions) and GET /healthz.
    Serve {
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
        listen: String,
    },
    /// Expire requests past their ttl and carry out decisions whose job was lost (the
    /// worker also does this every minute).
    Sweep,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// One line per record (id, time, decision, outcome, playbook, resource).
    List {
        /// Print each record as JSON, one per line.
        #[arg(long)]
        json: bool,
    },
    /// Print one record.
    Show { id: String },
    /// Check every record's digest; exit 1 if any was altered.
    Verify,
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
        Command::Catalog { json, markdown } => {
            commands::catalog::run(cli.config.as_ref(), json, markdown)
        }
        Command::Worker {
            dry_run,
            until_idle,
        } => commands::worker::run(cli.config.as_ref(), dry_run, until_idle),
        Command::Health { max_age_secs } => {
            let text = std::fs::read_to_string(crate::health::path()).ok();
            match crate::health::check(
                text.as_deref(),
                chrono::Utc::now(),
                std::time::Duration::from_secs(max_age_secs),
            ) {
                Ok(age) => {
                    println!("healthy: last heartbeat {age} s ago");
                    Ok(Exit::Ok)
                }
                Err(e) => {
                    eprintln!("redress: unhealthy: {e}");
                    Ok(Exit::Failed)
                }
            }
        }
        Command::Evidence { what } => {
            let what = match what {
                EvidenceCommand::List { json } => commands::evidence::What::List { json },
                EvidenceCommand::Show { id } => commands::evidence::What::Show { id },
                EvidenceCommand::Verify => commands::evidence::What::Verify,
            };
            commands::evidence::run(cli.config.as_ref(), what)
        }
        Command::Approvals { what } => match what {
            ApprovalsCommand::Serve { listen } => {
                commands::approvals::serve(cli.config.as_ref(), &listen)
            }
            ApprovalsCommand::Sweep => commands::approvals::sweep(cli.config.as_ref()),
        },
        Command::Pause { by, why } => commands::pause::run(cli.config.as_ref(), true, &by, &why),
        Command::Resume { by, why } => commands::pause::run(cli.config.as_ref(), false, &by, &why),
        Command::Rollback { id, approved_by } => {
            commands::rollback::run(cli.config.as_ref(), &id, approved_by.as_deref())
        }
    }
}

/// Logs to stderr: human-readable, or JSON with `REDRESS_LOG_FORMAT=json`; the level from
/// `RUST_LOG` (default: info for the worker, warnings otherwise). For the commands that act
/// (worker, rollback, approvals), starts OpenTelemetry when the environment asks for it
/// (see [`crate::telemetry`]); the returned handle flushes it at exit.
pub fn init_tracing(command: &Command) -> crate::telemetry::Telemetry {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{Layer as _, Registry};
    let acts = matches!(
        command,
        Command::Worker { .. } | Command::Rollback { .. } | Command::Approvals { .. }
    );
    let default = if acts { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal as _;
    let ansi = std::io::stderr().is_terminal();
    let json = std::env::var("REDRESS_LOG_FORMAT").is_ok_and(|v| v == "json");
    let started = if acts {
        crate::telemetry::start::<Registry>()
    } else {
        crate::telemetry::Started {
            telemetry: crate::telemetry::Telemetry::default(),
            layer: None,
            problems: Vec::new(),
        }
    };
    let Some(otel) = started.layer else {
        // Without traces, logging is exactly as it was: one fmt subscriber, one filter.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(ansi)
            .with_writer(std::io::stderr);
        // A second init (tests calling run twice) is harmless; its error is ignored.
        let _ = if json {
            builder.json().try_init()
        } else {
            builder.try_init()
        };
        report(&started.problems);
        return started.telemetry;
    };
    // With traces, each layer has its own filter: the logs keep `RUST_LOG`, OpenTelemetry
    // takes the spans it exports (AWS SDK spans included) whatever the log level.
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json()
            .map_event_format(crate::telemetry::WithTraceIds)
            .boxed()
    } else {
        fmt.boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(otel)
        .with(fmt.with_filter(filter))
        .try_init();
    report(&started.problems);
    started.telemetry
}

fn report(problems: &[String]) {
    for p in problems {
        tracing::warn!(message = "Telemetry is off.", problem = %p);
    }
}

/// `error: cause: cause`, on one line.
pub fn error_chain(err: &anyhow::Error) -> String {
    err.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
