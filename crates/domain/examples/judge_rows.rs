//! Times what the validator does to every row before matching, on a file
//! of the bench's shape, with no services: reading and mapping the cells,
//! judging the row, and working out which normalized values must travel
//! (bf_domain::compact). Both passes run in turn in one process, so the
//! machine's drift falls on both alike.
//!
//! `cargo run --release -p bf-domain --example judge_rows -- FILE [ROUNDS]`
//! (FILE as `deploy/local/generate` writes it).

use bf_domain::compact;
use bf_domain::options::ParseOptions;
use bf_domain::reader::ImportReader;
use bf_domain::row::Row;
use std::time::{Duration, Instant};

/// Errors end the example with their message.
type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: judge_rows FILE [ROUNDS]")?;
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let text = std::fs::read(&path)?;
    let options = ParseOptions::default();
    let (mut read, mut compared) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        read.push(pass(&text, &options, |_| 0)?);
        compared.push(pass(&text, &options, |row| {
            compact::row_changes(row).len()
        })?);
    }
    report("read and judge only", &read);
    report("+ the changes to send", &compared);
    Ok(())
}

/// Reads and judges every row, applying `changes` to each; the time taken
/// and the rows read.
fn pass(
    text: &[u8],
    options: &ParseOptions,
    changes: impl Fn(&Row) -> usize,
) -> Result<(Duration, usize), Failure> {
    let started = Instant::now();
    let mut reader = ImportReader::csv(text)?;
    let (mut rows, mut changed) = (0, 0);
    while let Some(raw) = reader.next_row()? {
        let row = Row::validate(raw, options);
        changed += changes(&row);
        rows += 1;
    }
    std::hint::black_box(changed);
    Ok((started.elapsed(), rows))
}

/// Prints the best of the rounds, per row.
fn report(what: &str, runs: &[(Duration, usize)]) {
    let (best, rows) = runs.iter().min().copied().unwrap_or_default();
    let per_row = best.as_nanos() as f64 / rows.max(1) as f64;
    println!(
        "{what:<36} {:>8.3} s for {rows} rows, {per_row:>6.0} ns a row (best of {})",
        best.as_secs_f64(),
        runs.len()
    );
}
