//! A batch's `ImportEvent` written straight from its judged rows, as
//! `prost` would encode it (the same bytes, field for field), but with the
//! rows' texts borrowed. Building a `RowResult` per row moved or copied
//! every cell into a `String` of its own only to copy it again into the
//! message and free it: at a million rows, most of the validator's
//! allocations. The batch's `MatchPatientsRequest` is written the same
//! way, its candidates' texts taken from the rows' cells.

use bf_domain::compact;
use bf_domain::{Column, Row, RowStatus};
use bf_proto::imports::{ImportEvent, RowStatus as Wire};
use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message as _;
use std::fmt::Write as _;

/// `ImportEvent.batch` (proto/imports.proto).
const EVENT_BATCH: u32 = 11;
/// `RowBatch` fields.
const BATCH_SEQ: u32 = 1;
const BATCH_BYTES_READ: u32 = 2;
const BATCH_ROWS: u32 = 3;
/// `RowResult` fields.
const ROW_LINE: u32 = 1;
const ROW_STATUS: u32 = 2;
const ROW_PATIENT_BALANCE: u32 = 4;
const ROW_INSURANCE_BALANCE: u32 = 5;
const ROW_MATCHED_PATIENT: u32 = 6;
const ROW_PROBLEMS: u32 = 7;
const ROW_PRIOR: u32 = 9;
const ROW_RAW: u32 = 10;
const ROW_CELL_COLUMNS: u32 = 12;
const ROW_CELLS: u32 = 13;
const ROW_CHANGE_COLUMNS: u32 = 14;
const ROW_CHANGES: u32 = 15;
/// `MatchPatientsRequest` fields (proto/claims.proto).
const MATCH_TENANT: u32 = 1;
const MATCH_CANDIDATES: u32 = 2;
const MATCH_IMPORT: u32 = 3;
/// `MatchCandidate` fields.
const CANDIDATE_KEY: u32 = 1;
const CANDIDATE_PATIENT_ID: u32 = 2;
const CANDIDATE_ACCOUNT: u32 = 3;
const CANDIDATE_LAST_NAME: u32 = 4;
const CANDIDATE_FIRST_NAME: u32 = 5;
const CANDIDATE_DATE_OF_BIRTH: u32 = 6;
/// `Problem` fields.
const PROBLEM_CODE: u32 = 1;
const PROBLEM_COLUMN: u32 = 2;
const PROBLEM_MESSAGE: u32 = 3;

/// Where a batch is written; kept across batches so its buffers are
/// allocated once per job rather than once per row or batch. A batch's
/// event is some 300 KB, beyond glibc's mmap threshold: written into a
/// fresh vector, each one was mapped, faulted in and unmapped again.
#[derive(Default)]
pub struct BatchWriter {
    event: Vec<u8>,
    rows: Vec<u8>,
    row: Vec<u8>,
    nested: Vec<u8>,
    request: Vec<u8>,
    text: String,
}

impl BatchWriter {
    /// The encoded `ImportEvent` of one batch. `columns` are the header's
    /// in file order: a row whose fields follow from its cells leaves them
    /// out (bf_domain::compact).
    pub fn batch_event(
        &mut self,
        ids: &ImportEvent,
        seq: u32,
        bytes_read: u64,
        rows: &[Row],
        columns: &[Option<Column>],
    ) -> &[u8] {
        self.rows.clear();
        put_varint(BATCH_SEQ, u64::from(seq), &mut self.rows);
        put_varint(BATCH_BYTES_READ, bytes_read, &mut self.rows);
        for row in rows {
            self.row.clear();
            self.encode_row(row, columns);
            put_bytes(BATCH_ROWS, &self.row, &mut self.rows);
        }
        self.event.clear();
        let header = ImportEvent {
            event: None,
            ..ids.clone()
        };
        // A vector grows as it is written: encoding cannot run out of room.
        let _ = header.encode(&mut self.event);
        put_bytes(EVENT_BATCH, &self.rows, &mut self.event);
        &self.event
    }

    /// The encoded `MatchPatientsRequest` for the rows that need matching,
    /// each keyed by its line; `None` when no row does.
    pub fn match_request(
        &mut self,
        tenant: &str,
        import_id: &str,
        rows: &[Row],
    ) -> Option<Vec<u8>> {
        let request = &mut self.request;
        request.clear();
        put_str(MATCH_TENANT, tenant, request);
        let mut any = false;
        for row in rows.iter().filter(|r| r.needs_match()) {
            any = true;
            let out = &mut self.nested;
            out.clear();
            put_varint(CANDIDATE_KEY, u64::from(row.line()), out);
            for (tag, column) in [
                (CANDIDATE_PATIENT_ID, Column::PatientId),
                (CANDIDATE_ACCOUNT, Column::PatientAccountNumber),
                (CANDIDATE_LAST_NAME, Column::LastName),
                (CANDIDATE_FIRST_NAME, Column::FirstName),
            ] {
                put_str(tag, row.raw.cell(column), out);
            }
            self.text.clear();
            if let Some(date) = row.date(Column::DateOfBirth) {
                // Writing into a String cannot fail.
                let _ = write!(self.text, "{date}");
            }
            put_str(CANDIDATE_DATE_OF_BIRTH, &self.text, out);
            put_bytes(MATCH_CANDIDATES, out, request);
        }
        put_str(MATCH_IMPORT, import_id, request);
        // Copied out at its size: the call takes the request away, and a
        // vector grown by doubling crossed the mmap threshold on the way.
        any.then(|| request.clone())
    }

    /// One `RowResult`, its fields in tag order, into `self.row`.
    fn encode_row(&mut self, row: &Row, columns: &[Option<Column>]) {
        let out = &mut self.row;
        put_varint(ROW_LINE, u64::from(row.line()), out);
        put_varint(ROW_STATUS, status(row.status) as u64, out);
        for (tag, column) in [
            (ROW_PATIENT_BALANCE, Column::PatientBalance),
            (ROW_INSURANCE_BALANCE, Column::InsuranceBalance),
        ] {
            self.text.clear();
            if let Some(amount) = row.amount(column) {
                // Writing into a String cannot fail.
                let _ = write!(self.text, "{amount}");
            }
            put_str(tag, &self.text, out);
        }
        put_str(
            ROW_MATCHED_PATIENT,
            row.matched_patient_id.as_deref().unwrap_or(""),
            out,
        );
        for problem in &row.problems {
            self.nested.clear();
            put_str(PROBLEM_CODE, problem.code.as_str(), &mut self.nested);
            put_str(PROBLEM_COLUMN, &problem.column, &mut self.nested);
            put_str(PROBLEM_MESSAGE, &problem.message, &mut self.nested);
            put_bytes(ROW_PROBLEMS, &self.nested, out);
        }
        if let Some(p) = &row.prior {
            let prior = bf_proto::claims::PriorBalanceForward {
                patient_amount: p.patient_amount.to_string(),
                insurance_amount: p.insurance_amount.to_string(),
                date_of_service: p.date_of_service.to_string(),
                import_id: p.import_id.clone(),
                claims: p.claims,
            };
            prost::encoding::message::encode(ROW_PRIOR, &prior, out);
        }
        if !compact::fields_follow_from_cells(&row.raw, columns) {
            for field in row.raw.fields.iter() {
                put_repeated_str(ROW_RAW, field, out);
            }
        }
        let cells = Column::ALL.map(|c| row.raw.cell_text(c));
        put_varint(ROW_CELL_COLUMNS, u64::from(mask(&cells)), out);
        for cell in cells.iter().flatten() {
            put_repeated_str(ROW_CELLS, cell, out);
        }
        // In column order, each column once: as compact::pack lays them out.
        let changes = compact::row_changes(row);
        let change_mask = changes
            .iter()
            .fold(0u32, |mask, (column, _)| mask | 1 << column.index());
        put_varint(ROW_CHANGE_COLUMNS, u64::from(change_mask), out);
        for (_, text) in &changes {
            put_repeated_str(ROW_CHANGES, text, out);
        }
    }
}

/// Bit i set when `Column::ALL[i]` has a text (compact::pack's mask).
fn mask(texts: &[Option<&str>]) -> u32 {
    texts
        .iter()
        .enumerate()
        .filter(|(_, text)| text.is_some())
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

fn status(status: RowStatus) -> Wire {
    match status {
        RowStatus::Valid => Wire::Valid,
        RowStatus::Flagged => Wire::Flagged,
        RowStatus::Invalid => Wire::Invalid,
        RowStatus::Skipped => Wire::Skipped,
    }
}

/// A proto3 scalar: left out when zero, as prost leaves it.
fn put_varint(tag: u32, value: u64, out: &mut Vec<u8>) {
    if value != 0 {
        encode_key(tag, WireType::Varint, out);
        encode_varint(value, out);
    }
}

/// A proto3 string: left out when empty, as prost leaves it.
fn put_str(tag: u32, text: &str, out: &mut Vec<u8>) {
    if !text.is_empty() {
        put_repeated_str(tag, text, out);
    }
}

/// One element of a repeated string: written even when empty.
fn put_repeated_str(tag: u32, text: &str, out: &mut Vec<u8>) {
    put_bytes(tag, text.as_bytes(), out);
}

fn put_bytes(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bf_domain::matching::{Found, MatchOutcome, PriorBalanceForward};
    use bf_domain::options::ParseOptions;
    use bf_domain::reader::ImportReader;
    use bf_proto::claims::{MatchCandidate, MatchPatientsRequest};
    use bf_proto::imports::{import_event::Event, Problem, RowBatch, RowResult};

    /// The message as prost builds it from owned texts: what the recorder
    /// has always received.
    fn owned(row: &Row, columns: &[Option<Column>]) -> RowResult {
        let amount = |c: Column| row.amount(c).map(|d| d.to_string()).unwrap_or_default();
        let (change_columns, changes) = compact::pack(compact::row_changes(row));
        let (cell_columns, cells) = compact::pack(
            Column::ALL
                .into_iter()
                .filter_map(|c| Some((c, row.raw.cell_text(c)?.to_string())))
                .collect(),
        );
        let raw = if compact::fields_follow_from_cells(&row.raw, columns) {
            Vec::new()
        } else {
            row.raw.fields.iter().map(str::to_string).collect()
        };
        RowResult {
            line: row.line(),
            status: status(row.status) as i32,
            cell_columns,
            cells,
            patient_balance: amount(Column::PatientBalance),
            insurance_balance: amount(Column::InsuranceBalance),
            matched_patient_id: row.matched_patient_id.clone().unwrap_or_default(),
            raw,
            change_columns,
            changes,
            prior: row
                .prior
                .as_ref()
                .map(|p| bf_proto::claims::PriorBalanceForward {
                    patient_amount: p.patient_amount.to_string(),
                    insurance_amount: p.insurance_amount.to_string(),
                    date_of_service: p.date_of_service.to_string(),
                    import_id: p.import_id.clone(),
                    claims: p.claims,
                }),
            problems: row
                .problems
                .iter()
                .map(|p| Problem {
                    code: p.code.as_str().to_string(),
                    column: p.column.clone(),
                    message: p.message.clone(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn judged(csv: &str) -> (Vec<Row>, Vec<Option<Column>>) {
        let mut reader = ImportReader::csv(csv.as_bytes()).expect("a readable header");
        let columns = reader.header().positions().to_vec();
        let mut rows = Vec::new();
        while let Some(raw) = reader.next_row().expect("readable rows") {
            rows.push(Row::validate(raw, &ParseOptions::default()));
        }
        (rows, columns)
    }

    fn found(patient_id: &str, prior: bool) -> MatchOutcome {
        MatchOutcome::Found(Found {
            patient_id: patient_id.into(),
            mismatched: if prior {
                vec![]
            } else {
                vec![Column::FirstName]
            },
            zeros_restored: !prior,
            prior: prior.then(|| PriorBalanceForward {
                patient_amount: "12.50".parse().expect("an amount"),
                insurance_amount: "0.00".parse().expect("an amount"),
                date_of_service: bf_domain::date::parse_iso("2026-01-31").expect("a date"),
                import_id: "00000000-0000-0000-0000-000000000001".into(),
                claims: 2,
            }),
        })
    }

    #[test]
    fn a_batch_is_written_byte_for_byte_as_prost_encodes_its_row_results() {
        let (mut rows, columns) = judged(
            "patient_id,patient_account_number,last_name,first_name,date_of_birth,patient_balance,insurance_balance,notes\n\
             ,0001,Doe,Jane,1970-01-02,10.00,0.00,\n\
             , 0002 ,Roe,  Rick ,01/02/1970,\"$1,234.5\",abc,x\n\
             ,\"=\"\"0003\"\"\",Poe,Edgar,1980-03-04,5,,\n\
             ,0004,Short\n\
             ,0005,Zed,Zoe,1990-05-06,0,0,\n\
             ,0006,Long,Line,1990-05-06,1,2,n,extra\n\
             ,0007,\"Multi\nLine\",Al,1970-05-06,7.25,,\n",
        );
        let mut outcomes = vec![
            found("P1", true),
            found("P2", false),
            MatchOutcome::Ambiguous { count: 2 },
            MatchOutcome::NotFound,
        ]
        .into_iter();
        for row in rows.iter_mut().filter(|r| r.needs_match()) {
            row.apply_match(outcomes.next().unwrap_or(MatchOutcome::NotFound));
        }
        let ids = ImportEvent {
            tenant_id: "t1".into(),
            import_id: "i1".into(),
            event: None,
        };
        let expected = ImportEvent {
            event: Some(Event::Batch(RowBatch {
                seq: 3,
                bytes_read: 4096,
                rows: rows.iter().map(|r| owned(r, &columns)).collect(),
            })),
            ..ids.clone()
        };
        let mut writer = BatchWriter::default();
        // Twice, to show that the writer's reused buffers carry nothing over.
        for _ in 0..2 {
            let written = writer.batch_event(&ids, 3, 4096, &rows, &columns);
            assert_eq!(written, expected.encode_to_vec());
        }
        let decoded = ImportEvent::decode(expected.encode_to_vec().as_slice()).expect("decodes");
        let Some(Event::Batch(batch)) = decoded.event else {
            panic!("a batch");
        };
        // The example covers every field the writer writes.
        assert!(batch.rows.iter().any(|r| r.prior.is_some()));
        assert!(batch.rows.iter().any(|r| !r.raw.is_empty()));
        assert!(batch.rows.iter().any(|r| !r.changes.is_empty()));
        assert!(batch.rows.iter().any(|r| !r.matched_patient_id.is_empty()));
        assert!(batch.rows.iter().any(|r| !r.problems.is_empty()));
    }

    #[test]
    fn a_match_request_is_written_byte_for_byte_as_prost_encodes_its_candidates() {
        let (rows, _) = judged(
            "patient_id,patient_account_number,last_name,first_name,date_of_birth,patient_balance,insurance_balance,notes\n\
             ,0001,Doe,Jane,1970-01-02,10.00,0.00,\n\
             P9, 0002 ,Roe,  Rick ,01/02/1970,\"$1,234.5\",,x\n\
             ,\"=\"\"0003\"\"\",Poe,Edgar,1980-03-04,5,,\n\
             ,0004,Short\n\
             ,0005,Ünïcödé,Zoë,1990-05-06,3,2,\n",
        );
        let candidates: Vec<MatchCandidate> = rows
            .iter()
            .filter(|r| r.needs_match())
            .map(|r| MatchCandidate {
                key: u64::from(r.line()),
                patient_id: r.raw.cell(Column::PatientId).to_string(),
                patient_account_number: r.raw.cell(Column::PatientAccountNumber).to_string(),
                last_name: r.raw.cell(Column::LastName).to_string(),
                first_name: r.raw.cell(Column::FirstName).to_string(),
                date_of_birth: r
                    .date(Column::DateOfBirth)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            })
            .collect();
        assert!(candidates.len() >= 3, "the example has rows to match");
        let expected = MatchPatientsRequest {
            tenant_id: "t1".into(),
            candidates,
            import_id: "i1".into(),
        };
        let mut writer = BatchWriter::default();
        for _ in 0..2 {
            let written = writer.match_request("t1", "i1", &rows);
            assert_eq!(written, Some(expected.encode_to_vec()));
        }
        let nothing_to_match: Vec<Row> = rows.into_iter().filter(|r| !r.needs_match()).collect();
        assert_eq!(writer.match_request("t1", "i1", &nothing_to_match), None);
    }

    #[test]
    fn an_empty_batch_still_names_its_sequence_and_progress() {
        let ids = ImportEvent {
            tenant_id: "t1".into(),
            import_id: "i1".into(),
            event: None,
        };
        let mut writer = BatchWriter::default();
        let written = writer.batch_event(&ids, 0, 0, &[], &[]);
        let expected = ImportEvent {
            event: Some(Event::Batch(RowBatch::default())),
            ..ids
        };
        assert_eq!(written, expected.encode_to_vec());
    }
}
