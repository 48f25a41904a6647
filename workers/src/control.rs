//! The kill switch: `redress pause` / `redress resume` write a record in the store, and
//! every worker turns to dry-run within one poll. Records are create-once and kept, so the
//! store holds the switch's whole history (who, when, why).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::evidence::new_id;
use crate::store::{Store, StoreError};

const PREFIX: &str = "control/pause/";

/// One flip of the switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseRecord {
    pub paused: bool,
    pub by: String,
    pub why: String,
    pub at: DateTime<Utc>,
}

impl PauseRecord {
    /// How evidence and logs name it.
    pub fn describe(&self) -> String {
        format!(
            "the fleet is paused (kill switch) by {} at {}: {}",
            self.by,
            self.at.to_rfc3339(),
            self.why
        )
    }
}

/// Flips the switch. Keys sort by time (UUID v7), so the last one is in force.
pub async fn set(store: &dyn Store, record: &PauseRecord) -> Result<String, StoreError> {
    let key = format!("{PREFIX}{}.json", new_id());
    let body = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Io {
        path: key.clone(),
        source: std::io::Error::other(e),
    })?;
    store.create(&key, &body).await?;
    Ok(key)
}

/// The record in force, if the switch was ever flipped.
pub async fn current(store: &dyn Store) -> Result<Option<PauseRecord>, StoreError> {
    let keys = store.list(PREFIX).await?;
    for key in keys.iter().rev() {
        if let Some(bytes) = store.get(key).await?
            && let Ok(r) = serde_json::from_slice::<PauseRecord>(&bytes)
        {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// The pause in force (`None` when running or never paused).
pub async fn active(store: &dyn Store) -> Result<Option<PauseRecord>, StoreError> {
    Ok(current(store).await?.filter(|r| r.paused))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FileStore;

    #[tokio::test]
    async fn the_last_flip_is_in_force_and_history_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        assert_eq!(active(&store).await.unwrap(), None);
        let pause = PauseRecord {
            paused: true,
            by: "alice".into(),
            why: "incident 42".into(),
            at: Utc::now(),
        };
        set(&store, &pause).await.unwrap();
        assert_eq!(active(&store).await.unwrap(), Some(pause.clone()));
        let resume = PauseRecord {
            paused: false,
            why: "resolved".into(),
            ..pause
        };
        set(&store, &resume).await.unwrap();
        assert_eq!(active(&store).await.unwrap(), None);
        assert_eq!(store.list(PREFIX).await.unwrap().len(), 2);
    }
}
