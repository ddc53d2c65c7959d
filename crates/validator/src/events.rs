//! Publishes an import's events, in order, with confirms.

use bf_domain::compact;
use bf_domain::{Column, Row, RowStatus};
use bf_messaging::topology::EVENTS;
use bf_messaging::{BrokerError, Pending, Publisher};
use bf_proto::imports::{import_event::Event, ImportEvent, Problem, RowResult};
use prost::Message;

/// Publishes events for one import.
pub struct Events<'a> {
    pub publisher: &'a Publisher,
    pub tenant_id: &'a str,
    pub import_id: &'a str,
}

impl Events<'_> {
    /// Publishes one event and waits for the broker's confirm.
    pub async fn send(&self, event: Event, message_id: &str) -> Result<(), BrokerError> {
        self.begin(event, message_id).await?.confirmed().await
    }

    /// Publishes one event without waiting for the confirm, so the next
    /// batch is matched while the broker writes this one.
    pub async fn begin(&self, event: Event, message_id: &str) -> Result<Pending, BrokerError> {
        let message = ImportEvent {
            tenant_id: self.tenant_id.to_string(),
            import_id: self.import_id.to_string(),
            event: Some(event),
        };
        let id = format!("{}:{message_id}", self.import_id);
        // The recorder's span continues this one.
        let trace = bf_runtime::trace_context::current();
        self.publisher
            .send(EVENTS, "ImportEvent", &id, &message.encode_to_vec(), &trace)
            .await
    }
}

/// A judged row as the recorder receives it, leaving out what follows from
/// its cells (bf_domain::compact): `columns` are the header's, in order.
/// Takes the row, whose texts move into the message instead of being
/// copied.
pub fn row_result(mut row: Row, columns: &[Option<Column>]) -> RowResult {
    let status = match row.status {
        RowStatus::Valid => bf_proto::imports::RowStatus::Valid,
        RowStatus::Flagged => bf_proto::imports::RowStatus::Flagged,
        RowStatus::Invalid => bf_proto::imports::RowStatus::Invalid,
        RowStatus::Skipped => bf_proto::imports::RowStatus::Skipped,
    };
    let amount = |c: Column| row.amount(c).map(|d| d.to_string()).unwrap_or_default();
    let (patient_balance, insurance_balance) = (
        amount(Column::PatientBalance),
        amount(Column::InsuranceBalance),
    );
    let (change_columns, changes) = compact::pack(compact::row_changes(&row));
    let raw = if compact::fields_follow_from_cells(&row.raw, columns) {
        Vec::new()
    } else {
        std::mem::take(&mut row.raw.fields)
    };
    let line = row.line();
    let (cell_columns, cells) = compact::pack(
        Column::ALL
            .into_iter()
            .zip(std::mem::take(&mut row.raw.cells))
            .filter_map(|(c, text)| Some((c, text?)))
            .collect(),
    );
    RowResult {
        line,
        status: status as i32,
        values: Default::default(),
        cell_columns,
        cells,
        patient_balance,
        insurance_balance,
        matched_patient_id: row.matched_patient_id.unwrap_or_default(),
        raw,
        normalized: Default::default(),
        normalized_changes: Default::default(),
        change_columns,
        changes,
        prior: row.prior.map(|p| bf_proto::claims::PriorBalanceForward {
            patient_amount: p.patient_amount.to_string(),
            insurance_amount: p.insurance_amount.to_string(),
            date_of_service: p.date_of_service.to_string(),
            import_id: p.import_id,
            claims: p.claims,
        }),
        problems: row
            .problems
            .into_iter()
            .map(|p| Problem {
                code: p.code.as_str().to_string(),
                column: p.column,
                message: p.message,
            })
            .collect(),
    }
}
