//! The import commands: upload, inspect, review rows, approve and void.

use std::io::IsTerminal;
use std::path::Path;

use reqwest::Method;
use serde_json::Value;

use crate::api::{Import, ImportList, RowsPage, FAILED};
use crate::client::{decode, Client};
use crate::decisions::{self, Decisions};
use crate::error::CliError;
use crate::read_options::Upload;
use crate::render::{self, emit};
use crate::wait::{self, Until};
use crate::{mapping, upload, Outcome};

/// The body of `void`: an empty JSON object, so a gateway that parses
/// JSON there (for optional fields) gets a valid document.
fn empty() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Print an import (summary or raw JSON) and decide the exit status: a
/// `failed` import is reported on stderr and exits 3 so scripts can tell
/// "the file is bad" from "bfctl could not run".
fn finish(import: &Import, raw: &str, json: bool) -> Result<Outcome, CliError> {
    if json {
        emit(raw.trim_end())?;
    } else {
        emit(&render::summary(import))?;
    }
    if import.status == FAILED {
        let reason = import.failure.as_deref().unwrap_or("no reason given");
        eprintln!("error: import {} failed: {reason}", import.id);
        return Ok(Outcome::ImportFailed);
    }
    Ok(Outcome::Done)
}

/// `bfctl import FILE`: without `--wait` prints only the id (or the 202
/// body with `--json`) so `ID=$(bfctl import f.csv)` works. The options
/// are checked before the file is opened, so a bad `--map` costs no upload.
pub async fn import(
    client: &Client,
    file: &Path,
    options: &Upload,
    wait: bool,
    json: bool,
) -> Result<Outcome, CliError> {
    let query = options.query()?;
    let (accepted, raw) = upload::balances(client, file, &query).await?;
    if !wait {
        emit(if json { raw.trim_end() } else { &accepted.id })?;
        return Ok(Outcome::Done);
    }
    eprintln!("uploaded as {}", accepted.id);
    let (import, raw) = wait::until(client, &accepted.id, Until::Reviewable).await?;
    finish(&import, &raw, json)
}

/// `bfctl status ID`; with `--mapping`, only how each header was read,
/// one per line, for checking a new export's columns.
pub async fn status(
    client: &Client,
    id: &str,
    show_mapping: bool,
    json: bool,
) -> Result<Outcome, CliError> {
    let reply = client.get(client.url(&["v1", "imports", id])?).await?;
    if json {
        emit(reply.body.trim_end())?;
    } else {
        let import: Import = decode(&reply.body)?;
        if show_mapping {
            let entries = mapping::read_as(import.header_mapping.as_ref());
            emit(&mapping::table(&entries))?;
        } else {
            emit(&render::summary(&import))?;
        }
    }
    Ok(Outcome::Done)
}

/// `bfctl list`.
pub async fn list(client: &Client, json: bool) -> Result<Outcome, CliError> {
    let reply = client.get(client.url(&["v1", "imports"])?).await?;
    if json {
        emit(reply.body.trim_end())?;
    } else {
        let list: ImportList = decode(&reply.body)?;
        emit(&render::import_table(&list.imports))?;
    }
    Ok(Outcome::Done)
}

/// What `bfctl rows` asks for.
pub struct RowsQuery<'a> {
    /// Import id.
    pub id: &'a str,
    /// Row status to list; every row when `None`.
    pub status: Option<&'a str>,
    /// Page size; the gateway's default when `None`.
    pub limit: Option<u32>,
    /// Start after this line.
    pub after: Option<u64>,
    /// Follow `next_after` to the end.
    pub all: bool,
    /// Print JSON instead of lines.
    pub json: bool,
}

/// `bfctl rows`. With `--all` the pages are fetched in turn; `--json` then
/// prints one document of the same shape with every row and
/// `next_after: null`, so consumers need not care whether `--all` was used.
pub async fn rows(client: &Client, q: RowsQuery<'_>) -> Result<Outcome, CliError> {
    let base = client.url(&["v1", "imports", q.id, "rows"])?;
    let mut after = q.after;
    let mut raw_rows: Vec<Value> = Vec::new();
    let mut last_raw = String::new();
    let mut printed_any = false;
    loop {
        let mut url = base.clone();
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(status) = q.status {
                pairs.append_pair("status", status);
            }
            if let Some(limit) = q.limit {
                pairs.append_pair("limit", &limit.to_string());
            }
            if let Some(after) = after {
                pairs.append_pair("after", &after.to_string());
            }
        }
        let reply = client.get(url).await?;
        let page: RowsPage = decode(&reply.body)?;
        if q.json {
            if q.all {
                let doc: Value = decode(&reply.body)?;
                if let Some(Value::Array(rows)) = doc.get("rows") {
                    raw_rows.extend(rows.iter().cloned());
                }
            } else {
                last_raw = reply.body;
            }
        } else if !page.rows.is_empty() {
            // Printed page by page so a long --all shows output early.
            emit(render::row_lines(&page.rows).trim_end())?;
            printed_any = true;
        }
        match page.next_after {
            Some(next) if q.all => {
                if Some(next) == after {
                    // A gateway that repeats a cursor would loop forever.
                    return Err(CliError::Decode(format!(
                        "rows paging did not advance past line {next}"
                    )));
                }
                after = Some(next);
            }
            Some(next) => {
                if !q.json {
                    eprintln!("more rows follow: use --after {next}, or --all");
                }
                break;
            }
            None => break,
        }
    }
    if q.json {
        if q.all {
            let doc = serde_json::json!({ "rows": raw_rows, "next_after": null });
            emit(&doc.to_string())?;
        } else {
            emit(last_raw.trim_end())?;
        }
    } else if !printed_any {
        match q.status {
            Some(status) => emit(&format!("No {status} rows."))?,
            None => emit("No rows.")?,
        }
    }
    Ok(Outcome::Done)
}

/// `bfctl approve ID`: the gateway answers 202 at once and creates claims
/// in the background, so `--wait` follows it to the end. On a terminal the
/// posting preview for the chosen decisions is printed first, so the
/// person sees what they saved; scripts (stdout not a terminal) get only
/// the usual output and one request fewer. There is no prompt: `bfctl
/// preview` is the way to look before leaping.
pub async fn approve(
    client: &Client,
    id: &str,
    decisions: &Decisions,
    wait: bool,
    json: bool,
) -> Result<Outcome, CliError> {
    if !json && std::io::stdout().is_terminal() {
        let (posting, _) = decisions::fetch(client, id, decisions).await?;
        emit(&decisions::posting_line(&posting.after))?;
    }
    let url = client.url(&["v1", "imports", id, "approve"])?;
    let reply = client
        .send_json(Method::POST, url, Some(&decisions.body()))
        .await?;
    let import: Import = decode(&reply.body)?;
    if !wait {
        return finish(&import, &reply.body, json);
    }
    if Until::Settled.reached(&import.status) {
        return finish(&import, &reply.body, json);
    }
    let (import, raw) = wait::until(client, id, Until::Settled).await?;
    finish(&import, &raw, json)
}

/// `bfctl void ID`.
pub async fn void(client: &Client, id: &str, json: bool) -> Result<Outcome, CliError> {
    let url = client.url(&["v1", "imports", id, "void"])?;
    let reply = client.send_json(Method::POST, url, Some(&empty())).await?;
    let import: Import = decode(&reply.body)?;
    finish(&import, &reply.body, json)
}
