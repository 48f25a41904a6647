//! Liveness for container health checks: the worker loop writes a heartbeat before every
//! receive; `redress health` exits 0 while it is recent. (Distroless images have no shell,
//! so the check is the binary itself: `["CMD", "/usr/local/bin/redress", "health"]`.)

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Where the heartbeat is written: `$REDRESS_HEARTBEAT`, else a file in the temp folder.
pub fn path() -> PathBuf {
    std::env::var_os("REDRESS_HEARTBEAT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("redress-worker.heartbeat"))
}

/// Records that the loop is alive. Failing to write is logged once per failure, not fatal:
/// the health check then reports the worker unhealthy, which is the truth.
pub fn beat() {
    if let Err(e) = std::fs::write(path(), Utc::now().to_rfc3339()) {
        tracing::warn!(message = "Cannot write the heartbeat.", path = %path().display(), error = %e);
    }
}

/// Why the worker is not healthy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unhealthy {
    #[error("no heartbeat at {0}: the worker has not started its loop")]
    Missing(String),
    #[error("the heartbeat at {0} is not a time")]
    Garbled(String),
    #[error(
        "the last heartbeat is {age_secs} s old (more than {max_secs} s): the worker loop is stuck"
    )]
    Stale { age_secs: i64, max_secs: u64 },
}

/// Checks the heartbeat text against `now`.
pub fn check(text: Option<&str>, now: DateTime<Utc>, max_age: Duration) -> Result<i64, Unhealthy> {
    let where_ = path().display().to_string();
    let text = text.ok_or_else(|| Unhealthy::Missing(where_.clone()))?;
    let at = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| Unhealthy::Garbled(where_))?
        .with_timezone(&Utc);
    let age = now.signed_duration_since(at).num_seconds();
    if age > i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX) {
        return Err(Unhealthy::Stale {
            age_secs: age,
            max_secs: max_age.as_secs(),
        });
    }
    Ok(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_heartbeats_are_healthy_and_old_ones_are_not() {
        let now = DateTime::parse_from_rfc3339("2026-03-14T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let max = Duration::from_secs(90);
        assert_eq!(check(Some("2026-03-14T07:59:30Z"), now, max), Ok(30));
        assert!(matches!(
            check(Some("2026-03-14T07:50:00Z"), now, max),
            Err(Unhealthy::Stale {
                age_secs: 600,
                max_secs: 90
            })
        ));
        assert!(matches!(check(None, now, max), Err(Unhealthy::Missing(_))));
        assert!(matches!(
            check(Some("yesterday"), now, max),
            Err(Unhealthy::Garbled(_))
        ));
    }
}
