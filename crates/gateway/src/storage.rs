//! Uploads into the object store, streamed: the file is never held whole
//! in memory, and its size and SHA-256 are computed on the way through.

use crate::error::ApiError;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What was stored.
pub struct StoredFile {
    pub key: String,
    pub size_bytes: u64,
    pub sha256: String,
}

/// Where an import's file lives: under its tenant, so a listing or a
/// mistake in one tenant's prefix can never reach another's.
pub fn object_key(tenant: &str, import_id: Uuid) -> Path {
    Path::from_iter([
        "tenants",
        tenant,
        "imports",
        &import_id.to_string(),
        "source",
    ])
}

/// Streams `body` to `key`, refusing more than `max_bytes`. On any
/// failure the partial object is aborted, so nothing half-written stays.
pub async fn store<S, E>(
    objects: &dyn ObjectStore,
    key: &Path,
    body: S,
    max_bytes: u64,
) -> Result<StoredFile, ApiError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let upload = objects.put_multipart(key).await?;
    let mut writer = WriteMultipart::new(upload);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let outcome: Result<(), ApiError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|_| {
                ApiError::BadRequest("the upload was interrupted; please try again".into())
            })?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(ApiError::TooLarge(max_bytes));
            }
            hasher.update(&chunk);
            writer.wait_for_capacity(4).await?;
            writer.write(&chunk);
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => {
            writer.finish().await?;
            Ok(StoredFile {
                key: key.to_string(),
                size_bytes: size,
                sha256: hex::encode(hasher.finalize()),
            })
        }
        Err(e) => {
            let _ = writer.abort().await;
            Err(e)
        }
    }
}
