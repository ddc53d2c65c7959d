//! Streaming a balance file to the gateway: the file is never held in
//! memory, and a byte counter drives the upload progress bar.

use std::path::Path;

use futures::StreamExt;
use reqwest::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Body, Method};
use tokio_util::io::ReaderStream;

use crate::api::Accepted;
use crate::client::{decode, Client, Reply};
use crate::error::CliError;
use crate::progress;

/// Header carrying the original file name, since the body is the raw file.
const FILE_NAME_HEADER: &str = "x-file-name";

/// Media type of an Excel workbook.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Media type of delimited text; the gateway detects the delimiter (comma,
/// tab, semicolon, ...) itself, so TSV goes as this too.
const CSV: &str = "text/csv";

/// The Content-Type for a file, by its extension: the gateway reads
/// `.xlsx` as a workbook and anything else as delimited text.
pub fn content_type(path: &Path) -> &'static str {
    let is_xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        XLSX
    } else {
        CSV
    }
}

/// `POST /v1/imports/patient-balances` with the file as the body and the
/// reading options as query parameters. Returns the accepted import and
/// the raw response body.
pub async fn balances(
    client: &Client,
    path: &Path,
    query: &[(&str, String)],
) -> Result<(Accepted, String), CliError> {
    let shown = path.display().to_string();
    let io_err = |source| CliError::Io {
        path: shown.clone(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| CliError::Input(format!("{shown} is not a file")))?;
    // Non-ASCII names go through as UTF-8 bytes (obs-text); only control
    // characters are unsendable.
    let name_header = HeaderValue::from_bytes(name.as_bytes()).map_err(|_| {
        CliError::Input(format!(
            "file name of {shown} contains characters that cannot be sent in a header; rename it"
        ))
    })?;
    let file = tokio::fs::File::open(path).await.map_err(io_err)?;
    let meta = file.metadata().await.map_err(io_err)?;
    if !meta.is_file() {
        return Err(CliError::Input(format!("{shown} is not a regular file")));
    }
    let len = meta.len();

    let pb = progress::bytes(len);
    let counter = pb.clone();
    let stream = ReaderStream::new(file).inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            counter.inc(bytes.len() as u64);
        }
    });
    let url = client.url(&["v1", "imports", "patient-balances"])?;
    let req = client
        .request(Method::POST, url)
        .query(query)
        .header(CONTENT_TYPE, content_type(path))
        // Declared up front so the gateway can refuse an oversized file
        // before it is sent; hyper honours an explicit length on a stream.
        .header(CONTENT_LENGTH, len)
        .header(FILE_NAME_HEADER, name_header)
        .body(Body::wrap_stream(stream));
    let result = client.send(req).await;
    pb.finish_and_clear();
    let Reply { body, location } = result?;
    let mut accepted: Accepted = decode(&body)?;
    if accepted.id.is_empty() {
        // Fall back to the Location header's last segment.
        accepted.id = location
            .as_deref()
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .unwrap_or_default()
            .to_owned();
    }
    if accepted.id.is_empty() {
        return Err(CliError::Decode(
            "upload accepted but the response carried no import id".to_owned(),
        ));
    }
    Ok((accepted, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbooks_are_sent_as_xlsx_and_everything_else_as_csv() {
        assert_eq!(content_type(Path::new("Balances.XLSX")), XLSX);
        assert_eq!(content_type(Path::new("b.csv")), CSV);
        assert_eq!(content_type(Path::new("b.tsv")), CSV);
        assert_eq!(content_type(Path::new("xlsx")), CSV);
    }
}
