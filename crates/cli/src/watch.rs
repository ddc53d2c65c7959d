//! `bfctl watch`: the operators' view of running and recently finished
//! imports across tenants (`GET /v1/ops/imports`, role `ops`), redrawn in
//! place on a terminal until Ctrl-C, or printed once for scripts.
//!
//! Rendering ([`snapshot`], [`fit`]) is pure so it can be tested; [`run`]
//! only fetches, times and draws.

use std::io::{IsTerminal, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Url;

use crate::api::{OpsImports, RUNNING};
use crate::client::{decode, Client};
use crate::error::CliError;
use crate::render::{emit, money};
use crate::table::Table;
use crate::Outcome;

/// Shown where the gateway sent `null` or nothing.
const NONE: &str = "-";
/// Characters inside the progress bar's brackets.
const BAR_WIDTH: usize = 20;
/// Characters of `last_error` shown before it is cut off.
const ERROR_WIDTH: usize = 60;
/// Characters of the import id shown.
const SHORT_ID: usize = 8;
/// Shortest refresh interval accepted, so a typo cannot hammer the gateway.
pub const MIN_INTERVAL_SECS: f64 = 0.2;

/// Home the cursor, turn off line wrapping (so an over-long line is cut at
/// the edge instead of pushing the screen up).
const FRAME_START: &str = "\x1b[H\x1b[?7l";
/// Clear to the end of the line: what the previous frame left there.
const CLEAR_LINE: &str = "\x1b[K";
/// Clear the rest of the screen, turn wrapping back on.
const FRAME_END: &str = "\x1b[J\x1b[?7h";
/// Clear the whole screen and home the cursor, before the first frame.
const CLEAR_SCREEN: &str = "\x1b[2J\x1b[H";

/// What `bfctl watch` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Time between refreshes.
    pub interval: Duration,
    /// Print one snapshot and exit, even on a terminal.
    pub once: bool,
    /// Print the gateway's JSON once and exit.
    pub json: bool,
}

/// Parse `--interval`: seconds, fractions allowed, at least
/// [`MIN_INTERVAL_SECS`].
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(MIN_INTERVAL_SECS..=86_400.0).contains(&secs) {
        return Err(format!(
            "the interval must be between {MIN_INTERVAL_SECS} and 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `bfctl watch`.
pub async fn run(client: &Client, opts: Options) -> Result<Outcome, CliError> {
    let url = client.url(&["v1", "ops", "imports"])?;
    if opts.json {
        emit(fetch(client, &url).await?.trim_end())?;
        return Ok(Outcome::Done);
    }
    if opts.once || !std::io::stdout().is_terminal() {
        let body = fetch(client, &url).await?;
        emit(&snapshot(&decode(&body)?, &utc_now()))?;
        return Ok(Outcome::Done);
    }
    live(client, &url, opts.interval).await
}

/// Redraw every `interval` until Ctrl-C. A gateway that goes away for a
/// while (restart, network blip) leaves the last view up with a notice;
/// anything else, such as a missing role, ends the command.
async fn live(client: &Client, url: &Url, interval: Duration) -> Result<Outcome, CliError> {
    // Completes only on Ctrl-C; if the handler cannot be installed, the
    // default SIGINT behaviour still ends the process.
    let mut stop = std::pin::pin!(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    });
    let every = format!("every {}", seconds(interval));
    let mut last: Option<String> = None;
    draw(CLEAR_SCREEN)?;
    loop {
        let fetched = tokio::select! {
            r = fetch(client, url) => r,
            () = &mut stop => break,
        };
        let notice = match fetched.and_then(|body| decode::<OpsImports>(&body)) {
            Ok(list) => {
                last = Some(snapshot(&list, &utc_now()));
                format!("refreshing {every}; Ctrl-C to quit")
            }
            Err(e) if e.is_transient() => {
                format!("{} retrying {every}: {e}", utc_now())
            }
            Err(e) => return Err(e),
        };
        // The notice keeps its own row so it is never among the lines cut.
        let size = terminal_size();
        let mut text = fit(
            last.as_deref().unwrap_or(""),
            size.map(|(rows, cols)| (rows.saturating_sub(1), cols)),
        );
        text.push_str(&fit(&notice, size));
        draw(&frame(&text))?;
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = &mut stop => break,
        }
    }
    Ok(Outcome::Done)
}

/// GET the ops view, turning the errors an operator will meet into advice.
async fn fetch(client: &Client, url: &Url) -> Result<String, CliError> {
    match client.get(url.clone()).await {
        Ok(reply) => Ok(reply.body),
        Err(e) => Err(explain(e)),
    }
}

/// A 403 means the token lacks the `ops` role; a 404 most likely a gateway
/// older than this bfctl. Other errors pass through unchanged.
fn explain(e: CliError) -> CliError {
    match e {
        CliError::Api {
            status: 403,
            code,
            message,
        } => CliError::Api {
            status: 403,
            code,
            message: format!(
                "{message}: the token needs the ops role: \
                 bfctl token --tenant T --user U --roles ops"
            ),
        },
        CliError::Api {
            status: 404,
            code,
            message,
        } => CliError::Api {
            status: 404,
            code,
            message: format!(
                "{message}: this gateway has no ops view (GET /v1/ops/imports); \
                 it may be older than bfctl"
            ),
        },
        other => other,
    }
}

/// Write a frame to stdout as is. A closed pipe is not an error.
fn draw(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

/// Wrap text for in-place redraw: each line overwrites the previous
/// frame's line, and whatever the previous frame had below is cleared.
fn frame(text: &str) -> String {
    let mut out = String::from(FRAME_START);
    for line in text.lines() {
        out.push_str(line);
        out.push_str(CLEAR_LINE);
        out.push('\n');
    }
    out.push_str(FRAME_END);
    out
}

/// The terminal's (rows, columns), asked of `stty` on the controlling
/// terminal (so a resize is noticed on the next refresh), else taken from
/// `LINES`/`COLUMNS`; `None` when neither is known.
fn terminal_size() -> Option<(usize, usize)> {
    let from_stty = || {
        let tty = std::fs::File::open("/dev/tty").ok()?;
        let out = std::process::Command::new("stty")
            .arg("size")
            .stdin(tty)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        let mut parts = text.split_whitespace().map(str::parse::<usize>);
        match (parts.next(), parts.next()) {
            (Some(Ok(rows)), Some(Ok(cols))) if rows > 0 && cols > 0 => Some((rows, cols)),
            _ => None,
        }
    };
    let from_env = || {
        let var = |k: &str| std::env::var(k).ok()?.trim().parse::<usize>().ok();
        Some((var("LINES")?, var("COLUMNS")?)).filter(|(r, c)| *r > 0 && *c > 0)
    };
    from_stty().or_else(from_env)
}

/// Fit text to a terminal of (rows, columns): lines are cut at the right
/// edge, and when there are too many the tail is replaced by a count, so
/// the header (the first line) never scrolls away. With no size, the text
/// is returned unchanged.
pub fn fit(text: &str, size: Option<(usize, usize)>) -> String {
    let Some((rows, cols)) = size else {
        return text.to_owned();
    };
    let lines: Vec<&str> = text.lines().collect();
    // One row is left free: the cursor sits there after the last line.
    let room = rows.saturating_sub(1).max(1);
    let mut kept: Vec<String> = lines.iter().map(|l| cut(l, cols)).collect();
    if kept.len() > room {
        let hidden = kept.len() - (room - 1);
        kept.truncate(room - 1);
        kept.push(cut(&format!("... {hidden} more lines not shown"), cols));
    }
    let mut out = kept.join("\n");
    out.push('\n');
    out
}

/// The first `width` characters of a line.
fn cut(line: &str, width: usize) -> String {
    line.chars().take(width).collect()
}

/// The ops view as text: a header line, then one line per import.
/// `now` is the time shown in the header (the caller's clock).
pub fn snapshot(list: &OpsImports, now: &str) -> String {
    let running = list
        .imports
        .iter()
        .filter(|i| RUNNING.contains(&i.status.as_str()))
        .count();
    let stalled = list.imports.iter().filter(|i| i.stalled).count();
    let mut out = format!(
        "{now}  running {running}  stalled {stalled}  shown {}\n",
        list.imports.len()
    );
    if list.imports.is_empty() {
        out.push_str("No running or recent imports.\n");
        return out;
    }
    let any_stalled = stalled > 0;
    let errors: Vec<Option<String>> = list
        .imports
        .iter()
        .map(|i| {
            i.last_error
                .as_deref()
                .map(|e| truncate(&one_line(e), ERROR_WIDTH))
                .filter(|e| !e.is_empty())
        })
        .collect();
    let any_error = errors.iter().any(Option::is_some);

    let mut headers = vec![
        "ID", "TENANT", "STATUS", "PROGRESS", "ROWS", "RATE", "AGE", "IN STATE",
    ];
    if any_stalled {
        headers.push("");
    }
    headers.push("TRACE");
    if any_error {
        headers.push("ERROR");
    }
    let mut t = Table::new(&headers).right_align(&[4, 5, 6, 7]);
    for (i, error) in list.imports.iter().zip(errors) {
        let mut cells = vec![
            i.id.chars().take(SHORT_ID).collect(),
            one_line(&i.tenant_id),
            one_line(&i.status),
            bar(i.progress.unwrap_or(0.0)),
            rows(i.rows_done, i.rows_total),
            rate(i.rows_per_second),
            duration(i.age_seconds),
            duration(i.in_state_seconds),
        ];
        if any_stalled {
            cells.push(if i.stalled { "STALLED" } else { "" }.to_owned());
        }
        cells.push(
            i.trace_id
                .as_deref()
                .filter(|t| !t.is_empty())
                .map_or_else(|| NONE.to_owned(), one_line),
        );
        if any_error {
            cells.push(error.unwrap_or_default());
        }
        t.row(cells);
    }
    out.push_str(&t.render());
    out
}

/// A text progress bar: "[#########-----------]  45%". The percentage is
/// rounded down so 100% means done.
pub fn bar(fraction: f64) -> String {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // The epsilon keeps 0.29 from showing as 28% through float error.
    let steps = |n: usize| ((f * n as f64) + 1e-9).floor() as usize;
    let filled = steps(BAR_WIDTH).min(BAR_WIDTH);
    format!(
        "[{}{}] {:>3}%",
        "#".repeat(filled),
        "-".repeat(BAR_WIDTH - filled),
        steps(100).min(100)
    )
}

/// "1,234/5,000", or "1,234/?" while the total is unknown.
fn rows(done: i64, total: Option<i64>) -> String {
    let total = total.map_or_else(|| "?".to_owned(), |t| money(&t.to_string()));
    format!("{}/{total}", money(&done.to_string()))
}

/// Rows per second: one decimal below 10, whole numbers above; "-" when
/// nothing is moving (finished imports report 0).
fn rate(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() && r > 0.0 && r < 9.95 => format!("{r:.1}/s"),
        Some(r) if r.is_finite() && r >= 9.95 => format!("{}/s", money(&format!("{r:.0}"))),
        _ => NONE.to_owned(),
    }
}

/// A compact duration: "45s", "3m05s", "2h14m", "3d04h".
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// An interval as said in the notice: "2s", "0.5s".
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s}s")
    }
}

/// Text from the gateway on one line: control characters (a newline in an
/// error, an escape sequence) become spaces and runs of space collapse, so
/// nothing can break the layout or the terminal.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `width` characters, ending in "..." when cut.
fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// The current time in UTC, "2026-05-01 14:03:07 UTC".
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

/// Seconds since the Unix epoch as "YYYY-MM-DD HH:MM:SS UTC".
fn utc(epoch_secs: u64) -> String {
    let days = epoch_secs / 86_400;
    let rem = epoch_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-05-01 14:03:07 UTC";

    fn list(json: &str) -> OpsImports {
        serde_json::from_str(json).expect("fixture is valid JSON")
    }

    fn fixture() -> OpsImports {
        list(
            r#"{"imports":[
              {"id":"0a1b2c3d-1111-2222-3333-444455556666","tenant_id":"acme","status":"parsing",
               "rows_done":4500,"rows_total":10000,"progress":0.45,"rows_per_second":1234.4,
               "age_seconds":185,"in_state_seconds":62,"stalled":false,"last_error":null,
               "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"},
              {"id":"deadbeef-0000-0000-0000-000000000000","tenant_id":"smiles","status":"approving",
               "rows_done":12,"rows_total":300,"progress":0.04,"rows_per_second":0.2,
               "age_seconds":7300,"in_state_seconds":900,"stalled":true,"last_error":null,
               "trace_id":null},
              {"id":"feedface-9999-9999-9999-999999999999","tenant_id":"acme","status":"failed",
               "rows_done":0,"rows_total":null,"progress":1.0,"rows_per_second":0.0,
               "age_seconds":90000,"in_state_seconds":30,"stalled":false,
               "last_error":"could not read the file:\nrow 3 has 7 columns, the header has 9; check the delimiter and quoting of the export",
               "trace_id":"00f067aa0ba902b700f067aa0ba902b7"},
              {"id":"c0ffee00-aaaa-bbbb-cccc-dddddddddddd","tenant_id":"acme","status":"queued",
               "rows_done":0,"rows_total":null,"progress":null,"rows_per_second":0,
               "age_seconds":3,"in_state_seconds":3,"stalled":false}
            ]}"#,
        )
    }

    fn line_for<'a>(text: &'a str, short_id: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(short_id))
            .unwrap_or_else(|| panic!("no line for {short_id} in\n{text}"))
    }

    #[test]
    fn the_header_counts_running_and_stalled_imports() {
        let text = snapshot(&fixture(), NOW);
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "2026-05-01 14:03:07 UTC  running 3  stalled 1  shown 4"
        );
        // Header, column titles, one line per import.
        assert_eq!(text.lines().count(), 2 + 4);
    }

    #[test]
    fn a_running_import_shows_bar_rows_pace_and_times() {
        let text = snapshot(&fixture(), NOW);
        let line = line_for(&text, "0a1b2c3d ");
        assert!(!line.contains("0a1b2c3d-"), "id is shortened: {line}");
        for part in [
            "acme",
            "parsing",
            "[#########-----------]  45%",
            "4,500/10,000",
            "1,234/s",
            "3m05s",
            "1m02s",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ] {
            assert!(line.contains(part), "missing {part:?} in {line:?}");
        }
        assert!(!line.contains("STALLED"));
    }

    #[test]
    fn a_stalled_import_is_marked_in_words() {
        let text = snapshot(&fixture(), NOW);
        let line = line_for(&text, "deadbeef");
        assert!(line.contains("STALLED"), "{line}");
        assert!(line.contains("approving"));
        assert!(line.contains("0.2/s"));
        assert!(line.contains("2h01m") && line.contains("15m00s"));
        assert!(line.contains("[--------------------]   4%"), "{line}");
        // No trace id: shown as a dash, not left blank.
        assert!(line.ends_with("STALLED  -"), "{line}");
    }

    #[test]
    fn a_failed_import_shows_its_error_on_one_line_truncated() {
        let text = snapshot(&fixture(), NOW);
        let line = line_for(&text, "feedface");
        assert!(line.contains("failed"));
        assert!(line.contains("could not read the file: row 3 has 7 columns"));
        assert!(line.ends_with("..."), "{line}");
        assert!(!line.contains("export"), "error is truncated: {line}");
        assert!(line.contains("1d01h"));
        // A finished import is not moving: no pace.
        assert!(line.contains("0/?"));
        assert!(text.lines().nth(1).unwrap().ends_with("ERROR"));
    }

    #[test]
    fn an_unknown_total_and_a_null_progress_still_render() {
        let text = snapshot(&fixture(), NOW);
        let line = line_for(&text, "c0ffee00");
        assert!(line.contains("0/?"), "{line}");
        assert!(line.contains("[--------------------]   0%"), "{line}");
        assert!(line.contains("3s"));
    }

    #[test]
    fn optional_columns_appear_only_when_needed() {
        let text = snapshot(
            &list(
                r#"{"imports":[{"id":"abc","tenant_id":"t","status":"completed",
                    "rows_done":5,"rows_total":5,"progress":1,"rows_per_second":0,
                    "age_seconds":10,"in_state_seconds":1,"stalled":false}]}"#,
            ),
            NOW,
        );
        let titles = text.lines().nth(1).unwrap();
        assert!(!titles.contains("ERROR"));
        assert!(!text.contains("STALLED"));
        assert!(text.contains("[####################] 100%"));
        assert!(text.contains("running 0  stalled 0  shown 1"));
    }

    #[test]
    fn an_empty_list_says_so() {
        let text = snapshot(&list(r#"{"imports":[]}"#), NOW);
        assert!(text.ends_with("No running or recent imports.\n"));
    }

    #[test]
    fn bars_round_down_and_tolerate_nonsense() {
        assert_eq!(bar(0.45), "[#########-----------]  45%");
        assert_eq!(bar(0.29), "[#####---------------]  29%");
        assert_eq!(bar(0.999), "[###################-]  99%");
        assert_eq!(bar(1.0), "[####################] 100%");
        assert_eq!(bar(7.0), bar(1.0));
        assert_eq!(bar(-1.0), bar(0.0));
        assert_eq!(bar(f64::NAN), bar(0.0));
    }

    #[test]
    fn durations_and_rates_are_compact() {
        assert_eq!(duration(-5), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(60), "1m00s");
        assert_eq!(duration(3600), "1h00m");
        assert_eq!(duration(86_400 * 3 + 3600 * 4), "3d04h");
        assert_eq!(rate(Some(0.0)), "-");
        assert_eq!(rate(None), "-");
        assert_eq!(rate(Some(f64::INFINITY)), "-");
        assert_eq!(rate(Some(2.345)), "2.3/s");
        assert_eq!(rate(Some(9.96)), "10/s");
        assert_eq!(rate(Some(12_345.6)), "12,346/s");
    }

    #[test]
    fn gateway_text_cannot_break_the_layout() {
        assert_eq!(one_line("a\n\tb \x1b[2J c"), "a b [2J c");
        assert_eq!(truncate("abcdef", 5), "ab...");
        assert_eq!(truncate("abc", 5), "abc");
    }

    #[test]
    fn fitting_cuts_long_lines_and_keeps_the_header() {
        let text = "header\nline one is long\nb\nc\nd\n";
        assert_eq!(fit(text, None), text);
        assert_eq!(fit(text, Some((4, 8))), "header\nline one\n... 3 mo\n");
        assert_eq!(fit(text, Some((10, 80))), text);
    }

    #[test]
    fn frames_redraw_in_place() {
        let f = frame("a\nb\n");
        assert!(f.starts_with("\x1b[H"));
        assert!(f.contains("a\x1b[K\nb\x1b[K\n"));
        assert!(f.ends_with("\x1b[J\x1b[?7h"));
    }

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_777_644_187), "2026-05-01 14:03:07 UTC");
    }

    #[test]
    fn intervals_are_checked() {
        assert_eq!(parse_interval("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_interval("0.5").unwrap(), Duration::from_millis(500));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("abc").is_err());
        assert!(parse_interval("NaN").is_err());
        assert_eq!(seconds(Duration::from_secs(2)), "2s");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5s");
    }

    #[test]
    fn a_403_names_the_role_to_ask_for() {
        let e = explain(crate::client::api_error(
            reqwest::StatusCode::FORBIDDEN,
            r#"{"error":{"code":"forbidden","message":"missing role ops"}}"#,
        ));
        let text = e.to_string();
        assert!(
            text.contains("the token needs the ops role: bfctl token"),
            "{text}"
        );
        assert!(text.contains("--roles ops") && text.contains("HTTP 403"));
    }
}
