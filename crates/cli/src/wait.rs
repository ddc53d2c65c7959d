//! `--wait`: poll an import until it reaches a status where it will sit
//! still, showing the gateway's progress on the way.

use std::time::Duration;

use crate::api::{Import, REVIEWABLE, SETTLED};
use crate::client::{decode, Client};
use crate::error::CliError;
use crate::progress;

/// How often to ask for the import's status.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// Consecutive transient failures tolerated (about 30 s of a gateway
/// restart) before giving up on a long wait.
const MAX_TRANSIENT: u32 = 60;

/// Which statuses end the wait.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// After upload: stop once the file is validated (or failed/voided).
    Reviewable,
    /// After approve: stop once claims are created (or failed/voided).
    Settled,
}

impl Until {
    /// Whether `status` ends the wait.
    pub fn reached(self, status: &str) -> bool {
        match self {
            Until::Reviewable => REVIEWABLE.contains(&status),
            Until::Settled => SETTLED.contains(&status),
        }
    }
}

/// Poll `GET /v1/imports/{id}` until `until` is reached; returns the final
/// import and its raw body (for `--json`).
pub async fn until(client: &Client, id: &str, until: Until) -> Result<(Import, String), CliError> {
    let url = client.url(&["v1", "imports", id])?;
    let pb = progress::processing();
    pb.set_message("waiting");
    let mut ticker = tokio::time::interval(POLL_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut transient = 0;
    loop {
        ticker.tick().await;
        let reply = match client.get(url.clone()).await {
            Ok(r) => r,
            Err(e) if e.is_transient() && transient < MAX_TRANSIENT => {
                transient += 1;
                pb.set_message("gateway unreachable, retrying");
                continue;
            }
            Err(e) => {
                pb.finish_and_clear();
                return Err(e);
            }
        };
        transient = 0;
        let import: Import = match decode(&reply.body) {
            Ok(i) => i,
            Err(e) => {
                pb.finish_and_clear();
                return Err(e);
            }
        };
        pb.set_message(import.status.clone());
        if let Some(p) = import.progress {
            progress::set_fraction(&pb, p);
        }
        if until.reached(&import.status) {
            pb.finish_and_clear();
            return Ok((import, reply.body));
        }
    }
}
