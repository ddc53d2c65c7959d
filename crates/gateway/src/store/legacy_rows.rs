//! Rows recorded one per line (import_rows, before migration 0018) moved
//! into blocks when the gateway starts, so an import under review when the
//! gateway was upgraded reads, posts and purges like any other. Each import
//! moves in one transaction: its lines are deleted as they are read, so two
//! gateways starting at once cannot move one twice.

use super::block::{self, Block};
use super::rows;
use bf_domain::{compact, Column};
use bf_proto::claims::PriorBalanceForward;
use bf_proto::imports::{Problem, RowResult, RowStatus};
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::HashMap;
use uuid::Uuid;

/// Lines per block moved, as the validator batches them by default.
const LINES_PER_BLOCK: usize = 2000;

/// A line as import_rows held it (migrations 0012 and 0015).
#[derive(sqlx::FromRow)]
struct LegacyRow {
    tenant_id: String,
    line: i32,
    status: String,
    cell_values: Vec<Option<String>>,
    changed_values: Option<Vec<Option<String>>>,
    patient_balance: Option<Decimal>,
    insurance_balance: Option<Decimal>,
    matched_patient_id: Option<String>,
    problems: serde_json::Value,
    raw: serde_json::Value,
    normalized: serde_json::Value,
    prior: Option<serde_json::Value>,
    accepted: bool,
    not_posted: Option<String>,
}

/// Moves every import's lines from import_rows into blocks. Returns how
/// many imports were moved.
pub async fn move_into_blocks(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut moved = 0;
    loop {
        let mut tx = bf_runtime::db::system_tx(pool).await?;
        let Some(import): Option<Uuid> =
            sqlx::query_scalar("SELECT import_id FROM import_rows LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(moved);
        };
        let lines: Vec<LegacyRow> = sqlx::query_as(
            "DELETE FROM import_rows WHERE import_id = $1
             RETURNING tenant_id, line, status, cell_values, changed_values, patient_balance,
                       insurance_balance, matched_patient_id, problems, raw, normalized, prior,
                       accepted, not_posted",
        )
        .bind(import)
        .fetch_all(&mut *tx)
        .await?;
        move_import(&mut tx, import, lines).await?;
        tx.commit().await?;
        moved += 1;
        tracing::info!(%import, "recorded lines moved into blocks");
    }
}

async fn move_import(
    conn: &mut sqlx::PgConnection,
    import: Uuid,
    mut lines: Vec<LegacyRow>,
) -> Result<(), sqlx::Error> {
    lines.sort_by_key(|l| l.line);
    for part in lines.chunks(LINES_PER_BLOCK) {
        let tenant = &part[0].tenant_id;
        let (payload, rows) = block::payload(tenant, import, part.iter().map(row_of).collect());
        if let Some(b) = Block::of(&rows) {
            rows::insert(&mut *conn, tenant, import, &b, &payload).await?;
        }
        let marked: Vec<&LegacyRow> = part
            .iter()
            .filter(|r| r.accepted || r.not_posted.is_some())
            .collect();
        if marked.is_empty() {
            continue;
        }
        sqlx::query(
            "INSERT INTO import_row_marks (import_id, tenant_id, line, accepted, not_posted)
             SELECT $1, $2, r.line, r.accepted, r.not_posted
               FROM unnest($3::int[], $4::bool[], $5::text[]) AS r(line, accepted, not_posted)",
        )
        .bind(import)
        .bind(tenant)
        .bind(marked.iter().map(|r| r.line).collect::<Vec<_>>())
        .bind(marked.iter().map(|r| r.accepted).collect::<Vec<_>>())
        .bind(
            marked
                .iter()
                .map(|r| r.not_posted.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A stored line as the validator would have sent it.
fn row_of(l: &LegacyRow) -> RowResult {
    let packed = |values: &[Option<String>]| {
        compact::pack(
            Column::ALL
                .into_iter()
                .zip(values)
                .filter_map(|(c, v)| Some((c, v.clone()?)))
                .collect(),
        )
    };
    let (cell_columns, cells) = packed(&l.cell_values);
    let (change_columns, changes) = l.changed_values.as_deref().map(packed).unwrap_or_default();
    let texts = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .map(|t| match t {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    let mut row = RowResult {
        line: l.line as u32,
        cell_columns,
        cells,
        change_columns,
        changes,
        patient_balance: l.patient_balance.map(|d| d.to_string()).unwrap_or_default(),
        insurance_balance: l
            .insurance_balance
            .map(|d| d.to_string())
            .unwrap_or_default(),
        matched_patient_id: l.matched_patient_id.clone().unwrap_or_default(),
        problems: l
            .problems
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| Problem {
                code: texts(p, "code"),
                column: texts(p, "column"),
                message: texts(p, "message"),
            })
            .collect(),
        raw: l
            .raw
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        // The full map of rows stored before compact changes.
        normalized: match (&l.changed_values, l.normalized.as_object()) {
            (None, Some(map)) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            _ => HashMap::new(),
        },
        prior: l.prior.as_ref().map(|p| PriorBalanceForward {
            patient_amount: texts(p, "patient_amount"),
            insurance_amount: texts(p, "insurance_amount"),
            date_of_service: texts(p, "date_of_service"),
            import_id: texts(p, "import_id"),
            claims: p.get("claims").and_then(|c| c.as_u64()).unwrap_or(0) as u32,
        }),
        ..Default::default()
    };
    row.set_status(match l.status.as_str() {
        "valid" => RowStatus::Valid,
        "flagged" => RowStatus::Flagged,
        "skipped" => RowStatus::Skipped,
        _ => RowStatus::Invalid,
    });
    row
}
