//! The blast-radius breaker (DESIGN §5 invariant 7): at most N `auto` fixes per account and
//! per playbook per window, and no more `auto` fixes from a playbook whose fixes keep failing
//! verification. Past a limit a fix is held for approval, and one alert per limit and window
//! goes to Slack.
//!
//! Counting lives in the store, so every worker of the fleet shares it: a fix takes the next
//! numbered slot of its window with a create-once write (`breaker/auto/<scope>/<window>/
//! <n>.json`). Two workers racing for the last slot cannot both get it, so the limit is exact
//! across the fleet. A redelivery that takes a second slot only makes the breaker stricter.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use redress_playbooks::config::BreakerConfig;
use redress_playbooks::finding::Finding;
use serde::{Deserialize, Serialize};
use tracing::{error, warn};

use crate::executor::{Engine, ExecError};

/// How far past the listed count a slot or record write searches before giving up; only
/// concurrent writers in the same window make it go past the first try.
const SLOT_SEARCH: u32 = 1_000;

#[derive(Debug, Serialize, Deserialize)]
struct Slot {
    at: DateTime<Utc>,
    claim: String,
    account: String,
    playbook: String,
    resource: String,
}

impl Slot {
    /// The stored body of one counted fix.
    fn body(
        f: &Finding,
        playbook: &str,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&Slot {
            at: now,
            claim: claim.to_owned(),
            account: f.account.as_str().to_owned(),
            playbook: playbook.to_owned(),
            resource: f.resource.id.clone(),
        })
    }
}

/// What one worker remembers of the store's counts, so that a fix costs no LIST: slots are
/// never removed within their window, so every slot below the next one this worker knows of
/// is taken, and create-once keeps the limit exact whatever the others took meanwhile.
#[derive(Debug, Default)]
pub struct Cache {
    /// Per slot prefix: the next slot number to try.
    next: std::sync::Mutex<HashMap<String, u32>>,
    /// Per verify-failure prefix: the count, and when it was read.
    failures: std::sync::Mutex<HashMap<String, (usize, Instant)>>,
}

/// How long a read verify-failure count is trusted (other workers' failures show after it).
const FAILURES_FRESH: Duration = Duration::from_secs(5);

/// Entries kept before the cache is emptied (windows pass; their prefixes are never used again).
const CACHE_ENTRIES: usize = 4_096;

/// A limit an `auto` fix would pass: the fix is held for approval instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Tripped {
    /// `account:<id>`, `playbook:<id>` or `verify-failed:<playbook>`.
    pub scope: String,
    /// For the evidence's reason and the alert.
    pub reason: String,
}

/// The start of the fixed window `now` falls in, in seconds since the epoch.
pub fn window_start(now: DateTime<Utc>, window: std::time::Duration) -> i64 {
    let w = i64::try_from(window.as_secs().max(1)).unwrap_or(i64::MAX);
    now.timestamp().div_euclid(w) * w
}

fn window_end(start: i64, cfg: &BreakerConfig) -> String {
    let w = i64::try_from(cfg.window.as_secs().max(1)).unwrap_or(i64::MAX);
    Utc.timestamp_opt(start.saturating_add(w), 0)
        .single()
        .map_or_else(|| "the end of the window".to_owned(), |t| t.to_rfc3339())
}

fn auto_prefix(scope: &str, start: i64) -> String {
    format!("breaker/auto/{scope}/{start}/")
}

fn verify_prefix(playbook: &str, start: i64) -> String {
    format!("breaker/verify-failed/playbook/{playbook}/{start}/")
}

impl Engine {
    /// Takes the next free numbered slot under `prefix` if fewer than `limit` are taken.
    async fn take_slot(&self, prefix: &str, limit: u32, body: &[u8]) -> Result<bool, ExecError> {
        let known = self
            .breaker_cache
            .next
            .lock()
            .ok()
            .and_then(|m| m.get(prefix).copied());
        let used = match known {
            Some(n) => n,
            None => u32::try_from(self.store.list(prefix).await?.len()).unwrap_or(u32::MAX),
        };
        let mut next = used;
        let mut taken = false;
        for n in used..limit.min(used.saturating_add(SLOT_SEARCH)) {
            next = n.saturating_add(1);
            if self
                .store
                .create(&format!("{prefix}{n:06}.json"), body)
                .await?
            {
                taken = true;
                break;
            }
        }
        if let Ok(mut m) = self.breaker_cache.next.lock() {
            if m.len() >= CACHE_ENTRIES {
                m.clear();
            }
            m.insert(prefix.to_owned(), next.max(used));
        }
        Ok(taken)
    }

    /// Fixes of a playbook that failed verification in a window, read at most every few
    /// seconds.
    async fn verify_failures(&self, prefix: &str) -> Result<usize, ExecError> {
        if let Ok(m) = self.breaker_cache.failures.lock()
            && let Some((n, at)) = m.get(prefix)
            && at.elapsed() < FAILURES_FRESH
        {
            return Ok(*n);
        }
        let n = self.store.list(prefix).await?.len();
        if let Ok(mut m) = self.breaker_cache.failures.lock() {
            if m.len() >= CACHE_ENTRIES {
                m.clear();
            }
            m.insert(prefix.to_owned(), (n, Instant::now()));
        }
        Ok(n)
    }

    /// Admits one `auto` fix of `playbook` for `f`, or says which limit it would pass.
    pub(crate) async fn admit(
        &self,
        f: &Finding,
        playbook: &str,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Tripped>, ExecError> {
        let cfg = &self.config.breaker;
        let start = window_start(now, cfg.window);
        let until = window_end(start, cfg);
        let failed = self
            .verify_failures(&verify_prefix(playbook, start))
            .await?;
        if u32::try_from(failed).unwrap_or(u32::MAX) >= cfg.max_verify_failures {
            return Ok(Err(Tripped {
                scope: format!("verify-failed:{playbook}"),
                reason: format!(
                    "blast-radius breaker: {failed} fixes by playbook `{playbook}` failed verification in this window (limit {}); its auto fixes are held for approval until {until}",
                    cfg.max_verify_failures
                ),
            }));
        }
        let slot = Slot::body(f, playbook, claim, now)?;
        let limits = [
            (
                format!("playbook:{playbook}"),
                format!("playbook/{playbook}"),
                cfg.max_auto_per_playbook,
                format!("playbook `{playbook}`"),
            ),
            (
                format!("account:{}", f.account.as_str()),
                format!("account/{}", f.account.as_str()),
                cfg.max_auto_per_account,
                format!("account {}", f.account.as_str()),
            ),
        ];
        for (scope, key, limit, what) in limits {
            if !self
                .take_slot(&auto_prefix(&key, start), limit, &slot)
                .await?
            {
                return Ok(Err(Tripped {
                    scope,
                    reason: format!(
                        "blast-radius breaker: {limit} auto fixes for {what} in this window; further fixes are held for approval until {until}"
                    ),
                }));
            }
        }
        Ok(Ok(()))
    }

    /// Counts a fix that failed verification; the one that reaches the limit trips the
    /// playbook and alerts.
    pub(crate) async fn note_verify_failure(
        &self,
        f: &Finding,
        playbook: &str,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ExecError> {
        let cfg = &self.config.breaker;
        let start = window_start(now, cfg.window);
        let prefix = verify_prefix(playbook, start);
        let body = Slot::body(f, playbook, claim, now)?;
        let used = u32::try_from(self.store.list(&prefix).await?.len()).unwrap_or(u32::MAX);
        for n in used..used.saturating_add(SLOT_SEARCH) {
            if self
                .store
                .create(&format!("{prefix}{n:06}.json"), &body)
                .await?
            {
                // This worker's own failure counts at once.
                if let Ok(mut m) = self.breaker_cache.failures.lock() {
                    m.remove(&prefix);
                }
                if n.saturating_add(1) == cfg.max_verify_failures {
                    let trip = Tripped {
                        scope: format!("verify-failed:{playbook}"),
                        reason: format!(
                            "blast-radius breaker: {} fixes by playbook `{playbook}` failed verification in this window; its auto fixes are held for approval until {}",
                            n + 1,
                            window_end(start, cfg)
                        ),
                    };
                    self.alert_trip(f, &trip, now).await?;
                }
                return Ok(());
            }
        }
        warn!(
            message = "Could not count a verification failure (too many concurrent writers).",
            playbook
        );
        Ok(())
    }

    /// Logs, and posts to Slack once per scope and window, that a limit tripped.
    pub(crate) async fn alert_trip(
        &self,
        f: &Finding,
        trip: &Tripped,
        now: DateTime<Utc>,
    ) -> Result<(), ExecError> {
        let start = window_start(now, self.config.breaker.window);
        let key = format!(
            "breaker/alerts/{}/{start}.json",
            trip.scope.replace(':', "/")
        );
        let first = self
            .store
            .create(
                &key,
                &serde_json::to_vec(&serde_json::json!({
                    "at": now,
                    "scope": trip.scope,
                    "reason": trip.reason,
                }))?,
            )
            .await?;
        if !first {
            return Ok(());
        }
        error!(message = "Blast-radius breaker tripped.", scope = %trip.scope, reason = %trip.reason);
        crate::telemetry::breaker_tripped(&trip.scope);
        let (Some(slack), Some(cfg)) = (&self.slack, &self.config.slack) else {
            return Ok(());
        };
        let channel = if trip.scope.starts_with("account:") {
            redress_approvals::routing::route(cfg, &f.tags, f.account.as_str()).channel
        } else {
            cfg.default_channel.clone()
        };
        let text = format!(
            ":rotating_light: redress {}. Held fixes wait in this channel for approval; `redress pause` stops the fleet.",
            trip.reason
        );
        let blocks = serde_json::json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        ]);
        if let Err(e) = slack.post(&channel, &text, &blocks, None).await {
            warn!(message = "Failed to post the breaker alert to Slack.", error = %e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_aligned() {
        let hour = std::time::Duration::from_secs(3600);
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            window_start(t("2026-11-25T10:59:59Z"), hour),
            window_start(t("2026-11-25T10:00:00Z"), hour)
        );
        assert_eq!(
            window_start(t("2026-11-25T11:00:00Z"), hour)
                - window_start(t("2026-11-25T10:30:00Z"), hour),
            3600
        );
        let cfg = BreakerConfig::default();
        assert_eq!(
            window_end(window_start(t("2026-11-25T10:30:00Z"), hour), &cfg),
            "2026-11-25T11:00:00+00:00"
        );
    }
}
