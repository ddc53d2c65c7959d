//! A batch event as the recorder reads it: the rows' texts are slices of
//! the message as it arrived, not copies. The recorder only lays a batch
//! out as a block (`store::block`) and stores the message itself, so
//! decoding every row into owned `RowResult`s (a `String` per cell, freed
//! right after) was most of its work. The types below mirror
//! `proto/imports.proto` field for field, with `bytes` in place of
//! `string`; every text is still checked as UTF-8, so a batch is refused
//! exactly when decoding it as `RowResult`s would fail.

use super::block::{status_from, BlockRow, EXISTING_BALANCE_FORWARD};
use super::row_spans::EVENT_BATCH;
use bf_domain::compact::{counts_rightly, position};
use bf_domain::{Column, RowStatus};
use bytes::Bytes;
use prost::encoding::{decode_key, skip_field, DecodeContext};
use prost::{DecodeError, Message as _};
use std::collections::HashMap;

/// `ImportEvent`'s `event` oneof: started, batch, completed, failed.
const EVENT_TAGS: std::ops::RangeInclusive<u32> = 10..=13;

/// `ImportEvent` with only its batch.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceivedEvent {
    #[prost(string, tag = "1")]
    pub tenant_id: String,
    #[prost(string, tag = "2")]
    pub import_id: String,
    #[prost(message, optional, tag = "11")]
    pub batch: Option<ReceivedBatch>,
}

/// `RowBatch`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceivedBatch {
    #[prost(uint32, tag = "1")]
    pub seq: u32,
    #[prost(uint64, tag = "2")]
    pub bytes_read: u64,
    #[prost(message, repeated, tag = "3")]
    pub rows: Vec<ReceivedRow>,
}

/// `RowResult`, its texts borrowed from the message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceivedRow {
    #[prost(uint32, tag = "1")]
    pub line: u32,
    /// `RowStatus`, as its wire value.
    #[prost(int32, tag = "2")]
    pub status: i32,
    /// Cells by column name, from a validator before `cells`.
    #[prost(map = "string, string", tag = "3")]
    pub values: HashMap<String, String>,
    #[prost(bytes = "bytes", tag = "4")]
    pub patient_balance: Bytes,
    #[prost(bytes = "bytes", tag = "5")]
    pub insurance_balance: Bytes,
    #[prost(bytes = "bytes", tag = "6")]
    pub matched_patient_id: Bytes,
    #[prost(message, repeated, tag = "7")]
    pub problems: Vec<ReceivedProblem>,
    #[prost(map = "string, string", tag = "8")]
    pub normalized: HashMap<String, String>,
    #[prost(message, optional, tag = "9")]
    pub prior: Option<ReceivedPrior>,
    #[prost(bytes = "bytes", repeated, tag = "10")]
    pub raw: Vec<Bytes>,
    #[prost(map = "string, string", tag = "11")]
    pub normalized_changes: HashMap<String, String>,
    #[prost(uint32, tag = "12")]
    pub cell_columns: u32,
    #[prost(bytes = "bytes", repeated, tag = "13")]
    pub cells: Vec<Bytes>,
    #[prost(uint32, tag = "14")]
    pub change_columns: u32,
    #[prost(bytes = "bytes", repeated, tag = "15")]
    pub changes: Vec<Bytes>,
}

/// `Problem`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceivedProblem {
    #[prost(bytes = "bytes", tag = "1")]
    pub code: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    pub column: Bytes,
    #[prost(bytes = "bytes", tag = "3")]
    pub message: Bytes,
}

/// `bf.claims.v1.PriorBalanceForward`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceivedPrior {
    #[prost(bytes = "bytes", tag = "1")]
    pub patient_amount: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    pub insurance_amount: Bytes,
    #[prost(bytes = "bytes", tag = "3")]
    pub date_of_service: Bytes,
    #[prost(bytes = "bytes", tag = "4")]
    pub import_id: Bytes,
    #[prost(uint32, tag = "5")]
    pub claims: u32,
}

/// The batch of a batch event, its texts borrowed from `payload`; `None`
/// when the event is not a batch (the oneof's last field decides, as in
/// decoding), an error when it does not decode or a text is not UTF-8.
pub fn batch_event(payload: &Bytes) -> Result<Option<ReceivedEvent>, DecodeError> {
    if last_event_field(payload)? != Some(EVENT_BATCH) {
        return Ok(None);
    }
    let event = ReceivedEvent::decode(payload.clone())?;
    let texts_ok = event.batch.iter().flat_map(|b| &b.rows).all(texts_are_utf8);
    if !texts_ok {
        return Err(DecodeError::new(
            "invalid string value: data is not UTF-8 encoded",
        ));
    }
    Ok(Some(event))
}

/// Which field of the `event` oneof comes last in an `ImportEvent`.
fn last_event_field(message: &[u8]) -> Result<Option<u32>, DecodeError> {
    let mut last = None;
    let mut buf = message;
    while !buf.is_empty() {
        let (tag, wire) = decode_key(&mut buf)?;
        if EVENT_TAGS.contains(&tag) {
            last = Some(tag);
        }
        skip_field(wire, tag, &mut buf, DecodeContext::default())?;
    }
    Ok(last)
}

/// Whether every text of a row is UTF-8, as its `string` fields must be.
fn texts_are_utf8(r: &ReceivedRow) -> bool {
    let problems = r
        .problems
        .iter()
        .flat_map(|p| [&p.code, &p.column, &p.message]);
    let prior = r.prior.iter().flat_map(|p| {
        [
            &p.patient_amount,
            &p.insurance_amount,
            &p.date_of_service,
            &p.import_id,
        ]
    });
    [
        &r.patient_balance,
        &r.insurance_balance,
        &r.matched_patient_id,
    ]
    .into_iter()
    .chain(&r.raw)
    .chain(&r.cells)
    .chain(&r.changes)
    .chain(problems)
    .chain(prior)
    .all(|b| std::str::from_utf8(b).is_ok())
}

/// A text checked by [`batch_event`] ("" if it was not).
fn text(b: &Bytes) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// Whether a batch can be stored as sent: its rows in line order, each
/// packing its texts consistently (a row that does not would lose cells).
pub fn well_formed(batch: &ReceivedBatch) -> bool {
    batch.rows.windows(2).all(|w| w[0].line < w[1].line)
        && batch.rows.iter().all(|r| {
            counts_rightly(r.cell_columns, r.cells.len())
                && counts_rightly(r.change_columns, r.changes.len())
        })
}

impl BlockRow for ReceivedRow {
    fn line(&self) -> u32 {
        self.line
    }

    fn status(&self) -> RowStatus {
        status_from(self.status)
    }

    fn patient_balance(&self) -> &str {
        text(&self.patient_balance)
    }

    fn insurance_balance(&self) -> &str {
        text(&self.insurance_balance)
    }

    fn matched_patient_id(&self) -> &str {
        text(&self.matched_patient_id)
    }

    fn account_number(&self) -> Option<&str> {
        let column = Column::PatientAccountNumber;
        if self.values.is_empty() {
            let at = position(self.cell_columns, self.cells.len(), column)?;
            self.cells.get(at).map(text)
        } else {
            self.values.get(column.name()).map(String::as_str)
        }
    }

    fn prior_amounts(&self) -> Option<(&str, &str)> {
        self.prior
            .as_ref()
            .map(|p| (text(&p.patient_amount), text(&p.insurance_amount)))
    }

    fn settled_by_policy(&self) -> bool {
        self.problems
            .iter()
            .all(|p| text(&p.code) == EXISTING_BALANCE_FORWARD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::block::{self, Block};
    use bf_proto::claims::PriorBalanceForward;
    use bf_proto::imports::{
        import_event::Event, ImportEvent, ParseCompleted, Problem, RowBatch, RowResult,
        RowStatus as S,
    };

    fn row(line: u32, status: S) -> RowResult {
        let mut r = RowResult {
            line,
            patient_balance: format!("{line}.25"),
            insurance_balance: "1.00".into(),
            matched_patient_id: format!("P{line}"),
            cell_columns: 0b111,
            cells: vec![format!("00{line}"), "Peña".into(), "Zoë".into()],
            change_columns: 1 << Column::PatientBalance.index(),
            changes: vec!["".into()],
            raw: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        r.set_status(status);
        r
    }

    fn batch_payload(rows: Vec<RowResult>) -> Bytes {
        let event = ImportEvent {
            tenant_id: "t1".into(),
            import_id: "i1".into(),
            event: Some(Event::Batch(RowBatch {
                seq: 7,
                bytes_read: 99,
                rows,
            })),
        };
        Bytes::from(event.encode_to_vec())
    }

    fn every_kind_of_row() -> Vec<RowResult> {
        let mut settled = row(5, S::Flagged);
        settled.problems.push(Problem {
            code: EXISTING_BALANCE_FORWARD.into(),
            column: "patient_balance".into(),
            message: "an earlier BF claim".into(),
        });
        settled.prior = Some(PriorBalanceForward {
            patient_amount: "12.00".into(),
            insurance_amount: "".into(),
            date_of_service: "2026-01-02".into(),
            import_id: "i0".into(),
            claims: 2,
        });
        let mut unsettled = row(6, S::Flagged);
        unsettled.problems.push(Problem {
            code: "name_mismatch".into(),
            ..Default::default()
        });
        let mut named = row(8, S::Valid);
        named.cell_columns = 0;
        named.cells.clear();
        named.values = HashMap::from([("patient_account_number".into(), "0042".into())]);
        let mut unmatched = row(9, S::Invalid);
        unmatched.matched_patient_id.clear();
        unmatched.patient_balance.clear();
        vec![
            row(2, S::Valid),
            settled,
            unsettled,
            row(7, S::Skipped),
            named,
            unmatched,
        ]
    }

    #[test]
    fn a_received_batch_lays_out_the_block_that_decoding_it_whole_does() {
        let payload = batch_payload(every_kind_of_row());
        let received = batch_event(&payload)
            .expect("decodes")
            .expect("a batch event");
        assert_eq!(
            (received.tenant_id.as_str(), received.import_id.as_str()),
            ("t1", "i1")
        );
        let batch = received.batch.expect("its batch");
        assert_eq!((batch.seq, batch.bytes_read), (7, 99));
        assert!(well_formed(&batch));
        let whole = block::rows_of(&payload).expect("decodes whole");
        assert_eq!(Block::of(&batch.rows), Block::of(&whole));
        let laid_out = Block::of(&batch.rows).expect("rows");
        assert_eq!(laid_out.account_numbers[4], Some("0042"));
        assert_eq!(
            laid_out.settled,
            vec![false, true, false, false, false, false]
        );
    }

    #[test]
    fn a_batch_with_a_text_that_is_not_utf8_is_refused_as_decoding_it_whole_is() {
        let bad = ReceivedEvent {
            tenant_id: "t1".into(),
            import_id: "i1".into(),
            batch: Some(ReceivedBatch {
                seq: 0,
                bytes_read: 0,
                rows: vec![ReceivedRow {
                    line: 2,
                    cell_columns: 0b1,
                    cells: vec![Bytes::from_static(b"\xff")],
                    ..Default::default()
                }],
            }),
        };
        let payload = Bytes::from(bad.encode_to_vec());
        assert!(ImportEvent::decode(payload.as_ref()).is_err());
        assert!(batch_event(&payload).is_err());
    }

    #[test]
    fn only_an_event_whose_last_oneof_field_is_a_batch_is_read_as_one() {
        let completed = ImportEvent {
            event: Some(Event::Completed(ParseCompleted {
                batches: 1,
                rows: 1,
            })),
            ..Default::default()
        };
        let payload = Bytes::from(completed.encode_to_vec());
        assert!(batch_event(&payload).expect("decodes").is_none());
        let mut twice = batch_payload(vec![row(2, S::Valid)]).to_vec();
        twice.extend(completed.encode_to_vec());
        let twice = Bytes::from(twice);
        assert!(batch_event(&twice).expect("decodes").is_none());
        assert!(matches!(
            ImportEvent::decode(twice.as_ref()).expect("decodes").event,
            Some(Event::Completed(_))
        ));
    }

    #[test]
    fn a_batch_out_of_line_order_or_losing_a_cell_is_refused() {
        let received = |rows| {
            batch_event(&batch_payload(rows))
                .expect("decodes")
                .and_then(|e| e.batch)
                .expect("a batch")
        };
        assert!(well_formed(&received(vec![
            row(2, S::Valid),
            row(3, S::Valid)
        ])));
        assert!(!well_formed(&received(vec![
            row(3, S::Valid),
            row(2, S::Valid)
        ])));
        let mut bad = row(2, S::Valid);
        bad.cells.pop();
        assert!(!well_formed(&received(vec![bad])));
    }
}
