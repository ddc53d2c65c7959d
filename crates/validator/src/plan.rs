//! The first delivery of a big text file's parse job: read the file once
//! without judging it, then hand its pieces to every validator as chunk
//! jobs on the parse queue, so one file is judged and matched by several
//! processes at once.
//!
//! Nothing is published for a file the parse would refuse (the import
//! fails with the reason, as before). For a file that splits, this delivery
//! publishes `Started`, one chunk job per piece and `Completed` with the
//! file's batch and row counts: the batches' sequence numbers follow from
//! the pieces (a piece is a whole number of batches), so the recorder
//! finishes the import when the last of them arrives, in any order.
//! Every message has a fixed id, and a redelivered plan publishes the same
//! ones again; the recorder keeps one copy of each batch.

use crate::events::Events;
use crate::source::{failure, Chunk};
use bf_domain::options::ParseOptions;
use bf_domain::split::{self, Cutting, Plan, Planned};
use bf_messaging::topology::PARSE;
use bf_messaging::BrokerError;
use bf_proto::imports::{import_event::Event, ParseChunk, ParseCompleted, ParseJob};
use object_store::ObjectStore;
use prost::Message as _;
use std::sync::Arc;

/// What planning a file found.
pub enum Planning {
    /// Text cut into pieces (one piece: read it whole, as before).
    Split(Plan),
    /// A workbook or UTF-16 text: read whole.
    Whole,
    /// The file cannot be imported; the reason is for the user.
    Refused(String),
    /// Reading failed for a reason outside the file; try again later.
    Unreadable(String),
}

/// Reads `key` once and cuts it into pieces as `cutting` says.
pub async fn plan(
    objects: Arc<dyn ObjectStore>,
    key: &str,
    options: ParseOptions,
    cutting: Cutting,
) -> Planning {
    let (first, body) = match crate::source::fetch(&objects, key).await {
        Ok(fetched) => fetched,
        Err(Chunk::Unreadable(reason)) => return Planning::Unreadable(reason),
        Err(_) => return Planning::Unreadable("object store unavailable".into()),
    };
    if crate::workbook::is_workbook(&first) {
        return Planning::Whole;
    }
    let input = crate::source::text_input(first, body);
    let planned = tokio::task::spawn_blocking(move || split::plan(input, &options, cutting)).await;
    match planned {
        Ok(Ok(Planned::Split(plan))) => Planning::Split(plan),
        Ok(Ok(Planned::Whole)) => Planning::Whole,
        Ok(Err(e)) => match failure(e) {
            Chunk::Invalid(reason) => Planning::Refused(reason),
            Chunk::Unreadable(reason) => Planning::Unreadable(reason),
            _ => Planning::Unreadable("planning failed".into()),
        },
        Err(_) => Planning::Unreadable("the planning thread stopped".into()),
    }
}

/// The chunk jobs of a plan, in file order, with their message ids.
pub fn chunk_jobs(job: &ParseJob, plan: &Plan, batch_rows: u32) -> Vec<(String, ParseJob)> {
    let encoding = plan.pinned.encoding.label().to_string();
    plan.pieces
        .iter()
        .enumerate()
        .map(|(k, piece)| {
            let chunk = ParseChunk {
                header_end: plan.header_end,
                start: piece.start,
                end: piece.end,
                first_line: piece.first_line,
                line_shift: piece.line_shift,
                first_batch: u32::try_from(piece.first_row / u64::from(batch_rows))
                    .unwrap_or(u32::MAX),
                batch_rows,
                rows: u32::try_from(piece.rows).unwrap_or(u32::MAX),
                encoding: encoding.clone(),
                delimiter: u32::from(plan.pinned.delimiter),
            };
            let id = format!("{}:parse:chunk:{k}", job.import_id);
            let next = ParseJob {
                resume_from_batch: 0,
                chunk: Some(chunk),
                ..job.clone()
            };
            (id, next)
        })
        .collect()
}

/// What the whole file comes to: every batch of every piece.
pub fn completed(plan: &Plan, batch_rows: u32) -> ParseCompleted {
    let batches: u64 = plan
        .pieces
        .iter()
        .map(|p| p.rows.div_ceil(u64::from(batch_rows)))
        .sum();
    ParseCompleted {
        batches: u32::try_from(batches).unwrap_or(u32::MAX),
        rows: u32::try_from(plan.rows).unwrap_or(u32::MAX),
    }
}

/// Publishes the plan: `Started`, the chunk jobs, then `Completed`, each
/// with confirms and a fixed id.
pub async fn publish(
    events: &Events<'_>,
    job: &ParseJob,
    plan: &Plan,
    batch_rows: u32,
) -> Result<(), BrokerError> {
    let started = crate::job::started(plan.mapping.clone(), &plan.detected);
    events.send(Event::Started(started), "started").await?;
    let trace = bf_runtime::trace_context::current();
    for (id, chunk) in chunk_jobs(job, plan, batch_rows) {
        events
            .publisher
            .publish(PARSE, "ParseJob", &id, &chunk.encode_to_vec(), &trace)
            .await?;
    }
    let done = completed(plan, batch_rows);
    events.send(Event::Completed(done), "completed").await
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference\n";

    fn file(rows: usize) -> String {
        let mut text = HEADER.to_string();
        for n in 0..rows {
            text.push_str(&format!("{n},,Doe,\"Jane\nMary\",1980-01-02,1.00,,,\r\n"));
        }
        text
    }

    fn planned(text: &str, per_piece: u64) -> Plan {
        match split::plan(
            text.as_bytes(),
            &ParseOptions::default(),
            Cutting::every(per_piece),
        )
        .unwrap()
        {
            Planned::Split(plan) => plan,
            Planned::Whole => panic!("not split"),
        }
    }

    #[test]
    fn chunk_jobs_number_their_batches_one_after_another_across_the_file() {
        let plan = planned(&file(1050), 400);
        let job = ParseJob {
            import_id: "imp".into(),
            ..ParseJob::default()
        };
        let jobs = chunk_jobs(&job, &plan, 100);
        let chunks: Vec<&ParseChunk> = jobs.iter().filter_map(|(_, j)| j.chunk.as_ref()).collect();
        let ids: Vec<&str> = jobs.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "imp:parse:chunk:0",
                "imp:parse:chunk:1",
                "imp:parse:chunk:2"
            ]
        );
        let firsts: Vec<u32> = chunks.iter().map(|c| c.first_batch).collect();
        assert_eq!(firsts, [0, 4, 8]);
        let rows: Vec<u32> = chunks.iter().map(|c| c.rows).collect();
        assert_eq!(rows, [400, 400, 250]);
        // Each row spans two lines; the header is line 1.
        let lines: Vec<u32> = chunks.iter().map(|c| c.first_line).collect();
        assert_eq!(lines, [2, 802, 1602]);
        assert!(chunks
            .iter()
            .all(|c| c.encoding == "UTF-8" && c.delimiter == u32::from(b',')));
        assert_eq!(
            completed(&plan, 100),
            ParseCompleted {
                batches: 11,
                rows: 1050
            }
        );
    }

    #[test]
    fn the_same_file_plans_the_same_messages_every_time() {
        let text = file(30);
        let job = ParseJob::default();
        assert_eq!(
            chunk_jobs(&job, &planned(&text, 10), 5),
            chunk_jobs(&job, &planned(&text, 10), 5)
        );
    }
}

#[cfg(test)]
mod reading {
    use super::*;
    use crate::source::{self, Chunk};
    use object_store::memory::InMemory;
    use object_store::PutPayload;

    const HEADER: &str = "patient_account_number,patient_id,last_name,first_name,date_of_birth,patient_balance,insurance_balance,balance_as_of,reference\r\n";

    /// Every row's line and each batch's progress, as the validator reads them.
    async fn read(mut rx: tokio::sync::mpsc::Receiver<Chunk>) -> (Vec<u32>, Vec<u64>) {
        let (mut lines, mut progress) = (Vec::new(), Vec::new());
        while let Some(chunk) = rx.recv().await {
            match chunk {
                Chunk::Rows { rows, bytes_read } => {
                    lines.extend(rows.iter().map(|r| r.line()));
                    progress.push(bytes_read);
                }
                Chunk::End => return (lines, progress),
                Chunk::Header { .. } => {}
                Chunk::Invalid(r) | Chunk::Unreadable(r) => panic!("{r}"),
            }
        }
        panic!("no end")
    }

    #[tokio::test]
    async fn chunk_jobs_read_ranges_of_the_stored_file_with_its_line_numbers_and_offsets() {
        let mut text = HEADER.to_string();
        for n in 0..95 {
            if n % 7 == 3 {
                text.push_str(&format!("{n},,\"Doe\r\nJr\",Al,1980-01-02,1.00,,,\r\n\r\n"));
            } else {
                text.push_str(&format!("{n},,Doe,Al,1980-01-02,1.00,,,\r\n"));
            }
        }
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        objects
            .put(
                &object_store::path::Path::from("f.csv"),
                PutPayload::from(text.clone().into_bytes()),
            )
            .await
            .unwrap();
        let options = ParseOptions::default();
        let Planning::Split(plan) = plan(
            Arc::clone(&objects),
            "f.csv",
            options.clone(),
            Cutting::every(20),
        )
        .await
        else {
            panic!("not split");
        };
        let (whole, _) =
            read(source::open(Arc::clone(&objects), "f.csv", 10, options.clone()).await).await;
        let mut pieced = Vec::new();
        for (_, job) in chunk_jobs(&ParseJob::default(), &plan, 10) {
            let chunk = job.chunk.unwrap();
            let rx =
                source::open_chunk(Arc::clone(&objects), "f.csv", &chunk, options.clone()).await;
            let (lines, progress) = read(rx).await;
            assert_eq!(lines.len() as u32, chunk.rows);
            assert_eq!(lines.first(), Some(&chunk.first_line));
            // Progress is the file's offset, within the chunk's range, and
            // reaches its end.
            assert!(progress
                .iter()
                .all(|p| (chunk.start..=chunk.end).contains(p)));
            assert_eq!(progress.last(), Some(&chunk.end));
            pieced.extend(lines);
        }
        assert_eq!(pieced, whole);
        assert_eq!(plan.pieces.last().map(|p| p.end), Some(text.len() as u64));
    }
}
