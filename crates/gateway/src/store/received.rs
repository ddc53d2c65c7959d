//! A batch event as the recorder reads it: walked over in place, its
//! rows' texts slices of the message as it arrived. The recorder only lays
//! a batch out as a block (`store::block`) and stores the message itself,
//! so building every row (a `String` per cell, freed right after) was most
//! of its work; building them as `Bytes` (a reference count per text, a
//! growing vector per row and per batch) still took a third of its CPU on
//! a 10^6-row import.
//!
//! The walk takes only the encoding the validator writes: the fields it
//! knows, each with its own wire type, every text UTF-8, the batch once.
//! Anything else (an older validator's maps, an unknown field, a damaged
//! message) is not guessed at: the walk gives up and the caller decodes
//! the event whole, so a batch is read exactly as `ImportEvent::decode`
//! reads it, and refused exactly when that fails.

use super::block::{status_from, BlockRow, EXISTING_BALANCE_FORWARD};
use super::row_spans::EVENT_BATCH;
use bf_domain::compact::{counts_rightly, position};
use bf_domain::{Column, RowStatus};
use prost::encoding::{decode_key, decode_varint, WireType};

/// A batch event read in place.
#[derive(Debug)]
pub struct ReceivedEvent<'a> {
    pub tenant_id: &'a str,
    pub import_id: &'a str,
    pub batch: ReceivedBatch<'a>,
}

/// `RowBatch`, read in place.
#[derive(Debug)]
pub struct ReceivedBatch<'a> {
    pub seq: u32,
    pub bytes_read: u64,
    pub rows: Vec<ReceivedRow<'a>>,
}

/// What the recorder keeps of a `RowResult`, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReceivedRow<'a> {
    line: u32,
    /// `RowStatus`, as its wire value.
    status: i32,
    patient_balance: &'a str,
    insurance_balance: &'a str,
    matched_patient_id: &'a str,
    account_number: Option<&'a str>,
    prior: Option<(&'a str, &'a str)>,
    settled: bool,
    packed_rightly: bool,
}

/// A batch event in the validator's encoding, read in place; `None` for
/// any other event or encoding, which the caller decodes whole.
pub fn batch_event(payload: &[u8]) -> Option<ReceivedEvent<'_>> {
    let mut wire = Wire(payload);
    let (mut tenant_id, mut import_id, mut batch) = ("", "", None);
    while let Some(tag) = wire.next_tag()? {
        match tag {
            (1, WireType::LengthDelimited) => tenant_id = wire.text()?,
            (2, WireType::LengthDelimited) => import_id = wire.text()?,
            // A batch sent in two parts is merged by decoding; not here.
            (EVENT_BATCH, WireType::LengthDelimited) if batch.is_none() => {
                batch = Some(read_batch(wire.bytes()?)?);
            }
            _ => return None,
        }
    }
    Some(ReceivedEvent {
        tenant_id,
        import_id,
        batch: batch?,
    })
}

/// Whether a batch can be stored as sent: its rows in line order, each
/// packing its texts consistently (a row that does not would lose cells).
pub fn well_formed<R: BlockRow>(rows: &[R]) -> bool {
    rows.windows(2).all(|w| w[0].line() < w[1].line()) && rows.iter().all(R::packed_rightly)
}

/// `RowBatch`: its rows counted first, so their vector is sized once.
fn read_batch(message: &[u8]) -> Option<ReceivedBatch<'_>> {
    let mut batch = ReceivedBatch {
        seq: 0,
        bytes_read: 0,
        rows: Vec::with_capacity(count_rows(message)?),
    };
    let mut wire = Wire(message);
    while let Some(tag) = wire.next_tag()? {
        match tag {
            // uint32 and int32 fields keep a varint's low 32 bits, as prost does.
            (1, WireType::Varint) => batch.seq = wire.varint()? as u32,
            (2, WireType::Varint) => batch.bytes_read = wire.varint()?,
            (3, WireType::LengthDelimited) => batch.rows.push(read_row(wire.bytes()?)?),
            _ => return None,
        }
    }
    Some(batch)
}

/// How many rows a `RowBatch` holds (the walk that reads them checks the rest).
fn count_rows(message: &[u8]) -> Option<usize> {
    let mut wire = Wire(message);
    let mut rows = 0;
    while let Some((tag, kind)) = wire.next_tag()? {
        rows += usize::from((tag, kind) == (3, WireType::LengthDelimited));
        wire.skip(kind)?;
    }
    Some(rows)
}

/// `RowResult`, field by field; the maps of older validators (3, 8, 11)
/// are left to decoding whole.
fn read_row(message: &[u8]) -> Option<ReceivedRow<'_>> {
    let mut row = ReceivedRow {
        line: 0,
        status: 0,
        patient_balance: "",
        insurance_balance: "",
        matched_patient_id: "",
        account_number: None,
        prior: None,
        settled: true,
        packed_rightly: false,
    };
    let (mut cell_columns, mut cells, mut change_columns, mut changes) = (0, 0, 0, 0);
    let mut wire = Wire(message);
    while let Some(tag) = wire.next_tag()? {
        match tag {
            (1, WireType::Varint) => row.line = wire.varint()? as u32,
            (2, WireType::Varint) => row.status = wire.varint()? as i32,
            (4, WireType::LengthDelimited) => row.patient_balance = wire.text()?,
            (5, WireType::LengthDelimited) => row.insurance_balance = wire.text()?,
            (6, WireType::LengthDelimited) => row.matched_patient_id = wire.text()?,
            (7, WireType::LengthDelimited) => {
                let code = problem_code(wire.bytes()?)?;
                row.settled &= code == EXISTING_BALANCE_FORWARD;
            }
            // A prior sent in two parts is merged by decoding; not here.
            (9, WireType::LengthDelimited) if row.prior.is_none() => {
                row.prior = Some(prior_amounts(wire.bytes()?)?);
            }
            (10, WireType::LengthDelimited) => {
                wire.text()?;
            }
            (12, WireType::Varint) => cell_columns = wire.varint()? as u32,
            (13, WireType::LengthDelimited) => {
                wire.text()?;
                cells += 1;
            }
            (14, WireType::Varint) => change_columns = wire.varint()? as u32,
            (15, WireType::LengthDelimited) => {
                wire.text()?;
                changes += 1;
            }
            _ => return None,
        }
    }
    row.packed_rightly =
        counts_rightly(cell_columns, cells) && counts_rightly(change_columns, changes);
    row.account_number = position(cell_columns, cells, Column::PatientAccountNumber)
        .and_then(|at| nth_cell(message, at));
    Some(row)
}

/// The `at`th cell of a row the walk has read (so every step succeeds).
fn nth_cell(message: &[u8], at: usize) -> Option<&str> {
    let mut wire = Wire(message);
    let mut seen = 0;
    while let Some((tag, kind)) = wire.next_tag()? {
        if (tag, kind) == (13, WireType::LengthDelimited) {
            if seen == at {
                return wire.text();
            }
            seen += 1;
        }
        wire.skip(kind)?;
    }
    None
}

/// `Problem`: its code, its other texts checked.
fn problem_code(message: &[u8]) -> Option<&str> {
    let mut wire = Wire(message);
    let mut code = "";
    while let Some(tag) = wire.next_tag()? {
        match tag {
            (1, WireType::LengthDelimited) => code = wire.text()?,
            (2 | 3, WireType::LengthDelimited) => {
                wire.text()?;
            }
            _ => return None,
        }
    }
    Some(code)
}

/// `PriorBalanceForward`: its amounts, its other fields checked.
fn prior_amounts(message: &[u8]) -> Option<(&str, &str)> {
    let mut wire = Wire(message);
    let (mut patient, mut insurance) = ("", "");
    while let Some(tag) = wire.next_tag()? {
        match tag {
            (1, WireType::LengthDelimited) => patient = wire.text()?,
            (2, WireType::LengthDelimited) => insurance = wire.text()?,
            (3 | 4, WireType::LengthDelimited) => {
                wire.text()?;
            }
            (5, WireType::Varint) => {
                wire.varint()?;
            }
            _ => return None,
        }
    }
    Some((patient, insurance))
}

/// A message's remaining fields, read with prost's own key and varint
/// decoding; every step is `None` where decoding would fail.
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    /// The next field's tag and wire type; `Some(None)` at the end.
    fn next_tag(&mut self) -> Option<Option<(u32, WireType)>> {
        if self.0.is_empty() {
            return Some(None);
        }
        decode_key(&mut self.0).ok().map(Some)
    }

    fn varint(&mut self) -> Option<u64> {
        decode_varint(&mut self.0).ok()
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.0.len() {
            return None;
        }
        let (field, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(field)
    }

    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    /// Passes over a field's value: the walk reads only varints and
    /// length-delimited fields, and gives up on any other.
    fn skip(&mut self, kind: WireType) -> Option<()> {
        match kind {
            WireType::Varint => self.varint().map(drop),
            WireType::LengthDelimited => self.bytes().map(drop),
            _ => None,
        }
    }
}

impl BlockRow for ReceivedRow<'_> {
    fn line(&self) -> u32 {
        self.line
    }

    fn status(&self) -> RowStatus {
        status_from(self.status)
    }

    fn patient_balance(&self) -> &str {
        self.patient_balance
    }

    fn insurance_balance(&self) -> &str {
        self.insurance_balance
    }

    fn matched_patient_id(&self) -> &str {
        self.matched_patient_id
    }

    fn account_number(&self) -> Option<&str> {
        self.account_number
    }

    fn prior_amounts(&self) -> Option<(&str, &str)> {
        self.prior
    }

    fn settled_by_policy(&self) -> bool {
        self.settled
    }

    fn packed_rightly(&self) -> bool {
        self.packed_rightly
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
    use prost::Message as _;
    use std::collections::HashMap;

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

    fn batch_payload(rows: Vec<RowResult>) -> Vec<u8> {
        ImportEvent {
            tenant_id: "t1".into(),
            import_id: "i1".into(),
            event: Some(Event::Batch(RowBatch {
                seq: 7,
                bytes_read: 99,
                rows,
            })),
        }
        .encode_to_vec()
    }

    /// Rows of every kind the validator sends, with no map (an older
    /// validator's) among them.
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
        let mut no_account = row(8, S::Valid);
        no_account.cell_columns = 0b110;
        no_account.cells.remove(0);
        let mut unmatched = row(9, S::Invalid);
        unmatched.matched_patient_id.clear();
        unmatched.patient_balance.clear();
        vec![
            row(2, S::Valid),
            settled,
            unsettled,
            row(7, S::Skipped),
            no_account,
            unmatched,
        ]
    }

    /// Whether the walk and decoding whole agree on a payload: when the
    /// walk reads it, decoding must too, to the same event and block.
    fn agrees_with_decoding(payload: &[u8]) -> bool {
        let Some(walked) = batch_event(payload) else {
            return true;
        };
        let Ok(whole) = ImportEvent::decode(payload) else {
            return false;
        };
        let Some(Event::Batch(batch)) = &whole.event else {
            return false;
        };
        (walked.tenant_id, walked.import_id) == (whole.tenant_id.as_str(), whole.import_id.as_str())
            && (walked.batch.seq, walked.batch.bytes_read) == (batch.seq, batch.bytes_read)
            && well_formed(&walked.batch.rows) == well_formed(&batch.rows)
            && Block::of(&walked.batch.rows) == Block::of(&batch.rows)
    }

    #[test]
    fn a_received_batch_lays_out_the_block_that_decoding_it_whole_does() {
        let payload = batch_payload(every_kind_of_row());
        let received = batch_event(&payload).expect("read in place");
        assert_eq!((received.tenant_id, received.import_id), ("t1", "i1"));
        let batch = received.batch;
        assert_eq!((batch.seq, batch.bytes_read), (7, 99));
        assert!(well_formed(&batch.rows));
        assert!(agrees_with_decoding(&payload));
        let laid_out = Block::of(&batch.rows).expect("rows");
        assert_eq!(laid_out.account_numbers[0], Some("002"));
        assert_eq!(laid_out.account_numbers[4], None);
        assert_eq!(
            laid_out.prior_patient[1],
            Some("12.00".parse().expect("a number"))
        );
        assert_eq!(
            laid_out.settled,
            vec![false, true, false, false, false, false]
        );
    }

    #[test]
    fn a_batch_damaged_anywhere_is_either_read_as_decoding_reads_it_or_left_to_decoding() {
        let payload = batch_payload(every_kind_of_row());
        let mut read_in_place = 0;
        for at in 0..payload.len() {
            assert!(agrees_with_decoding(&payload[..at]), "cut at {at}");
            for flip in [0x01, 0x80, 0xff] {
                let mut damaged = payload.clone();
                damaged[at] ^= flip;
                assert!(agrees_with_decoding(&damaged), "byte {at} ^ {flip:#x}");
                read_in_place += usize::from(batch_event(&damaged).is_some());
            }
        }
        // Many damages leave a message that still decodes (a changed
        // letter, line or status): those are read in place, and agreed.
        assert!(
            read_in_place > payload.len() / 2,
            "{read_in_place} read in place"
        );
    }

    #[test]
    fn a_batch_with_a_text_that_is_not_utf8_is_not_read_in_place() {
        let mut bad = row(2, S::Valid);
        bad.cells[1] = "é".into();
        let mut payload = batch_payload(vec![bad]);
        let at = payload
            .windows(2)
            .position(|w| w == "é".as_bytes())
            .expect("the text is in the payload");
        payload[at + 1] = 0xff;
        assert!(batch_event(&payload).is_none());
        assert!(ImportEvent::decode(payload.as_slice()).is_err());
    }

    #[test]
    fn an_older_validators_maps_are_left_to_decoding_whole() {
        let mut named = row(8, S::Valid);
        named.cell_columns = 0;
        named.cells.clear();
        named.values = HashMap::from([("patient_account_number".into(), "0042".into())]);
        let payload = batch_payload(vec![named]);
        assert!(batch_event(&payload).is_none());
        let whole = block::rows_of(&payload).expect("decodes whole");
        assert_eq!(
            Block::of(&whole).expect("a row").account_numbers,
            vec![Some("0042")]
        );
    }

    #[test]
    fn only_an_event_whose_only_oneof_field_is_a_batch_is_read_in_place() {
        let completed = ImportEvent {
            event: Some(Event::Completed(ParseCompleted {
                batches: 1,
                rows: 1,
            })),
            ..Default::default()
        }
        .encode_to_vec();
        assert!(batch_event(&completed).is_none());
        let mut twice = batch_payload(vec![row(2, S::Valid)]);
        twice.extend(&completed);
        assert!(batch_event(&twice).is_none());
        assert!(matches!(
            ImportEvent::decode(twice.as_slice())
                .expect("decodes")
                .event,
            Some(Event::Completed(_))
        ));
        let mut split = batch_payload(vec![row(2, S::Valid)]);
        split.extend(batch_payload(vec![row(3, S::Valid)]));
        assert!(batch_event(&split).is_none());
    }

    #[test]
    fn a_batch_out_of_line_order_or_losing_a_cell_is_refused() {
        let received = |rows| batch_event(&batch_payload(rows)).map(|e| well_formed(&e.batch.rows));
        assert_eq!(
            received(vec![row(2, S::Valid), row(3, S::Valid)]),
            Some(true)
        );
        assert_eq!(
            received(vec![row(3, S::Valid), row(2, S::Valid)]),
            Some(false)
        );
        let mut bad = row(2, S::Valid);
        bad.cells.pop();
        assert!(!well_formed(std::slice::from_ref(&bad)));
        assert_eq!(received(vec![bad]), Some(false));
    }
}
