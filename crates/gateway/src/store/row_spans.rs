//! Where each row lies in a stored block's payload, read without decoding
//! the rows. A page of 100 rows decoded a whole 2,000-row block, and a
//! page of one status several; walking the payload's length prefixes
//! finds each row's bytes, line and status, so only the rows a page shows
//! are decoded.

use bf_domain::RowStatus;
use bf_proto::imports::RowResult;
use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};
use prost::{DecodeError, Message as _};

/// `ImportEvent.batch` (proto/imports.proto).
pub(super) const EVENT_BATCH: u32 = 11;
/// `RowBatch.rows`.
const BATCH_ROWS: u32 = 3;
/// `RowResult.line` and `RowResult.status`.
const ROW_LINE: u32 = 1;
const ROW_STATUS: u32 = 2;

/// One row of a payload, still encoded.
pub struct RowSpan<'a> {
    pub line: u32,
    pub status: RowStatus,
    bytes: &'a [u8],
}

impl RowSpan<'_> {
    /// The row itself.
    pub fn decode(&self) -> Result<RowResult, DecodeError> {
        RowResult::decode(self.bytes)
    }
}

/// The rows of a stored payload, in the order stored (line order); none
/// when the payload holds no batch.
pub fn row_spans(payload: &[u8]) -> Result<Vec<RowSpan<'_>>, DecodeError> {
    // A oneof keeps the last of its values.
    let Some(batch) = delimited_fields(payload, EVENT_BATCH)?.pop() else {
        return Ok(Vec::new());
    };
    delimited_fields(batch, BATCH_ROWS)?
        .into_iter()
        .map(span_of)
        .collect()
}

/// A row's line and status, read from its fields in whatever order they
/// come (the last of a repeated one wins, as in decoding), the rest skipped.
fn span_of(bytes: &[u8]) -> Result<RowSpan<'_>, DecodeError> {
    let (mut line, mut status) = (0u32, 0i32);
    let mut buf = bytes;
    while !buf.is_empty() {
        let (tag, wire) = decode_key(&mut buf)?;
        match (tag, wire) {
            // Truncated to 32 bits, as prost decodes a uint32 and an enum.
            (ROW_LINE, WireType::Varint) => line = decode_varint(&mut buf)? as u32,
            (ROW_STATUS, WireType::Varint) => status = decode_varint(&mut buf)? as i32,
            _ => skip_field(wire, tag, &mut buf, DecodeContext::default())?,
        }
    }
    Ok(RowSpan {
        line,
        status: super::block::status_from(status),
        bytes,
    })
}

/// The values of a message's length-delimited field `tag`, in order;
/// its other fields are skipped.
fn delimited_fields(message: &[u8], tag: u32) -> Result<Vec<&[u8]>, DecodeError> {
    let mut found = Vec::new();
    let mut buf = message;
    while !buf.is_empty() {
        let (t, wire) = decode_key(&mut buf)?;
        if t == tag && wire == WireType::LengthDelimited {
            let len = prost::decode_length_delimiter(&mut buf)?;
            if len > buf.len() {
                return Err(DecodeError::new("buffer underflow"));
            }
            let (value, rest) = buf.split_at(len);
            found.push(value);
            buf = rest;
        } else {
            skip_field(wire, t, &mut buf, DecodeContext::default())?;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::block::{payload, rows_of};
    use bf_proto::imports::{import_event::Event, ImportEvent, ParseCompleted, Problem};

    fn row(line: u32, status: bf_proto::imports::RowStatus) -> RowResult {
        let mut r = RowResult {
            line,
            cells: vec!["A1".into()],
            cell_columns: 1,
            problems: vec![Problem {
                code: "c".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        r.set_status(status);
        r
    }

    #[test]
    fn each_row_is_found_with_its_line_and_status_and_decodes_as_stored() {
        use bf_proto::imports::RowStatus as S;
        let rows = vec![
            row(2, S::Valid),
            row(3, S::Flagged),
            row(5, S::Skipped),
            row(6, S::Unspecified),
        ];
        let (stored, _) = payload("t1", uuid::Uuid::nil(), rows.clone());
        let spans = row_spans(&stored).expect("walks");
        let seen: Vec<(u32, RowStatus)> = spans.iter().map(|s| (s.line, s.status)).collect();
        assert_eq!(
            seen,
            vec![
                (2, RowStatus::Valid),
                (3, RowStatus::Flagged),
                (5, RowStatus::Skipped),
                (6, RowStatus::Invalid),
            ]
        );
        let decoded: Vec<RowResult> = spans.iter().map(|s| s.decode().expect("row")).collect();
        assert_eq!(decoded, rows_of(&stored).expect("decodes"));
    }

    #[test]
    fn a_payload_without_a_batch_has_no_rows_and_a_cut_one_is_an_error() {
        let completed = ImportEvent {
            event: Some(Event::Completed(ParseCompleted::default())),
            ..Default::default()
        }
        .encode_to_vec();
        assert!(row_spans(&completed).expect("walks").is_empty());
        let (stored, _) = payload(
            "t1",
            uuid::Uuid::nil(),
            vec![row(2, bf_proto::imports::RowStatus::Valid)],
        );
        assert!(row_spans(&stored[..stored.len() - 3]).is_err());
    }
}
