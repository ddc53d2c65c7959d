//! Per-row results of an import.

use bf_domain::{compact, Column, Problem, RowStatus};
use bf_runtime::db;
use rust_decimal::Decimal;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::PgRecordEncoder;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgRow, PgTypeInfo};
use sqlx::{PgConnection, PgPool, Postgres, Row as _};
use uuid::Uuid;

/// A row as the recorder stores it, borrowing the event it arrived in.
/// Sent to PostgreSQL as one `import_row_in` record (migration 0015), a
/// batch as one array of them.
pub struct NewRow<'a> {
    pub line: i32,
    pub status: RowStatus,
    /// By template column ([`Column::ALL`] order); `None`: not in the file.
    pub cells: Vec<Option<&'a str>>,
    /// The normalized values that differ from their cells, by template
    /// column (bf_domain::compact); `None` when the validator sent the
    /// full map in `normalized` instead.
    pub changes: Option<Vec<Option<&'a str>>>,
    pub patient_balance: Option<Decimal>,
    pub insurance_balance: Option<Decimal>,
    pub matched_patient_id: Option<&'a str>,
    pub problems: serde_json::Value,
    /// The line's fields, or `[]` when they follow from the cells.
    pub raw: serde_json::Value,
    /// In full from a validator that sends it so, otherwise `{}`.
    pub normalized: serde_json::Value,
    pub prior: Option<serde_json::Value>,
}

/// Texts keyed by template column name, laid out by [`Column::ALL`]
/// position for storage; trailing absent columns are left off.
pub fn by_position<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<Option<&'a str>> {
    let mut out = vec![None; Column::ALL.len()];
    for (name, text) in pairs {
        if let Some(column) = Column::from_name(name) {
            out[column.index()] = Some(text);
        }
    }
    while out.last() == Some(&None) {
        out.pop();
    }
    out
}

/// The `(column, text)` pairs of an array laid out by [`by_position`].
fn positioned(values: &[Option<String>]) -> impl Iterator<Item = (Column, &str)> {
    Column::ALL
        .into_iter()
        .zip(values)
        .filter_map(|(column, text)| Some((column, text.as_deref()?)))
}

impl sqlx::Type<Postgres> for NewRow<'_> {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("import_row_in")
    }
}

impl PgHasArrayType for NewRow<'_> {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("_import_row_in")
    }
}

impl sqlx::Encode<'_, Postgres> for NewRow<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        // Field by field in the order of the type's attributes.
        let mut record = PgRecordEncoder::new(buf);
        record
            .encode(self.line)?
            .encode(self.status.as_str())?
            .encode(&self.cells)?
            .encode(&self.changes)?
            .encode(self.patient_balance)?
            .encode(self.insurance_balance)?
            .encode(self.matched_patient_id)?
            .encode(
                self.cells
                    .get(Column::PatientAccountNumber.index())
                    .copied()
                    .flatten(),
            )?
            .encode(unless_empty(&self.problems))?
            .encode(unless_empty(&self.raw))?
            .encode(unless_empty(&self.normalized))?
            .encode(&self.prior)?;
        record.finish();
        Ok(IsNull::No)
    }
}

/// A JSON value to send, or `None` for an empty array or object, which
/// the insert stores as its constant (most rows have no problems, no
/// fields of their own and no full normalized map). PostgreSQL parses
/// every jsonb it receives as text: three per row were about a third of
/// its time reading a batch.
fn unless_empty(value: &serde_json::Value) -> Option<&serde_json::Value> {
    match value {
        serde_json::Value::Array(a) if a.is_empty() => None,
        serde_json::Value::Object(o) if o.is_empty() => None,
        other => Some(other),
    }
}

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

/// A row as stored; see migrations 0012 and 0015.
#[derive(sqlx::FromRow)]
struct StoredRow {
    line: i32,
    status: String,
    cell_values: Vec<Option<String>>,
    patient_balance: Option<Decimal>,
    insurance_balance: Option<Decimal>,
    matched_patient_id: Option<String>,
    problems: serde_json::Value,
    raw: serde_json::Value,
    normalized: serde_json::Value,
    changed_values: Option<Vec<Option<String>>>,
    prior: Option<serde_json::Value>,
    accepted: bool,
    not_posted: Option<String>,
}

impl<'r> sqlx::FromRow<'r, PgRow> for RowRecord {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let s = StoredRow::from_row(row)?;
        let normalized = match &s.changed_values {
            Some(changes) => {
                let changes: Vec<(Column, String)> = positioned(changes)
                    .map(|(c, v)| (c, v.to_string()))
                    .collect();
                text_map(compact::restore_normalized(
                    positioned(&s.cell_values),
                    &changes,
                ))
            }
            None => s.normalized,
        };
        Ok(RowRecord {
            line: s.line,
            status: s.status,
            cells: text_map(positioned(&s.cell_values)),
            patient_balance: s.patient_balance,
            insurance_balance: s.insurance_balance,
            matched_patient_id: s.matched_patient_id,
            problems: s.problems,
            raw: s.raw,
            normalized,
            prior: s.prior,
            accepted: s.accepted,
            not_posted: s.not_posted,
        })
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

/// How a batch's rows go in: the batch mark already proves a batch new, so
/// its lines normally go in with a plain insert. Only when another batch
/// carried some of the same lines (a plan redone with other chunk sizes)
/// does the insert meet a line recorded before, and is then repeated
/// leaving those lines alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// None of the lines can be recorded yet: a plain insert, which fails
    /// on a line that is. `ON CONFLICT` cost PostgreSQL a second index
    /// probe and a confirmation record per row, about 40 % of the insert.
    New,
    /// Some lines may be recorded: those are left as they are.
    MaybeRecorded,
}

/// Inserts a batch of rows in one statement. Returns how many were new.
pub async fn insert(
    conn: &mut PgConnection,
    tenant: &str,
    import: Uuid,
    rows: &[NewRow<'_>],
    lines: Lines,
) -> Result<u64, sqlx::Error> {
    const INSERT: &str =
        "INSERT INTO import_rows (import_id, tenant_id, line, status, cell_values, changed_values,
                                  patient_balance, insurance_balance, matched_patient_id,
                                  account_number, problems, raw, normalized, prior)
         SELECT $1, $2, r.line, r.status, r.cell_values, r.changed_values,
                r.patient_balance, r.insurance_balance, r.matched_patient_id, r.account_number,
                COALESCE(r.problems, '[]'), COALESCE(r.raw, '[]'), COALESCE(r.normalized, '{}'),
                r.prior
           FROM UNNEST($3::import_row_in[]) AS r";
    let statement = match lines {
        Lines::New => std::borrow::Cow::Borrowed(INSERT),
        Lines::MaybeRecorded => format!("{INSERT} ON CONFLICT (import_id, line) DO NOTHING").into(),
    };
    let done = sqlx::query(&statement)
        .bind(import)
        .bind(tenant)
        .bind(rows)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Whether an insert failed because a line was recorded already
/// (see [`Lines`]).
pub fn is_recorded_line(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// Refreshes the planner's statistics of import_rows, so review pages of a
/// big import that just arrived stay index range scans.
pub async fn refresh_statistics(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT refresh_import_rows_statistics()")
        .execute(pool)
        .await?;
    Ok(())
}

/// The import's patients, in one pass over its rows: how many patients
/// its lines name (whatever their status), and the lines of each patient
/// named on more than one importable line. One grouping serves both, where
/// a `count(DISTINCT ...)` in the summary sorted every row again; both are
/// aggregated as the groups stream out, where a materialized CTE stored
/// every group and read them twice (at 10^6 rows, 0.73-0.84 s -> 0.44-0.55 s,
/// and finishing runs alone, after the last batch).
pub async fn patients(
    conn: &mut PgConnection,
    import: Uuid,
) -> Result<(i64, Vec<Vec<i32>>), sqlx::Error> {
    let (count, repeated): (i64, Vec<String>) = sqlx::query_as(
        "SELECT count(*), COALESCE(array_agg(pid) FILTER (WHERE importable > 1), '{}')
           FROM (SELECT matched_patient_id AS pid,
                        count(*) FILTER (WHERE status IN ('valid', 'flagged')) AS importable
                   FROM import_rows
                  WHERE import_id = $1 AND matched_patient_id IS NOT NULL
                  GROUP BY matched_patient_id) g",
    )
    .bind(import)
    .fetch_one(&mut *conn)
    .await?;
    if repeated.is_empty() {
        return Ok((count, Vec::new()));
    }
    let lines = sqlx::query_scalar(
        "SELECT array_agg(line ORDER BY line) FROM import_rows
          WHERE import_id = $1 AND status IN ('valid', 'flagged') AND matched_patient_id = ANY($2)
          GROUP BY matched_patient_id",
    )
    .bind(import)
    .bind(&repeated)
    .fetch_all(conn)
    .await?;
    Ok((count, lines))
}

/// Flags lines, appending to each line its own problem: one statement for
/// any number of lines, so a file where many patients repeat costs one
/// round trip at the end of its parse, not one per patient.
pub async fn flag(
    conn: &mut PgConnection,
    import: Uuid,
    flagged: &[(i32, &Problem)],
) -> Result<(), sqlx::Error> {
    let lines: Vec<i32> = flagged.iter().map(|(line, _)| *line).collect();
    let problems: Vec<serde_json::Value> = flagged
        .iter()
        .map(|(_, p)| serde_json::to_value(p).unwrap_or_default())
        .collect();
    sqlx::query(
        "UPDATE import_rows r SET status = 'flagged', problems = r.problems || jsonb_build_array(f.problem)
           FROM unnest($2::int[], $3::jsonb[]) AS f(line, problem)
          WHERE r.import_id = $1 AND r.line = f.line",
    )
    .bind(import)
    .bind(&lines)
    .bind(&problems)
    .execute(conn)
    .await?;
    Ok(())
}

/// Row counts by status, and balance totals over the valid rows; and the
/// file's own totals ([`FileTotals`]) with the count of [`patients`],
/// in the same one pass over the rows.
pub async fn summary(
    conn: &mut PgConnection,
    import: Uuid,
    patients: i64,
) -> Result<(crate::store::imports::Summary, FileTotals), sqlx::Error> {
    let row = sqlx::query(
        "SELECT count(*) AS total,
                count(*) FILTER (WHERE status = 'valid') AS valid,
                count(*) FILTER (WHERE status = 'flagged') AS flagged,
                count(*) FILTER (WHERE status = 'invalid') AS invalid,
                count(*) FILTER (WHERE status = 'skipped') AS skipped,
                sum(patient_balance) FILTER (WHERE status = 'valid') AS patient,
                sum(insurance_balance) FILTER (WHERE status = 'valid') AS insurance,
                sum(patient_balance) AS file_balance,
                sum(patient_balance) FILTER (WHERE patient_balance < 0) AS file_credits
           FROM import_rows WHERE import_id = $1",
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
        patient_balance: row
            .try_get::<Option<Decimal>, _>("patient")?
            .unwrap_or_default(),
        insurance_balance: row
            .try_get::<Option<Decimal>, _>("insurance")?
            .unwrap_or_default(),
    };
    let file = FileTotals {
        patient_balance: row
            .try_get::<Option<Decimal>, _>("file_balance")?
            .unwrap_or_default(),
        credit_total: row
            .try_get::<Option<Decimal>, _>("file_credits")?
            .unwrap_or_default(),
        patient_count: patients,
    };
    Ok((summary, file))
}

/// The columns a [`RowRecord`] is read from.
const ROW_COLUMNS: &str =
    "line, status, cell_values, patient_balance, insurance_balance, matched_patient_id,
     problems, raw, normalized, changed_values, prior, accepted, not_posted";

/// A page of a tenant's import rows, by line, optionally of one status.
pub async fn page(
    pool: &PgPool,
    tenant: &str,
    import: Uuid,
    status: Option<RowStatus>,
    after: i32,
    limit: i64,
) -> Result<Vec<RowRecord>, sqlx::Error> {
    // One statement per status, with the status as a literal, rather than
    // `($3 IS NULL OR status = $3)`: each is one ordered index range scan,
    // whatever the import's size, where the combined form let a prepared
    // statement's generic plan sort every row. The literal lets the planner
    // use the index of the statuses other than valid (migration 0016); a
    // page of valid rows reads the primary key. The text comes from the
    // closed set of RowStatus, never from the caller.
    let filter = match status {
        Some(s) => format!("status = '{}'", s.as_str()),
        None => "true".to_string(),
    };
    let sql = format!(
        "SELECT {ROW_COLUMNS}
           FROM import_rows
          WHERE tenant_id = $1 AND import_id = $2 AND {filter} AND line > $3
          ORDER BY line LIMIT $4"
    );
    let mut tx = db::tenant_tx(pool, tenant).await?;
    // The ordered range scan is the right plan whatever the statistics
    // say. Before they count an import that just arrived, the planner took
    // the import's rows for one (the tenant filter and the row-level policy
    // multiply their guesses), read every later row and sorted them: the
    // first pages of a 10^5-row import took 40-110 ms instead of 0.1 ms.
    // Without sorts to choose, it keeps to the index's order.
    sqlx::query("SET LOCAL enable_sort = off")
        .execute(&mut *tx)
        .await?;
    let found = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(import)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *tx)
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
    // One ordered range scan of import_rows_by_status per status, merged:
    // each batch costs the same at line 10 and at line 1,000,000.
    let found = sqlx::query_as(&format!(
        "SELECT * FROM (
             (SELECT {ROW_COLUMNS}
                FROM import_rows
               WHERE tenant_id = $1 AND import_id = $2 AND status = 'valid' AND line > $3
               ORDER BY line LIMIT $4)
             UNION ALL
             (SELECT {ROW_COLUMNS}
                FROM import_rows
               WHERE tenant_id = $1 AND import_id = $2 AND status = 'flagged' AND accepted
                 AND line > $3
               ORDER BY line LIMIT $4)
         ) postable ORDER BY line LIMIT $4"
    ))
    .bind(tenant)
    .bind(import)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
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
    for table in ["import_rows", "import_batches"] {
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
    sqlx::query("UPDATE import_rows SET accepted = false WHERE import_id = $1 AND accepted")
        .bind(import)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE import_rows SET accepted = true
          WHERE import_id = $1 AND status = 'flagged'
            AND ($2 OR line = ANY($3)
                 OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(problems) p
                                 WHERE p->>'code' <> 'existing_balance_forward'))",
    )
    .bind(import)
    .bind(all)
    .bind(lines)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar(
        "SELECT l FROM unnest($2::int[]) AS l
          WHERE NOT EXISTS (SELECT 1 FROM import_rows r
                             WHERE r.import_id = $1 AND r.line = l AND r.status = 'flagged')",
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
        "WITH r AS (
             SELECT matched_patient_id AS pid, patient_balance AS pb, COALESCE(insurance_balance, 0) AS ib,
                    prior IS NOT NULL AS has_prior,
                    COALESCE((prior->>'patient_amount')::numeric, 0) AS ppb,
                    COALESCE((prior->>'insurance_amount')::numeric, 0) AS pib
               FROM import_rows
              WHERE import_id = $1 AND (status = 'valid' OR (status = 'flagged' AND accepted))
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

/// Rows found by a line number or an account number, by line; failing
/// those, by the patient id the rows matched. The last has no index of its
/// own (migration 0017) and reads the import's rows, so it is only tried
/// when the first two find nothing.
pub async fn search(
    pool: &PgPool,
    tenant: &str,
    import: Uuid,
    query: &str,
    limit: i64,
) -> Result<Vec<RowRecord>, sqlx::Error> {
    let query = query.trim();
    let line: Option<i32> = query.parse().ok();
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let mut found: Vec<RowRecord> = sqlx::query_as(&format!(
        "SELECT {ROW_COLUMNS}
           FROM import_rows
          WHERE tenant_id = $1 AND import_id = $2 AND (line = $3 OR account_number = $4)
          ORDER BY line LIMIT $5"
    ))
    .bind(tenant)
    .bind(import)
    .bind(line)
    .bind(query)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if found.is_empty() {
        found = sqlx::query_as(&format!(
            "SELECT {ROW_COLUMNS}
               FROM import_rows
              WHERE tenant_id = $1 AND import_id = $2 AND matched_patient_id = $3
              ORDER BY line LIMIT $4"
        ))
        .bind(tenant)
        .bind(import)
        .bind(query)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// Up to `limit` patients who got a BF claim from this import, in the
/// order of their first posted line, for links to their claim histories.
/// Reads posted rows in line order (the primary key) until it has them.
pub async fn posted_patients(
    pool: &PgPool,
    tenant: &str,
    import: Uuid,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let found = sqlx::query_scalar(
        "SELECT pid FROM (
             SELECT DISTINCT ON (pid) pid, line FROM (
                 SELECT matched_patient_id AS pid, line FROM import_rows
                  WHERE tenant_id = $1 AND import_id = $2 AND matched_patient_id IS NOT NULL
                    AND (status = 'valid' OR (status = 'flagged' AND accepted))
                    AND not_posted IS NULL
                  ORDER BY line LIMIT $3 * 2) posted
              ORDER BY pid, line) firsts
          ORDER BY line LIMIT $3",
    )
    .bind(tenant)
    .bind(import)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_laid_out_by_column_read_back_by_name_in_template_order() {
        let stored = by_position([
            ("insurance_balance", "0"),
            ("patient_account_number", "007"),
            ("not_a_column", "x"),
        ]);
        // Trailing absent columns are left off; the unknown name is dropped.
        assert_eq!(stored.len(), Column::InsuranceBalance.index() + 1);
        let owned: Vec<Option<String>> = stored.iter().map(|t| t.map(str::to_string)).collect();
        let read: Vec<(Column, &str)> = positioned(&owned).collect();
        assert_eq!(
            read,
            vec![
                (Column::PatientAccountNumber, "007"),
                (Column::InsuranceBalance, "0")
            ]
        );
        assert_eq!(
            text_map(read),
            serde_json::json!({"patient_account_number": "007", "insurance_balance": "0"})
        );
    }
}
