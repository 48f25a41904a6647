//! `redress approvals serve [--listen ADDR]` and `redress approvals sweep`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow};
use chrono::Utc;
use redress_approvals::server::AppState;
use tracing::info;

use super::{build_engine, open_store, runtime, sdk_config};
use crate::approvals::{WorkerBackend, slack_client};
use crate::cli::{Exit, load_config};

pub fn serve(config: Option<&PathBuf>, listen: &str) -> Result<Exit> {
    let config = load_config(config)?;
    let secret = std::env::var("SLACK_SIGNING_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            anyhow!("`approvals serve` needs SLACK_SIGNING_SECRET in the environment")
        })?;
    let queue = config.queue.clone().ok_or_else(|| {
        anyhow!("`approvals serve` needs `[queue] url` to send decisions to the worker")
    })?;
    if config.approvals.approvers.is_empty() {
        return Err(anyhow!(
            "`[approvals] approvers` is empty: nobody could approve anything"
        ));
    }
    let slack = slack_client(&config)
        .context("cannot set up the Slack client")?
        .ok_or_else(|| anyhow!("`approvals serve` needs a `[slack]` section"))?;
    runtime()?.block_on(async move {
        let sdk = sdk_config().await;
        let store = open_store(&config, &sdk)?;
        let backend = WorkerBackend {
            store,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url: queue.url.clone(),
        };
        let state = Arc::new(AppState {
            signing_secret: secret.into_bytes(),
            approvers: config.approvals.approvers.clone(),
            backend: Arc::new(backend),
            slack,
            clock: Utc::now,
        });
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr().context("no local address")?;
        info!(message = "Approvals endpoint listening.", address = %addr);
        eprintln!("listening on {addr}");
        redress_approvals::server::serve(listener, state, shutdown_signal())
            .await
            .context("the approvals endpoint failed")?;
        Ok(Exit::Ok)
    })
}

pub fn sweep(config: Option<&PathBuf>) -> Result<Exit> {
    let config = load_config(config)?;
    runtime()?.block_on(async move {
        let (engine, _) = build_engine(config, false).await?;
        let n = engine.sweep().await.context("the sweep failed")?;
        println!("expired {n} request(s)");
        Ok(Exit::Ok)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
