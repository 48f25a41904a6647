//! redress-tests: the harness for end-to-end tests over real HTTP.
//!
//! - [`moto`]: starts a `moto_server` on a free loopback port for a test and stops it when
//!   dropped; gives an `SdkConfig` pointed at it. Nothing here fakes an AWS API: the SDK
//!   talks HTTP to the emulator.
//! - [`events`]: message bodies as SQS delivers them, for resources a test created.
//! - [`redress`]: runs the real `redress` binary against the emulator.
//! - [`proxy`]: a fault-injecting HTTP proxy between `redress` and the emulator.
//! - [`otlp`]: a local OTLP/HTTP receiver that records the spans and metrics it is sent.

// A test harness: a panic here is a failed test, with its message.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod events;
pub mod moto;
pub mod otlp;
pub mod proxy;
pub mod redress;
pub mod slack;
pub mod world;

pub use moto::Moto;
