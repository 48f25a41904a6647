//! redress-workers: the `redress` binary and its runtime.
//!
//! Layout:
//! - [`cli`]: arguments (clap), exit codes, and dispatch to [`commands`].
//! - [`commands`]: one module per command (`check`, `plan`, `iam-policy`).
//!
//! The pure logic (intake, playbooks, gate, plans) lives in `redress-playbooks`; this crate
//! loads files, talks to the outside world and prints.

pub mod actions;
pub mod approvals;
pub mod aws;
pub mod breaker;
pub mod cli;
pub mod commands;
pub mod control;
pub mod evidence;
pub mod executor;
pub mod health;
pub mod queue;
pub mod rollback;
pub mod store;
pub mod telemetry;
