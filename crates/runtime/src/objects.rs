//! The one object-store setup, shared by the gateway (writes uploads) and
//! the validator (reads them), so both always agree on where files live.

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use std::sync::Arc;

/// Why the object store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    #[error("cannot create the upload directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("unsupported object store location {0:?}; use a local directory or file:// URL")]
    Unsupported(String),
}

/// Opens the store at `location`: a directory path or a `file://` URL.
/// (S3-compatible storage is `object_store`'s `aws` feature and a URL
/// scheme away; it is not compiled in by default to keep builds lean.)
pub fn open(location: &str) -> Result<Arc<dyn ObjectStore>, ObjectStoreError> {
    let path = match location.strip_prefix("file://") {
        Some(p) => p,
        None if location.contains("://") => {
            return Err(ObjectStoreError::Unsupported(location.to_string()))
        }
        None => location,
    };
    std::fs::create_dir_all(path).map_err(|source| ObjectStoreError::Directory {
        path: path.to_string(),
        source,
    })?;
    Ok(Arc::new(LocalFileSystem::new_with_prefix(path)?))
}

/// Where uploads go when nothing is configured.
pub fn default_location() -> String {
    std::env::current_dir()
        .map(|d| d.join(".bf-run/objects").display().to_string())
        .unwrap_or_else(|_| ".bf-run/objects".to_string())
}
