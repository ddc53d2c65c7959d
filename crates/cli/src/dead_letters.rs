//! `bfctl dead-letters`: the work the broker gave up on, and putting it
//! back once the cause is fixed (role `ops`). Ids, queues, counts and
//! reasons only; no patient data reaches the terminal.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::{decode, Client};
use crate::error::CliError;
use crate::render::emit;
use crate::table::Table;
use crate::Outcome;

/// One queue's parked dead letters of one import, as the gateway lists them.
#[derive(Debug, Deserialize)]
pub struct Group {
    pub queue: String,
    pub tenant_id: Option<String>,
    pub import_id: Option<String>,
    pub count: i64,
    pub death: String,
    pub reason: Option<String>,
}

#[derive(Deserialize)]
struct Listing {
    dead_letters: Vec<Group>,
}

#[derive(Deserialize)]
struct Requeued {
    requeued: usize,
    imports: Vec<String>,
}

/// The `dead-letters` table.
pub fn table(groups: &[Group]) -> String {
    if groups.is_empty() {
        return "No dead letters.\n".to_owned();
    }
    let mut t = Table::new(&["QUEUE", "TENANT", "IMPORT", "COUNT", "DEATH", "REASON"]);
    for g in groups {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        t.row(vec![
            g.queue.clone(),
            or_dash(&g.tenant_id),
            or_dash(&g.import_id),
            g.count.to_string(),
            g.death.clone(),
            or_dash(&g.reason),
        ]);
    }
    t.render()
}

/// `GET /v1/ops/dead-letters`.
pub async fn list(client: &Client, json: bool) -> Result<Outcome, CliError> {
    let reply = client
        .get(client.url(&["v1", "ops", "dead-letters"])?)
        .await?;
    if json {
        emit(reply.body.trim_end())?;
    } else {
        let listing: Listing = decode(&reply.body)?;
        emit(&table(&listing.dead_letters))?;
    }
    Ok(Outcome::Done)
}

/// `POST /v1/ops/dead-letters/requeue`: one import's dead letters, or all.
pub async fn requeue(
    client: &Client,
    import: Option<&str>,
    all: bool,
    json: bool,
) -> Result<Outcome, CliError> {
    let body = match (import, all) {
        (Some(id), false) => json!({ "import_id": id }),
        (None, true) => json!({ "all": true }),
        _ => {
            return Err(CliError::Input(
                "name one import (--import ID) or ask for all (--all)".to_owned(),
            ))
        }
    };
    let url = client.url(&["v1", "ops", "dead-letters", "requeue"])?;
    let reply = client.send_json(Method::POST, url, Some(&body)).await?;
    if json {
        emit(reply.body.trim_end())?;
    } else {
        let done: Requeued = decode(&reply.body)?;
        let mut text = format!("Requeued {} dead letters", done.requeued);
        if !done.imports.is_empty() {
            text.push_str(&format!("; imports resumed: {}", done.imports.join(", ")));
        }
        emit(&text)?;
    }
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_shows_queue_import_count_and_reason() {
        let listing: Listing = serde_json::from_str(
            r#"{"dead_letters":[{"queue":"imports.parse","tenant_id":"t1",
                "import_id":"0191","count":1,"death":"rejected","reason":"stopped",
                "first_at":"2026-01-01T00:00:00Z","last_at":"2026-01-01T00:00:00Z"}]}"#,
        )
        .unwrap();
        let text = table(&listing.dead_letters);
        assert!(text.starts_with("QUEUE"));
        assert!(text.contains("imports.parse  t1      0191    1      rejected  stopped"));
        assert_eq!(table(&[]), "No dead letters.\n");
    }
}
