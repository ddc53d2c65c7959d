//! An import's rows as stored: one block per batch the validator sent
//! (migration 0018). The batch itself is the block's payload, read back
//! only to show or post rows; beside it, by line, the few values that
//! statements aggregate over, and the block's counts and totals.

use super::patient_keys;
use bf_domain::{compact, Column, RowStatus};
use bf_proto::imports::{import_event::Event, ImportEvent, RowBatch, RowResult};
use prost::Message as _;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// The code of the one problem that the policy for earlier BF claims
/// decides instead of the user (see `settled` in migration 0018).
pub const EXISTING_BALANCE_FORWARD: &str = "existing_balance_forward";

/// A batch's rows laid out for storage, borrowing the rows.
#[derive(Debug, PartialEq)]
pub struct Block<'a> {
    pub first_line: i32,
    pub last_line: i32,
    /// Rows by status: valid, flagged, invalid, skipped.
    pub counts: [i32; 4],
    pub valid_patient_balance: Decimal,
    pub valid_insurance_balance: Decimal,
    pub file_balance: Decimal,
    pub file_credits: Decimal,
    pub lines: Vec<i32>,
    pub statuses: Vec<&'static str>,
    pub patient_ids: Vec<Option<&'a str>>,
    /// [`patient_keys::key_of`] of each patient id, to count the
    /// import's patients without grouping their ids.
    pub patient_keys: Vec<Option<i64>>,
    pub account_numbers: Vec<Option<&'a str>>,
    pub patient_balances: Vec<Option<Decimal>>,
    pub insurance_balances: Vec<Option<Decimal>>,
    pub prior_patient: Vec<Option<Decimal>>,
    pub prior_insurance: Vec<Option<Decimal>>,
    pub settled: Vec<bool>,
}

/// What a block keeps of a row, from a row decoded whole (`RowResult`:
/// rows built here, or read back) or as received (`store::received`).
pub trait BlockRow {
    fn line(&self) -> u32;
    fn status(&self) -> RowStatus;
    /// Normalized, "" when the cell did not parse.
    fn patient_balance(&self) -> &str;
    fn insurance_balance(&self) -> &str;
    /// "" when no patient matched.
    fn matched_patient_id(&self) -> &str;
    /// The account number cell, as the review's search finds it.
    fn account_number(&self) -> Option<&str>;
    /// The patient's earlier BF claims' amounts, when there are any.
    fn prior_amounts(&self) -> Option<(&str, &str)>;
    /// Whether every problem is one the policy for earlier BF claims
    /// decides (true for a row without problems).
    fn settled_by_policy(&self) -> bool;
    /// Whether its cells and changes are packed consistently: a row that
    /// is not would lose cells when shown (`received::well_formed`).
    fn packed_rightly(&self) -> bool;
}

impl<'a> Block<'a> {
    /// The block of rows in line order; `None` for no rows.
    pub fn of<R: BlockRow>(rows: &'a [R]) -> Option<Block<'a>> {
        let (first, last) = (rows.first()?, rows.last()?);
        let mut block = Block {
            first_line: first.line() as i32,
            last_line: last.line() as i32,
            counts: [0; 4],
            valid_patient_balance: Decimal::ZERO,
            valid_insurance_balance: Decimal::ZERO,
            file_balance: Decimal::ZERO,
            file_credits: Decimal::ZERO,
            lines: Vec::with_capacity(rows.len()),
            statuses: Vec::with_capacity(rows.len()),
            patient_ids: Vec::with_capacity(rows.len()),
            patient_keys: Vec::with_capacity(rows.len()),
            account_numbers: Vec::with_capacity(rows.len()),
            patient_balances: Vec::with_capacity(rows.len()),
            insurance_balances: Vec::with_capacity(rows.len()),
            prior_patient: Vec::with_capacity(rows.len()),
            prior_insurance: Vec::with_capacity(rows.len()),
            settled: Vec::with_capacity(rows.len()),
        };
        for r in rows {
            block.push(r);
        }
        Some(block)
    }

    fn push<R: BlockRow>(&mut self, r: &'a R) {
        let status = r.status();
        let patient = amount(r.patient_balance());
        let insurance = amount(r.insurance_balance());
        self.counts[status_index(status)] += 1;
        if status == RowStatus::Valid {
            self.valid_patient_balance += patient.unwrap_or_default();
            self.valid_insurance_balance += insurance.unwrap_or_default();
        }
        if let Some(p) = patient {
            self.file_balance += p;
            if p < Decimal::ZERO {
                self.file_credits += p;
            }
        }
        self.lines.push(r.line() as i32);
        self.statuses.push(status.as_str());
        let matched = Some(r.matched_patient_id()).filter(|p| !p.is_empty());
        self.patient_ids.push(matched);
        self.patient_keys.push(matched.map(patient_keys::key_of));
        self.account_numbers.push(r.account_number());
        self.patient_balances.push(patient);
        self.insurance_balances.push(insurance);
        let prior = r.prior_amounts();
        self.prior_patient
            .push(prior.map(|(p, _)| amount(p).unwrap_or_default()));
        self.prior_insurance
            .push(prior.map(|(_, i)| amount(i).unwrap_or_default()));
        self.settled
            .push(status == RowStatus::Flagged && r.settled_by_policy());
    }
}

impl BlockRow for RowResult {
    fn line(&self) -> u32 {
        self.line
    }

    fn status(&self) -> RowStatus {
        status_of(self)
    }

    fn patient_balance(&self) -> &str {
        &self.patient_balance
    }

    fn insurance_balance(&self) -> &str {
        &self.insurance_balance
    }

    fn matched_patient_id(&self) -> &str {
        &self.matched_patient_id
    }

    fn account_number(&self) -> Option<&str> {
        let column = Column::PatientAccountNumber;
        if self.values.is_empty() {
            compact::text_at(self.cell_columns, &self.cells, column)
        } else {
            self.values.get(column.name()).map(String::as_str)
        }
    }

    fn prior_amounts(&self) -> Option<(&str, &str)> {
        self.prior
            .as_ref()
            .map(|p| (p.patient_amount.as_str(), p.insurance_amount.as_str()))
    }

    fn settled_by_policy(&self) -> bool {
        self.problems
            .iter()
            .all(|p| p.code == EXISTING_BALANCE_FORWARD)
    }

    fn packed_rightly(&self) -> bool {
        compact::counts_rightly(self.cell_columns, self.cells.len())
            && compact::counts_rightly(self.change_columns, self.changes.len())
    }
}

/// The position of a status in [`Block::counts`].
fn status_index(status: RowStatus) -> usize {
    match status {
        RowStatus::Valid => 0,
        RowStatus::Flagged => 1,
        RowStatus::Invalid => 2,
        RowStatus::Skipped => 3,
    }
}

/// A row's status as the review knows it; an unknown one is invalid.
pub fn status_of(r: &RowResult) -> RowStatus {
    status_from(r.status)
}

/// A status as sent on the wire, as the review knows it; an unknown or
/// unset one is invalid.
pub fn status_from(code: i32) -> RowStatus {
    match bf_proto::imports::RowStatus::try_from(code) {
        Ok(bf_proto::imports::RowStatus::Valid) => RowStatus::Valid,
        Ok(bf_proto::imports::RowStatus::Flagged) => RowStatus::Flagged,
        Ok(bf_proto::imports::RowStatus::Skipped) => RowStatus::Skipped,
        _ => RowStatus::Invalid,
    }
}

/// A normalized amount as sent ("" when the cell did not parse).
fn amount(text: &str) -> Option<Decimal> {
    (!text.is_empty())
        .then(|| Decimal::from_str(text).ok())
        .flatten()
}

/// The rows of a stored payload, in line order.
pub fn rows_of(payload: &[u8]) -> Result<Vec<RowResult>, prost::DecodeError> {
    Ok(match ImportEvent::decode(payload)?.event {
        Some(Event::Batch(batch)) => batch.rows,
        _ => Vec::new(),
    })
}

/// The payload of a block built here rather than received (part of a
/// batch, a block rewritten by flagging, rows moved from import_rows):
/// encoded as the validator encodes a batch, so every block reads alike.
/// The rows come back with it, so the block's columns are laid out from
/// them rather than from the payload decoded again.
pub fn payload(
    tenant: &str,
    import: uuid::Uuid,
    rows: Vec<RowResult>,
) -> (Vec<u8>, Vec<RowResult>) {
    let event = ImportEvent {
        tenant_id: tenant.to_string(),
        import_id: import.to_string(),
        event: Some(Event::Batch(RowBatch {
            seq: 0,
            bytes_read: 0,
            rows,
        })),
    };
    let payload = event.encode_to_vec();
    let rows = match event.event {
        Some(Event::Batch(batch)) => batch.rows,
        _ => Vec::new(),
    };
    (payload, rows)
}

/// A row's cells by column position: packed (bf_domain::compact) or,
/// from an older validator, a map by column name.
pub fn cells_of(r: &RowResult) -> Vec<Option<&str>> {
    if r.values.is_empty() {
        // A mismatched packing never reaches here (well_formed).
        compact::unpack(r.cell_columns, &r.cells).unwrap_or_default()
    } else {
        by_position(&r.values)
    }
}

/// The normalized values that differ from the cells, by column position;
/// `None` when an older validator sent the full map instead.
pub fn changes_of(r: &RowResult) -> Option<Vec<Option<&str>>> {
    if !r.normalized.is_empty() {
        None
    } else if !r.normalized_changes.is_empty() {
        Some(by_position(&r.normalized_changes))
    } else {
        // A mismatched packing never reaches here (well_formed).
        Some(compact::unpack(r.change_columns, &r.changes).unwrap_or_default())
    }
}

/// Texts keyed by template column name, laid out by [`Column::ALL`]
/// position; trailing absent columns are left off.
pub fn by_position(map: &HashMap<String, String>) -> Vec<Option<&str>> {
    let mut out = vec![None; Column::ALL.len()];
    for (name, text) in map {
        if let Some(column) = Column::from_name(name) {
            out[column.index()] = Some(text.as_str());
        }
    }
    while out.last() == Some(&None) {
        out.pop();
    }
    out
}

/// The `(column, text)` pairs of texts laid out by column position.
pub fn positioned<'t>(values: &'t [Option<&'t str>]) -> impl Iterator<Item = (Column, &'t str)> {
    Column::ALL
        .into_iter()
        .zip(values)
        .filter_map(|(column, text)| Some((column, (*text)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bf_proto::imports::Problem;

    fn row(line: u32, status: bf_proto::imports::RowStatus, balance: &str) -> RowResult {
        let mut r = RowResult {
            line,
            patient_balance: balance.into(),
            insurance_balance: "1.00".into(),
            matched_patient_id: format!("P{line}"),
            cell_columns: 0b1,
            cells: vec![format!("A{line}")],
            ..Default::default()
        };
        r.set_status(status);
        r
    }

    #[test]
    fn a_block_counts_and_totals_its_rows_as_the_review_does() {
        use bf_proto::imports::RowStatus as S;
        let mut settled = row(5, S::Flagged, "3.00");
        settled.problems.push(Problem {
            code: EXISTING_BALANCE_FORWARD.into(),
            ..Default::default()
        });
        let mut unsettled = row(6, S::Flagged, "4.00");
        unsettled.problems.push(Problem {
            code: "name_mismatch".into(),
            ..Default::default()
        });
        let rows = vec![
            row(2, S::Valid, "10.50"),
            row(3, S::Valid, "-2.25"),
            row(4, S::Invalid, ""),
            settled,
            unsettled,
            row(7, S::Skipped, "0.00"),
        ];
        let block = Block::of(&rows).expect("rows");
        assert_eq!((block.first_line, block.last_line), (2, 7));
        assert_eq!(block.counts, [2, 2, 1, 1]);
        assert_eq!(block.valid_patient_balance, Decimal::new(825, 2));
        assert_eq!(block.valid_insurance_balance, Decimal::new(200, 2));
        assert_eq!(block.file_balance, Decimal::new(1525, 2));
        assert_eq!(block.file_credits, Decimal::new(-225, 2));
        assert_eq!(block.lines, vec![2, 3, 4, 5, 6, 7]);
        assert_eq!(block.account_numbers[0], Some("A2"));
        assert_eq!(block.patient_balances[2], None);
        assert_eq!(block.settled, vec![false, false, false, true, false, false]);
        assert!(Block::of::<RowResult>(&[]).is_none());
    }

    #[test]
    fn a_built_payload_reads_back_as_its_rows() {
        use bf_proto::imports::RowStatus as S;
        let rows = vec![row(2, S::Valid, "1.00"), row(3, S::Invalid, "")];
        let (stored, given_back) = payload("t1", uuid::Uuid::nil(), rows.clone());
        assert_eq!(rows_of(&stored).expect("decodes"), rows);
        assert_eq!(given_back, rows);
    }

    #[test]
    fn packed_and_named_cells_read_alike() {
        let packed = RowResult {
            cell_columns: 0b101,
            cells: vec!["007".into(), "Peña".into()],
            change_columns: 1 << Column::InsuranceBalance.index(),
            changes: vec!["0.00".into()],
            ..Default::default()
        };
        let named = RowResult {
            values: HashMap::from([
                ("patient_account_number".into(), "007".into()),
                ("last_name".into(), "Peña".into()),
            ]),
            normalized_changes: HashMap::from([("insurance_balance".into(), "0.00".into())]),
            ..Default::default()
        };
        assert_eq!(cells_of(&packed), cells_of(&named));
        assert_eq!(cells_of(&packed), vec![Some("007"), None, Some("Peña")]);
        assert_eq!(changes_of(&packed), changes_of(&named));
        let full = RowResult {
            normalized: HashMap::from([("last_name".into(), "Peña".into())]),
            ..named
        };
        assert_eq!(changes_of(&full), None);
    }
}
