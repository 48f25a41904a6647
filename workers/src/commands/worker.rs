//! `redress worker [--dry-run] [--until-idle SECS]`: consume the queue.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{build_engine, runtime};
use crate::cli::{Exit, load_config};
use crate::queue;

pub fn run(config: Option<&PathBuf>, dry_run: bool, until_idle: Option<u64>) -> Result<Exit> {
    let config = load_config(config)?;
    let queue_cfg = config.queue.clone().ok_or_else(|| {
        anyhow!("the worker needs a queue: add `[queue] url = \"https://sqs.…\"` to the config")
    })?;
    runtime()?.block_on(async move {
        let (engine, sdk) = build_engine(config, dry_run).await?;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let shutdown = CancellationToken::new();
        tokio::spawn(on_signal(shutdown.clone()));
        let opts = queue::Options {
            url: queue_cfg.url.clone(),
            concurrency: queue_cfg.concurrency,
            visibility_timeout_secs: queue_cfg.visibility_timeout_secs,
            wait_time_secs: queue_cfg.wait_time_secs,
            dlq_url: queue_cfg.dlq_url.clone(),
            until_idle: until_idle.map(Duration::from_secs),
            drain_deadline: Duration::from_secs(u64::from(queue_cfg.shutdown_deadline_secs)),
            max_attempts: queue_cfg.max_attempts.max(1),
        };
        info!(
            message = "Worker started.",
            queue = %opts.url,
            concurrency = opts.concurrency.get(),
            dry_run = engine.force_dry_run || engine.config.mode == redress_playbooks::playbook::Mode::DryRun,
            store = %engine.store.describe(),
        );
        let engine = Arc::new(engine);
        tokio::spawn(sweep_every_minute(engine.clone(), shutdown.clone()));
        let stats = queue::run(engine, sqs, opts, shutdown).await;
        info!(message = "Worker stopped.", summary = %stats.summary());
        Ok(Exit::Ok)
    })
}

/// SIGTERM (ECS stopping the task) or SIGINT: stop receiving and drain.
async fn on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    info!(message = "Shutdown signal received; finishing in-flight work.");
    shutdown.cancel();
}

/// Expires undecided requests and recovers lost decision jobs, once a minute.
async fn sweep_every_minute(engine: Arc<crate::executor::Engine>, shutdown: CancellationToken) {
    loop {
        match engine.sweep().await {
            Ok(0) => {}
            Ok(n) => info!(message = "Expired approval requests.", count = n),
            Err(e) => tracing::warn!(message = "Approval sweep failed.", error = %e),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
