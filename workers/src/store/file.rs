//! The local folder backend: `file:///var/lib/redress` (a relative path is taken from the
//! working directory).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{Store, StoreError, check_key};

pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileStore { root: root.into() }
    }

    fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Writes the whole body to a temporary file first, then links it into place: `link` fails
/// if the target exists, so the create is atomic and a crash never leaves a half-written
/// record under the real name.
fn create_sync(root: &Path, key: &str, body: &[u8]) -> Result<bool, StoreError> {
    let path = root.join(key);
    let dir = path.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(|e| FileStore::io(dir, e))?;
    let mut tmp = tempfile_in(dir).map_err(|e| FileStore::io(dir, e))?;
    tmp.1
        .write_all(body)
        .map_err(|e| FileStore::io(&tmp.0, e))?;
    tmp.1.sync_all().map_err(|e| FileStore::io(&tmp.0, e))?;
    let linked = std::fs::hard_link(&tmp.0, &path);
    let _ = std::fs::remove_file(&tmp.0);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(FileStore::io(&path, e)),
    }
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    for attempt in 0..16u32 {
        let name = format!(
            ".tmp-{}-{}-{attempt}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary name"))
}

fn list_sync(root: &Path, prefix: &str) -> Result<Vec<String>, StoreError> {
    let prefix = prefix.trim_end_matches('/');
    let start = if prefix.is_empty() {
        root.to_path_buf()
    } else {
        root.join(prefix)
    };
    let mut out = Vec::new();
    let mut stack = vec![start];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(FileStore::io(&dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| FileStore::io(&dir, e))?;
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(".tmp-") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[async_trait]
impl Store for FileStore {
    async fn create(&self, key: &str, body: &[u8]) -> Result<bool, StoreError> {
        check_key(key)?;
        let root = self.root.clone();
        let key = key.to_owned();
        let body = body.to_vec();
        tokio::task::spawn_blocking(move || create_sync(&root, &key, &body))
            .await
            .map_err(|e| StoreError::Io {
                path: self.root.display().to_string(),
                source: std::io::Error::other(e),
            })?
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let path = self.root.join(key);
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FileStore::io(&path, e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        let path = self.root.join(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(FileStore::io(&path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || list_sync(&root, &prefix))
            .await
            .map_err(|e| StoreError::Io {
                path: self.root.display().to_string(),
                source: std::io::Error::other(e),
            })?
    }

    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_is_once_and_list_is_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::new(dir.path());
        assert!(s.create("claims/a.json", b"1").await.unwrap());
        assert!(!s.create("claims/a.json", b"2").await.unwrap());
        assert_eq!(s.get("claims/a.json").await.unwrap().unwrap(), b"1");
        assert!(s.create("evidence/2026/01/02/b.json", b"x").await.unwrap());
        assert!(s.create("evidence/2026/01/01/c.json", b"y").await.unwrap());
        assert_eq!(
            s.list("evidence/").await.unwrap(),
            ["evidence/2026/01/01/c.json", "evidence/2026/01/02/b.json"]
        );
        assert_eq!(s.get("claims/none.json").await.unwrap(), None);
        assert!(s.list("nothing/").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn concurrent_creates_have_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(FileStore::new(dir.path()));
        let mut tasks = Vec::new();
        for i in 0..16u8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.create("claims/x.json", &[i]).await.unwrap()
            }));
        }
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1);
    }
}
