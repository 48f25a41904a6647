//! redress-playbooks: the pure core of redress.
//!
//! Layout:
//! - [`ids`]: validated AWS identifiers, checked before anything reaches a template or a call.
//! - [`finding`]: the Finding model, one shape for Config, GuardDuty and Security Hub.
//! - [`intake`]: decoding one SQS message body (EventBridge event, SNS envelope, Config SNS
//!   notification) into Findings, with typed errors.
//! - [`actions`]: the action catalog interface: parameters, category, reversibility,
//!   permissions and a description of each action's change.
//! - [`playbook`]: the playbook language: loading, validation with `path:line:col`
//!   diagnostics ([`diag`]), matching, and rendering of [`template`]s; `[match.where]`
//!   conditions live in [`condition`].
//! - [`config`] and [`exceptions`]: the fleet config file and the exceptions file.
//! - [`gate`]: the pure decision function (DESIGN §5, invariants 2 and 6).
//! - [`plan`]: what `redress plan` prints, built from all of the above.
//!
//! Nothing here does I/O beyond reading the files it is pointed at; no tokio, no AWS SDK.

pub mod actions;
pub mod condition;
pub mod config;
pub mod diag;
pub mod exceptions;
pub mod finding;
pub mod gate;
pub mod ids;
pub mod intake;
pub mod plan;
pub mod playbook;
pub mod reference;
pub mod template;
