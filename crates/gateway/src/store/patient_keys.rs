//! The import's patients, counted at the end of the parse from a 64-bit
//! key per line (migration 0019) instead of by grouping their ids in
//! PostgreSQL: a hash aggregate of 10^6 ids took PostgreSQL 0.6-0.8 s on
//! one core while nothing else could run, the last step before review.
//! Sorting the keys here takes a few tens of milliseconds.
//!
//! A key is only a hash, so it decides nothing alone: a key seen on one
//! line is one patient, and the lines of every key seen more than once
//! are grouped by their patient ids, exactly, in PostgreSQL. Two patients
//! whose ids share a key are told apart there, and one patient named on
//! several lines is found there.

use futures::TryStreamExt as _;
use sqlx::PgConnection;
use std::hash::Hasher as _;
use uuid::Uuid;

/// A matched patient's key: FNV-1a (64 bits) of the id's UTF-8 bytes.
/// Keys are stored, so the function is fixed by definition (not a
/// std hasher, which may change between releases): blocks recorded by
/// different gateway builds must agree.
pub fn key_of(patient_id: &str) -> i64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(patient_id.as_bytes());
    // The key's 64 bits as PostgreSQL's signed bigint.
    hasher.finish() as i64
}

/// The most keys held at once (8 MB): a bigger import is counted in as
/// many passes over its blocks as it needs, each taking the keys of one
/// residue, so the gateway's memory does not grow with the file.
const KEYS_PER_PASS: u64 = 1 << 20;

/// What sorting one pass's keys found.
#[derive(Debug, Default, PartialEq)]
pub struct Tally {
    /// Different keys.
    pub distinct: i64,
    /// The keys seen on more than one line, ascending.
    pub shared: Vec<i64>,
}

impl Tally {
    /// Tallies `keys`, sorting them in place.
    pub fn of(keys: &mut [i64]) -> Tally {
        keys.sort_unstable();
        let mut tally = Tally::default();
        for run in keys.chunk_by(|a, b| a == b) {
            tally.distinct += 1;
            if run.len() > 1 {
                tally.shared.push(run[0]);
            }
        }
        tally
    }

    fn add(&mut self, other: Tally) {
        self.distinct += other.distinct;
        self.shared.extend(other.shared);
    }
}

/// How many patients the import's lines name (whatever their status),
/// and the lines of each patient named on more than one importable line,
/// each ascending.
pub async fn patients(
    conn: &mut PgConnection,
    import: Uuid,
) -> Result<(i64, Vec<Vec<i32>>), sqlx::Error> {
    fill_missing(conn, import).await?;
    // The blocks' own counts: no by-line array is read to size the passes.
    let lines: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(valid + flagged + invalid + skipped), 0)::bigint
           FROM import_row_blocks WHERE import_id = $1",
    )
    .bind(import)
    .fetch_one(&mut *conn)
    .await?;
    let passes = (lines.max(0) as u64).div_ceil(KEYS_PER_PASS).max(1);
    let mut tally = Tally::default();
    for residue in 0..passes {
        let keys = keys_of_residue(conn, import, passes, residue).await?;
        tally.add(keys);
    }
    if tally.shared.is_empty() {
        return Ok((tally.distinct, Vec::new()));
    }
    let groups = shared_by_patient(conn, import, &tally.shared).await?;
    let count = tally.distinct - tally.shared.len() as i64 + groups.len() as i64;
    let repeated = groups
        .into_iter()
        .flatten()
        .filter(|lines| lines.len() > 1)
        .collect();
    Ok((count, repeated))
}

/// One pass: the import's keys whose value is `residue` modulo `passes`,
/// read a block at a time.
async fn keys_of_residue(
    conn: &mut PgConnection,
    import: Uuid,
    passes: u64,
    residue: u64,
) -> Result<Tally, sqlx::Error> {
    let mut keys: Vec<i64> = Vec::new();
    // Every block has its keys (fill_missing ran).
    let mut blocks = sqlx::query_scalar::<_, Vec<Option<i64>>>(
        "SELECT patient_keys FROM import_row_blocks WHERE import_id = $1",
    )
    .bind(import)
    .fetch(&mut *conn);
    while let Some(block) = blocks.try_next().await? {
        keys.extend(
            block
                .into_iter()
                .flatten()
                .filter(|k| (*k as u64) % passes == residue),
        );
    }
    Ok(Tally::of(&mut keys))
}

/// For the lines whose key is one of `shared`, one entry per patient:
/// its importable lines, ascending (`None`: it has none).
async fn shared_by_patient(
    conn: &mut PgConnection,
    import: Uuid,
    shared: &[i64],
) -> Result<Vec<Option<Vec<i32>>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT array_agg(line ORDER BY line) FILTER (WHERE status IN ('valid', 'flagged'))
           FROM import_row_blocks b,
                unnest(b.patient_keys, b.patient_ids, b.lines, b.statuses) AS l(key, pid, line, status)
          WHERE b.import_id = $1 AND b.patient_keys && $2 AND key = ANY($2)
          GROUP BY pid",
    )
    .bind(import)
    .bind(shared)
    .fetch_all(conn)
    .await
}

/// Gives the blocks recorded before migration 0019 (an import parsed
/// across the upgrade) their keys, a block at a time.
async fn fill_missing(conn: &mut PgConnection, import: Uuid) -> Result<(), sqlx::Error> {
    let missing: Vec<i32> = sqlx::query_scalar(
        "SELECT first_line FROM import_row_blocks
          WHERE import_id = $1 AND patient_keys IS NULL ORDER BY first_line",
    )
    .bind(import)
    .fetch_all(&mut *conn)
    .await?;
    for first_line in missing {
        let ids: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT patient_ids FROM import_row_blocks WHERE import_id = $1 AND first_line = $2",
        )
        .bind(import)
        .bind(first_line)
        .fetch_one(&mut *conn)
        .await?;
        let keys: Vec<Option<i64>> = ids.iter().map(|id| id.as_deref().map(key_of)).collect();
        sqlx::query(
            "UPDATE import_row_blocks SET patient_keys = $3 WHERE import_id = $1 AND first_line = $2",
        )
        .bind(import)
        .bind(first_line)
        .bind(&keys)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_fnv_1a_of_the_ids_bytes() {
        // The published FNV-1a 64-bit test vectors.
        assert_eq!(key_of("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(key_of("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(key_of("foobar") as u64, 0x8594_4171_f739_67e8);
        assert_ne!(key_of("P-00001"), key_of("P-00010"));
    }

    #[test]
    fn a_tally_counts_different_keys_and_names_the_repeated_ones() {
        let mut keys = vec![9, -3, 7, 9, 9, 1, -3];
        assert_eq!(
            Tally::of(&mut keys),
            Tally {
                distinct: 4,
                shared: vec![-3, 9]
            }
        );
        assert_eq!(Tally::of(&mut []), Tally::default());
    }
}
