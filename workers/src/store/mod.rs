//! The store: evidence records, create-once claims and pending approval requests, behind
//! one trait with two backends, a local folder (the default) and S3.
//!
//! Keys are relative, `/`-separated paths (`evidence/2026/03/14/<id>.json`). `create` is the
//! primitive that makes redelivery safe: it writes only if nothing is there yet, atomically,
//! on both backends (O_EXCL-style hard link on a file system, `If-None-Match: *` on S3).

mod file;
mod s3;

use async_trait::async_trait;

pub use file::FileStore;
pub use s3::S3Store;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store key {0:?} is not a relative path of plain segments")]
    BadKey(String),
    #[error("store I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    #[error("store URL {0:?} is neither s3://bucket/prefix nor file:///path")]
    BadUrl(String),
}

/// Where records live.
#[async_trait]
pub trait Store: Send + Sync {
    /// Writes `body` at `key` only if nothing is there. `Ok(true)`: written; `Ok(false)`:
    /// something already was (and is left as it was).
    async fn create(&self, key: &str, body: &[u8]) -> Result<bool, StoreError>;

    /// Reads `key`; `Ok(None)` when absent.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Removes `key` (absent is fine). Only claims are ever removed: a transient failure
    /// releases its claim so that the redelivery can act. Evidence is never removed.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// Every key under `prefix` (a folder, `/`-terminated or not), sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Where the store is, for messages (`file:///…`, `s3://…`).
    fn describe(&self) -> String;
}

/// Refuses keys that could escape the store's root.
pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && !seg.contains('\\'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadKey(key.to_owned()))
    }
}

/// Opens the store named by a `[store] url`.
pub fn open(url: &str, s3: Option<aws_sdk_s3::Client>) -> Result<Box<dyn Store>, StoreError> {
    if let Some(rest) = url.strip_prefix("file://") {
        if rest.is_empty() {
            return Err(StoreError::BadUrl(url.to_owned()));
        }
        return Ok(Box::new(FileStore::new(rest)));
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::BadUrl(url.to_owned()));
        }
        let Some(client) = s3 else {
            return Err(StoreError::BadUrl(url.to_owned()));
        };
        return Ok(Box::new(S3Store::new(client, bucket, prefix)));
    }
    Err(StoreError::BadUrl(url.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a\\b", "a/"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
        assert!(check_key("evidence/2026/03/14/x.json").is_ok());
    }
}
