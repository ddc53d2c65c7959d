//! Per-row results of an import, stored a block per batch
//! (store::block, migration 0018).

use super::block::{self, Block};
use super::row_spans::{row_spans, RowSpan};
use bf_domain::{compact, Column, Problem, RowStatus};
use bf_proto::imports::RowResult;
use bf_runtime::db;
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool, Row as _};
use std::collections::HashMap;
use uuid::Uuid;

/// A stored row, for review: normalized in full, however it was stored.
#[derive(Debug)]
pub struct RowRecord {
    pub line: i32,
    pub status: String,
    pub cells: serde_json::Value,
    pub patient_balance: Option<Decimal>,
    pub insurance_balance: Option<Decimal>,
    pub matched_patient_id: Option<String>,
    pub problems: serde_json::Value,
    pub raw: serde_json::Value,
    pub normalized: serde_json::Value,
    pub prior: Option<serde_json::Value>,
    pub accepted: bool,
    pub not_posted: Option<String>,
}

/// What happened to a line after it was recorded (import_row_marks).
#[derive(Debug, Default, Clone, sqlx::FromRow)]
struct Mark {
    accepted: bool,
    not_posted: Option<String>,
}

impl RowRecord {
    /// The row as the review shows it, from the row as it was sent.
    fn of(r: &RowResult, mark: Option<&Mark>) -> RowRecord {
        // Two places, as the numeric(12,2) column of one-row-per-line storage
        // gave, so a row reads the same before and after migration 0018.
        let amount = |s: &str| {
            (!s.is_empty())
                .then(|| s.parse().ok().map(bf_domain::money::normalize))
                .flatten()
        };
        let cells = block::cells_of(r);
        let normalized = match block::changes_of(r) {
            Some(changes) => {
                let changes: Vec<(Column, String)> = block::positioned(&changes)
                    .map(|(c, v)| (c, v.to_string()))
                    .collect();
                text_map(compact::restore_normalized(
                    block::positioned(&cells),
                    &changes,
                ))
            }
            None => serde_json::json!(r.normalized),
        };
        let problems = r
            .problems
            .iter()
            .map(|p| serde_json::json!({"code": p.code, "column": p.column, "message": p.message}))
            .collect();
        RowRecord {
            line: r.line as i32,
            status: block::status_of(r).as_str().to_string(),
            cells: text_map(block::positioned(&cells)),
            patient_balance: amount(&r.patient_balance),
            insurance_balance: amount(&r.insurance_balance),
            matched_patient_id: Some(r.matched_patient_id.clone()).filter(|p| !p.is_empty()),
            problems: serde_json::Value::Array(problems),
            raw: serde_json::json!(r.raw),
            normalized,
            prior: r.prior.as_ref().map(|p| {
                serde_json::json!({
                    "patient_amount": p.patient_amount,
                    "insurance_amount": p.insurance_amount,
                    "date_of_service": p.date_of_service,
                    "import_id": p.import_id,
                    "claims": p.claims,
                })
            }),
            accepted: mark.is_some_and(|m| m.accepted),
            not_posted: mark.and_then(|m| m.not_posted.clone()),
        }
    }
}

/// A JSON object of texts keyed by column name, as the review shows a
/// row's cells and normalized values.
fn text_map<S: Into<String>>(pairs: impl IntoIterator<Item = (Column, S)>) -> serde_json::Value {
    serde_json::Value::Object(
        pairs
            .into_iter()
            .map(|(c, v)| (c.name().to_string(), serde_json::Value::String(v.into())))
            .collect(),
    )
}

/// The line's fields in file order for the error report: as stored, or
/// rebuilt from the cells and the header's columns when they were left out.
pub fn fields(row: &RowRecord, columns: &[Option<Column>]) -> Vec<String> {
    if let Some(stored) = row.raw.as_array().filter(|a| !a.is_empty()) {
        return stored
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect();
    }
    compact::fields_from_cells(columns, |c| {
        row.cells.get(c.name()).and_then(|v| v.as_str())
    })
}

/// The columns of a block, in the order [`bind_block`] binds them from $3.
const BLOCK_COLUMNS: &str = "first_line, last_line, valid, flagged, invalid, skipped,
     valid_patient_balance, valid_insurance_balance, file_balance, file_credits,
     lines, statuses, patient_ids, account_numbers, patient_balances, insurance_balances,
     prior_patient, prior_insurance, settled, payload, patient_keys";

fn bind_block<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    b: &'q Block<'q>,
    payload: &'q [u8],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(b.first_line)
        .bind(b.last_line)
        .bind(b.counts[0])
        .bind(b.counts[1])
        .bind(b.counts[2])
        .bind(b.counts[3])
        .bind(b.valid_patient_balance)
        .bind(b.valid_insurance_balance)
        .bind(b.file_balance)
        .bind(b.file_credits)
        .bind(&b.lines)
        .bind(&b.statuses)
        .bind(&b.patient_ids)
        .bind(&b.account_numbers)
        .bind(&b.patient_balances)
        .bind(&b.insurance_balances)
        .bind(&b.prior_patient)
        .bind(&b.prior_insurance)
        .bind(&b.settled)
        .bind(payload)
        .bind(&b.patient_keys)
}

/// Stores a batch's rows as one block, `payload` being the batch as sent.
/// Fails on a line recorded already ([`is_recorded_line`]): the batch
/// mark proves a batch new, so only a batch cut differently by a
/// redelivered parse meets one, and is then recorded by
/// [`insert_unrecorded`].
pub async fn insert(
    conn: &mut PgConnection,
    tenant: &str,
    import: Uuid,
    block: &Block<'_>,
    payload: &[u8],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO import_row_blocks (import_id, tenant_id, {BLOCK_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, $18, $19, $20, $21, $22, $23)"
    );
    bind_block(sqlx::query(&sql).bind(import).bind(tenant), block, payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether an insert failed because a block of the import holds some of
/// its lines already (migration 0018's exclusion, or the same first line).
pub fn is_recorded_line(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "23P01" || code == "23505")
}

/// Stores the rows of a batch that no block holds yet, as one block per
/// run of them: the slow path of [`insert`]. Returns how many were new.
pub async fn insert_unrecorded(
    conn: &mut PgConnection,
    tenant: &str,
    import: Uuid,
    rows: &[RowResult],
) -> Result<usize, sqlx::Error> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(0);
    };
    let recorded: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT first_line, last_line FROM import_row_blocks
          WHERE import_id = $1 AND int4range(first_line, last_line, '[]') && int4range($2, $3, '[]')",
    )
    .bind(import)
    .bind(first.line as i32)
    .bind(last.line as i32)
    .fetch_all(&mut *conn)
    .await?;
    let held = |line: i32| recorded.iter().any(|(a, b)| (*a..=*b).contains(&line));
    let mut runs: Vec<Vec<RowResult>> = vec![Vec::new()];
    for r in rows {
        if held(r.line as i32) {
            runs.push(Vec::new());
        } else if let Some(run) = runs.last_mut() {
            run.push(r.clone());
        }
    }
    let mut new = 0;
    for run in runs.into_iter().filter(|run| !run.is_empty()) {
        new += run.len();
        let (payload, rows) = block::payload(tenant, import, run);
        if let Some(b) = Block::of(&rows) {
            insert(conn, tenant, import, &b, &payload).await?;
        }
    }
    Ok(new)
}

/// A stored payload that does not decode: the block is damaged.
fn decode_error(e: prost::DecodeError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// Refreshes the planner's statistics of the blocks, so review pages of a
/// big import that just arrived stay index range scans.
pub async fn refresh_statistics(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT refresh_import_rows_statistics()")
        .execute(pool)
        .await?;
    Ok(())
}

/// Flags lines, appending to each line its own problem. Each block that
/// holds one is rewritten once, whatever the number of its lines flagged,
/// and only in what flagging changes: the block's lines, patients,
/// accounts and amounts stay as stored (unchanged TOASTed arrays are not
/// written again).
pub async fn flag(
    conn: &mut PgConnection,
    tenant: &str,
    import: Uuid,
    flagged: &[(i32, &Problem)],
) -> Result<(), sqlx::Error> {
    let problems: HashMap<i32, &Problem> = flagged.iter().copied().collect();
    let lines: Vec<i32> = problems.keys().copied().collect();
    let blocks: Vec<i32> = sqlx::query_scalar(
        "SELECT first_line FROM import_row_blocks b
          WHERE import_id = $1
            AND EXISTS (SELECT 1 FROM unnest($2::int[]) l WHERE l BETWEEN b.first_line AND b.last_line)
          ORDER BY first_line",
    )
    .bind(import)
    .bind(&lines)
    .fetch_all(&mut *conn)
    .await?;
    for first_line in blocks {
        let mut rows =
            block::rows_of(&payload_of(conn, import, first_line).await?).map_err(decode_error)?;
        for r in rows.iter_mut() {
            if let Some(p) = problems.get(&(r.line as i32)) {
                r.set_status(bf_proto::imports::RowStatus::Flagged);
                r.problems.push(bf_proto::imports::Problem {
                    code: p.code.as_str().to_string(),
                    column: p.column.clone(),
                    message: p.message.clone(),
                });
            }
        }
        let (payload, rows) = block::payload(tenant, import, rows);
        if let Some(b) = Block::of(&rows) {
            update_flagged(conn, import, &b, &payload).await?;
        }
    }
    Ok(())
}

/// Writes back what flagging changes in a block: statuses, counts, the
/// valid totals, the settled marks and the payload. Only importable lines
/// are flagged ([`patients`](super::patient_keys::patients)), so the
/// invalid and skipped counts and the file's own totals stand.
async fn update_flagged(
    conn: &mut PgConnection,
    import: Uuid,
    b: &Block<'_>,
    payload: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE import_row_blocks
            SET valid = $3, flagged = $4, valid_patient_balance = $5,
                valid_insurance_balance = $6, statuses = $7, settled = $8, payload = $9
          WHERE import_id = $1 AND first_line = $2",
    )
    .bind(import)
    .bind(b.first_line)
    .bind(b.counts[0])
    .bind(b.counts[1])
    .bind(b.valid_patient_balance)
    .bind(b.valid_insurance_balance)
    .bind(&b.statuses)
    .bind(&b.settled)
    .bind(payload)
    .execute(conn)
    .await?;
    Ok(())
}

/// A block's payload.
async fn payload_of(
    conn: &mut PgConnection,
    import: Uuid,
    first_line: i32,
) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT payload FROM import_row_blocks WHERE import_id = $1 AND first_line = $2",
    )
    .bind(import)
    .bind(first_line)
    .fetch_one(conn)
    .await
}

/// Row counts by status, and balance totals over the valid rows; and the
/// file's own totals ([`FileTotals`]) with the count of
/// [`patients`](super::patient_keys::patients):
/// sums of the blocks' own.
pub async fn summary(
    conn: &mut PgConnection,
    import: Uuid,
    patients: i64,
) -> Result<(crate::store::imports::Summary, FileTotals), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COALESCE(sum(valid + flagged + invalid + skipped), 0)::bigint AS total,
                COALESCE(sum(valid), 0)::bigint AS valid,
                COALESCE(sum(flagged), 0)::bigint AS flagged,
                COALESCE(sum(invalid), 0)::bigint AS invalid,
                COALESCE(sum(skipped), 0)::bigint AS skipped,
                COALESCE(sum(valid_patient_balance), 0) AS patient,
                COALESCE(sum(valid_insurance_balance), 0) AS insurance,
                COALESCE(sum(file_balance), 0) AS file_balance,
                COALESCE(sum(file_credits), 0) AS file_credits
           FROM import_row_blocks WHERE import_id = $1",
    )
    .bind(import)
    .fetch_one(conn)
    .await?;
    let summary = crate::store::imports::Summary {
        total: row.try_get("total")?,
        valid: row.try_get("valid")?,
        flagged: row.try_get("flagged")?,
        invalid: row.try_get("invalid")?,
        skipped: row.try_get("skipped")?,
        patient_balance: row.try_get("patient")?,
        insurance_balance: row.try_get("insurance")?,
    };
    let file = FileTotals {
        patient_balance: row.try_get("file_balance")?,
        credit_total: row.try_get("file_credits")?,
        patient_count: patients,
    };
    Ok((summary, file))
}

/// The blocks of an import that end after `after`, in line order, as
/// `(first_line, last_line)`: a few integers per 2,000 lines, so the whole
/// list is read before any block's rows.
async fn blocks_after(
    conn: &mut PgConnection,
    tenant: &str,
    import: Uuid,
    after: i32,
    having: &str,
) -> Result<Vec<(i32, i32)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT first_line, last_line FROM import_row_blocks
          WHERE tenant_id = $1 AND import_id = $2 AND last_line > $3 AND {having}
          ORDER BY first_line"
    ))
    .bind(tenant)
    .bind(import)
    .bind(after)
    .fetch_all(conn)
    .await
}

/// The marks of an import's lines between two lines.
async fn marks_between(
    conn: &mut PgConnection,
    import: Uuid,
    (first, last): (i32, i32),
) -> Result<HashMap<i32, Mark>, sqlx::Error> {
    let found: Vec<(i32, bool, Option<String>)> = sqlx::query_as(
        "SELECT line, accepted, not_posted FROM import_row_marks
          WHERE import_id = $1 AND line BETWEEN $2 AND $3",
    )
    .bind(import)
    .bind(first)
    .bind(last)
    .fetch_all(conn)
    .await?;
    Ok(found
        .into_iter()
        .map(|(line, accepted, not_posted)| {
            (
                line,
                Mark {
                    accepted,
                    not_posted,
                },
            )
        })
        .collect())
}

/// Up to `limit` rows after `after` that `keep` takes, read block by
/// block from `blocks` until there are enough. Only the rows taken are
/// decoded; `keep` sees each row's line and status ([`RowSpan`]).
async fn read_rows(
    conn: &mut PgConnection,
    import: Uuid,
    blocks: &[(i32, i32)],
    after: i32,
    limit: usize,
    keep: impl Fn(&RowSpan<'_>, Option<&Mark>) -> bool,
) -> Result<Vec<RowRecord>, sqlx::Error> {
    let mut found = Vec::new();
    for &range in blocks {
        if found.len() >= limit {
            break;
        }
        let payload = payload_of(conn, import, range.0).await?;
        let marks = marks_between(conn, import, range).await?;
        for span in row_spans(&payload).map_err(decode_error)? {
            if found.len() >= limit {
                break;
            }
            let mark = marks.get(&(span.line as i32));
            if span.line as i32 > after && keep(&span, mark) {
                found.push(RowRecord::of(&span.decode().map_err(decode_error)?, mark));
            }
        }
    }
    Ok(found)
}

/// Whether a row that `span` holds meets `test`; a row that does not
/// decode is taken, so that reading it reports the damage.
fn row_meets(span: &RowSpan<'_>, test: impl Fn(&RowResult) -> bool) -> bool {
    span.decode().map_or(true, |r| test(&r))
}

/// A page of a tenant's import rows, by line, optionally of one status.
/// Blocks without a row of the status are skipped by their counts.
pub async fn page(
    pool: &PgPool,
    tenant: &str,
    import: Uuid,
    status: Option<RowStatus>,
    after: i32,
    limit: i64,
) -> Result<Vec<RowRecord>, sqlx::Error> {
    // The count column is named by the closed set of RowStatus, never by
    // the caller.
    let having = match status {
        Some(s) => format!("{} > 0", s.as_str()),
        None => "true".to_string(),
    };
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let blocks = blocks_after(&mut tx, tenant, import, after, &having).await?;
    let limit = usize::try_from(limit).unwrap_or(0);
    let found = read_rows(&mut tx, import, &blocks, after, limit, |r, _| {
        status.is_none_or(|s| r.status == s)
    })
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// The next rows to post after `after`, by line: valid rows, and flagged
/// rows the user accepted at Save.
pub async fn to_post_after(
    pool: &PgPool,
    tenant: &str,
    import: Uuid,
    after: i32,
    limit: i64,
) -> Result<Vec<RowRecord>, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let blocks = blocks_after(&mut tx, tenant, import, after, "(valid > 0 OR flagged > 0)").await?;
    let limit = usize::try_from(limit).unwrap_or(0);
    let found = read_rows(&mut tx, import, &blocks, after, limit, |r, mark| {
        postable(r.status, mark)
    })
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// Whether Save posts a row: valid, or flagged and accepted.
fn postable(status: RowStatus, mark: Option<&Mark>) -> bool {
    match status {
        RowStatus::Valid => true,
        RowStatus::Flagged => mark.is_some_and(|m| m.accepted),
        _ => false,
    }
}

/// Rows found by a line number or an account number, by line; failing
/// those, by the patient id the rows matched. Blocks are chosen by their
/// line range and their arrays of account numbers and patient ids; only
/// those are decoded.
pub async fn search(
    pool: &PgPool,
    tenant: &str,
    import: Uuid,
    query: &str,
    limit: i64,
) -> Result<Vec<RowRecord>, sqlx::Error> {
    let query = query.trim();
    let line: Option<i32> = query.parse().ok();
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let blocks: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT first_line, last_line FROM import_row_blocks
          WHERE tenant_id = $1 AND import_id = $2
            AND ($3 BETWEEN first_line AND last_line OR $4 = ANY(account_numbers))
          ORDER BY first_line",
    )
    .bind(tenant)
    .bind(import)
    .bind(line)
    .bind(query)
    .fetch_all(&mut *tx)
    .await?;
    let mut found = read_rows(&mut tx, import, &blocks, 0, limit, |span, _| {
        Some(span.line as i32) == line
            || row_meets(span, |r| {
                block::cells_of(r).get(Column::PatientAccountNumber.index()) == Some(&Some(query))
            })
    })
    .await?;
    if found.is_empty() {
        let blocks: Vec<(i32, i32)> = sqlx::query_as(
            "SELECT first_line, last_line FROM import_row_blocks
              WHERE tenant_id = $1 AND import_id = $2 AND $3 = ANY(patient_ids)
              ORDER BY first_line",
        )
        .bind(tenant)
        .bind(import)
        .bind(query)
        .fetch_all(&mut *tx)
        .await?;
        found = read_rows(&mut tx, import, &blocks, 0, limit, |span, _| {
            row_meets(span, |r| r.matched_patient_id == query)
        })
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// Up to `limit` patients who got a BF claim from this import, in the
/// order of their first posted line, for links to their claim histories.
/// Reads the blocks' arrays in line order until it has them.
pub async fn posted_patients(
    pool: &PgPool,
    tenant: &str,
    import: Uuid,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let blocks = blocks_after(&mut tx, tenant, import, 0, "(valid > 0 OR flagged > 0)").await?;
    let mut found: Vec<String> = Vec::new();
    for range in blocks {
        if found.len() >= limit {
            break;
        }
        let (lines, statuses, patients): (Vec<i32>, Vec<String>, Vec<Option<String>>) =
            sqlx::query_as(
                "SELECT lines, statuses, patient_ids FROM import_row_blocks
                  WHERE import_id = $1 AND first_line = $2",
            )
            .bind(import)
            .bind(range.0)
            .fetch_one(&mut *tx)
            .await?;
        let marks = marks_between(&mut tx, import, range).await?;
        for ((line, status), patient) in lines.iter().zip(&statuses).zip(patients) {
            let mark = marks.get(line);
            let posted = match status.as_str() {
                "valid" => true,
                "flagged" => mark.is_some_and(|m| m.accepted),
                _ => false,
            } && mark.is_none_or(|m| m.not_posted.is_none());
            match patient {
                Some(p) if posted && found.len() < limit && !found.contains(&p) => found.push(p),
                _ => {}
            }
        }
    }
    tx.commit().await?;
    Ok(found)
}

/// Records why Save did not post lines.
pub async fn set_not_posted(
    conn: &mut PgConnection,
    tenant: &str,
    import: Uuid,
    lines: &[i32],
    why: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_row_marks (import_id, tenant_id, line, not_posted)
         SELECT $1, $2, l, $4 FROM unnest($3::int[]) AS l
         ON CONFLICT (import_id, line) DO UPDATE SET not_posted = EXCLUDED.not_posted",
    )
    .bind(import)
    .bind(tenant)
    .bind(lines)
    .bind(why)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that a batch arrived. False when it had arrived before (a
/// redelivery), in which case its rows are already recorded.
pub async fn mark_batch(
    conn: &mut PgConnection,
    import: Uuid,
    seq: i32,
    row_count: i32,
    bytes_read: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO import_batches (import_id, seq, row_count, bytes_read) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(import)
    .bind(seq)
    .bind(row_count)
    .bind(bytes_read)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Whether the parse finished and every one of its batches is recorded.
/// Counts the committed batch marks below the expected count (one index
/// range of at most a few thousand entries): no counter can be kept in
/// step by batches recorded side by side.
pub async fn all_batches_recorded(
    conn: &mut PgConnection,
    import: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT i.expected_batches IS NOT NULL
            AND (SELECT count(*) FROM import_batches b
                  WHERE b.import_id = i.import_id AND b.seq < i.expected_batches) = i.expected_batches
           FROM imports i WHERE i.import_id = $1",
    )
    .bind(import)
    .fetch_one(conn)
    .await
}

/// Deletes an import's staged rows and batch marks: the patient data it
/// holds outside the ledger.
pub async fn delete_staged(conn: &mut PgConnection, import: Uuid) -> Result<(), sqlx::Error> {
    // import_rows: lines recorded before the blocks, until the gateway
    // moves them (store::legacy_rows).
    for table in [
        "import_row_blocks",
        "import_row_marks",
        "import_batches",
        "import_rows",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE import_id = $1"))
            .bind(import)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Drops what was recorded of a file that failed as a whole, keeping how
/// far into the file the parse got (the failed import's progress).
pub async fn discard(conn: &mut PgConnection, import: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE imports SET rows_recorded = 0,
                bytes_parsed = GREATEST(bytes_parsed,
                    (SELECT COALESCE(max(bytes_read), 0) FROM import_batches WHERE import_id = $1))
          WHERE import_id = $1",
    )
    .bind(import)
    .execute(&mut *conn)
    .await?;
    delete_staged(conn, import).await?;
    Ok(())
}

/// The file's own totals, to set beside the old system's: every row with
/// a readable balance counts, whatever its status.
pub struct FileTotals {
    pub patient_balance: Decimal,
    pub credit_total: Decimal,
    pub patient_count: i64,
}

/// Stores the file's own totals on the import.
pub async fn set_file_totals(
    conn: &mut PgConnection,
    import: Uuid,
    totals: &FileTotals,
) -> Result<(), sqlx::Error> {
    let money = |d: Decimal| bf_domain::money::normalize(d).to_string();
    let totals = serde_json::json!({
        "patient_balance": money(totals.patient_balance),
        "credit_total": money(totals.credit_total),
        "patient_count": totals.patient_count,
    });
    sqlx::query("UPDATE imports SET file_totals = $2 WHERE import_id = $1")
        .bind(import)
        .bind(&totals)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the flagged rows Save will post: those the user accepted, and
/// those flagged only because of an earlier BF claim (the policy for
/// earlier claims decides those). Returns lines named that are not flagged.
pub async fn accept(
    conn: &mut PgConnection,
    import: Uuid,
    all: bool,
    lines: &[i32],
) -> Result<Vec<i32>, sqlx::Error> {
    sqlx::query("UPDATE import_row_marks SET accepted = false WHERE import_id = $1 AND accepted")
        .bind(import)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO import_row_marks (import_id, tenant_id, line, accepted)
         SELECT b.import_id, b.tenant_id, l.line, true
           FROM import_row_blocks b, unnest(b.lines, b.statuses, b.settled) AS l(line, status, settled)
          WHERE b.import_id = $1 AND b.flagged > 0 AND l.status = 'flagged'
            AND ($2 OR l.line = ANY($3) OR l.settled)
         ON CONFLICT (import_id, line) DO UPDATE SET accepted = true",
    )
    .bind(import)
    .bind(all)
    .bind(lines)
    .execute(&mut *conn)
    .await?;
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT l FROM (SELECT unnest($2::int[]) AS l
                         EXCEPT
                        SELECT line FROM import_row_blocks b, unnest(b.lines, b.statuses) AS l(line, status)
                         WHERE b.import_id = $1 AND b.flagged > 0 AND status = 'flagged') unknown
          ORDER BY l",
    )
    .bind(import)
    .bind(lines)
    .fetch_all(conn)
    .await
}

/// What Save will post under a policy for earlier BF claims, counting
/// the rows [`accept`] marked: claims, patient and insurance totals.
pub async fn posting(
    conn: &mut PgConnection,
    import: Uuid,
    policy: &str,
) -> Result<(i64, i64, Decimal, Decimal), sqlx::Error> {
    let (claims, patients, patient, insurance): (i64, i64, Option<Decimal>, Option<Decimal>) = sqlx::query_as(
        "WITH accepted AS (
             SELECT line FROM import_row_marks WHERE import_id = $1 AND accepted
         ), r AS (
             SELECT matched_patient_id AS pid, patient_balance AS pb, COALESCE(insurance_balance, 0) AS ib,
                    prior_patient_amount IS NOT NULL AS has_prior,
                    COALESCE(prior_patient_amount, 0) AS ppb,
                    COALESCE(prior_insurance_amount, 0) AS pib
               FROM import_row_blocks b,
                    unnest(b.lines, b.statuses, b.patient_ids, b.patient_balances, b.insurance_balances,
                           b.prior_patient, b.prior_insurance)
                      AS l(line, status, matched_patient_id, patient_balance, insurance_balance,
                           prior_patient_amount, prior_insurance_amount)
              WHERE b.import_id = $1
                AND (status = 'valid' OR (status = 'flagged' AND line IN (SELECT line FROM accepted)))
         ), a AS (
             SELECT pid, CASE WHEN has_prior AND $2 = 'post_difference' THEN pb - ppb ELSE pb END AS p,
                    CASE WHEN has_prior AND $2 = 'post_difference' THEN ib - pib ELSE ib END AS i
               FROM r WHERE NOT (has_prior AND $2 = 'skip')
         )
         SELECT count(*) FILTER (WHERE p <> 0 OR i <> 0),
                count(DISTINCT pid) FILTER (WHERE p <> 0 OR i <> 0),
                sum(p) FILTER (WHERE p <> 0 OR i <> 0), sum(i) FILTER (WHERE p <> 0 OR i <> 0) FROM a",
    )
    .bind(import)
    .bind(policy)
    .fetch_one(conn)
    .await?;
    Ok((
        claims,
        patients,
        patient.unwrap_or_default(),
        insurance.unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bf_proto::claims::PriorBalanceForward;

    #[test]
    fn a_row_reads_back_with_its_cells_normalized_values_and_marks() {
        let mut sent = RowResult {
            line: 7,
            cell_columns: 1 << Column::PatientAccountNumber.index()
                | 1 << Column::InsuranceBalance.index(),
            cells: vec!["007".into(), " 0 ".into()],
            change_columns: 1 << Column::InsuranceBalance.index(),
            changes: vec!["0.00".into()],
            patient_balance: "12.5".into(),
            matched_patient_id: "P1".into(),
            prior: Some(PriorBalanceForward {
                patient_amount: "3.00".into(),
                claims: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        sent.set_status(bf_proto::imports::RowStatus::Flagged);
        let mark = Mark {
            accepted: true,
            not_posted: None,
        };
        let read = RowRecord::of(&sent, Some(&mark));
        assert_eq!(read.line, 7);
        assert_eq!(read.status, "flagged");
        assert_eq!(
            read.cells,
            serde_json::json!({"patient_account_number": "007", "insurance_balance": " 0 "})
        );
        assert_eq!(
            read.normalized,
            serde_json::json!({"patient_account_number": "007", "insurance_balance": "0.00"})
        );
        assert_eq!(
            read.patient_balance.map(|d| d.to_string()).as_deref(),
            Some("12.50"),
            "amounts read with two places"
        );
        assert_eq!(read.insurance_balance, None);
        assert_eq!(read.matched_patient_id.as_deref(), Some("P1"));
        assert_eq!(read.raw, serde_json::json!([]));
        assert_eq!(read.prior.expect("prior")["patient_amount"], "3.00");
        let status = block::status_of(&sent);
        assert!(read.accepted && postable(status, Some(&mark)));
        assert!(!postable(status, None));
    }
}
