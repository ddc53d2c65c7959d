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

/// How much of the start of a file is checked for the signature of a
/// file that is not a table (an image, a PDF, a program).
const SNIFF_BYTES: usize = 4096;

/// Streams `body` to `key`, refusing more than `max_bytes` and files that
/// are plainly not tables. On any failure the partial object is aborted,
/// so nothing half-written stays. The body's errors are already classified
/// ([`body_error`], [`form_error`]).
pub async fn store<S>(
    objects: &dyn ObjectStore,
    key: &Path,
    body: S,
    max_bytes: u64,
) -> Result<StoredFile, ApiError>
where
    S: Stream<Item = Result<Bytes, ApiError>>,
{
    let mut body = std::pin::pin!(body);
    let upload = objects.put_multipart(key).await?;
    let mut writer = WriteMultipart::new(upload);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head: Option<Vec<u8>> = Some(Vec::new());
    let outcome: Result<(), ApiError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(ApiError::TooLarge(max_bytes));
            }
            if let Some(start) = head.as_mut() {
                start.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES)]);
                if start.len() >= SNIFF_BYTES {
                    sniff(start, false)?;
                    head = None;
                }
            }
            hasher.update(&chunk);
            writer.wait_for_capacity(4).await?;
            writer.write(&chunk);
        }
        match head {
            Some(whole) => sniff(&whole, true),
            None => Ok(()),
        }
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

/// Refuses a file whose first bytes say it is not a table. A zip archive
/// passes: it may be an .xlsx workbook, which only its directory (read by
/// the validator, with its decompression limits) can tell.
fn sniff(start: &[u8], complete: bool) -> Result<(), ApiError> {
    use bf_domain::encoding::{detect, EncodingError, NotTextKind};
    match detect(start, complete) {
        Err(e @ EncodingError::NotText { looks_like }) if looks_like != NotTextKind::Zip => {
            Err(ApiError::NotTabular(e.to_string()))
        }
        _ => Ok(()),
    }
}

/// Classifies a failed read of a raw request body.
pub fn body_error(e: axum::Error) -> ApiError {
    classify(&e)
}

/// Classifies a failed read of a multipart form's file field.
pub fn form_error(e: axum::extract::multipart::MultipartError, max_bytes: u64) -> ApiError {
    match e.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(max_bytes),
        axum::http::StatusCode::BAD_REQUEST => {
            ApiError::BadRequest("the form could not be read".into())
        }
        _ => classify(&e),
    }
}

/// A body that stalled past the idle timeout, or one the client broke off.
fn classify(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::BodyTimeout;
        }
        cause = err.source();
    }
    ApiError::BadRequest("the upload was interrupted; please try again".into())
}
