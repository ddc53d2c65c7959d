//! The web UI (server-rendered with maud, no JavaScript) and the JSON API.
//!
//! - `/`                     trace list (`?service=NAME&limit=N`)
//! - `/traces/{id}`          waterfall; `{id}` may be `latest`
//! - `/traces/{id}.txt`      the same as plain text
//! - `/api/traces`           trace summaries as JSON (`?service=&limit=`)
//! - `/api/traces/{id}`      one trace's summary, spans and time by name

use crate::model::{self, ms, Span, TraceSummary};
use crate::store::Stats;
use crate::SharedStore;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

const DEFAULT_LIMIT: usize = 200;

/// The HTTP routes.
pub fn router(store: SharedStore) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/traces/{id}", get(trace_page))
        .route("/api/traces", get(api_list))
        .route("/api/traces/{id}", get(api_trace))
        .with_state(store)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    service: Option<String>,
    limit: Option<usize>,
}

impl ListParams {
    fn service(&self) -> Option<&str> {
        self.service.as_deref().filter(|s| !s.is_empty())
    }
    fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }
}

fn not_found(what: &str) -> Response {
    let msg = if what == "latest" {
        "no traces received yet\n".to_string()
    } else {
        format!("no trace {what}\n")
    };
    (StatusCode::NOT_FOUND, msg).into_response()
}

fn unavailable() -> Response {
    Poisoned.into_response()
}

/// The store's lock was poisoned by a panic.
struct Poisoned;

impl IntoResponse for Poisoned {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, "span store poisoned\n").into_response()
    }
}

/// Looks a trace up by id (any case) or `latest`.
fn lookup(store: &SharedStore, id: &str) -> Result<Option<(String, Vec<Span>)>, Poisoned> {
    let store = store.lock().map_err(|_| Poisoned)?;
    let id = if id == "latest" {
        match store.latest() {
            Some(id) => id,
            None => return Ok(None),
        }
    } else {
        id.trim().to_ascii_lowercase()
    };
    Ok(store.get(&id).map(|spans| (id, spans)))
}

/// Wall-clock time of a unix-nanosecond timestamp, UTC.
fn when(nanos: u64) -> String {
    i64::try_from(nanos)
        .map(chrono::DateTime::from_timestamp_nanos)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

/// A stable colour per service.
fn hue(service: &str) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for b in service.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    h % 360
}

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem 2rem; color: #222; }
a { color: #0b5cad; text-decoration: none; } a:hover { text-decoration: underline; }
code, .mono, td.num { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 2px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f5f5f5; position: sticky; top: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
.muted { color: #777; }
.err { color: #b00020; font-weight: 600; }
.svc { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-size: 12px; white-space: nowrap; }
.track { position: relative; height: 14px; background: #f3f3f3; min-width: 300px; margin-top: 3px; }
.bar { position: absolute; top: 0; height: 14px; border-radius: 2px; min-width: 1px; }
td.bar-cell { width: 40%; }
details summary { cursor: pointer; white-space: nowrap; }
details table { width: auto; margin: 4px 0 6px 0; }
details td { border: none; padding: 0 8px 0 0; font-family: ui-monospace, monospace; font-size: 12px; }
form { margin: 0.5rem 0 1rem 0; }
"#;

fn layout(title: &str, stats: Option<Stats>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html {
                head {
                    meta charset="utf-8";
                    title { (title) }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    p {
                        a href="/" { strong { "bf-traces" } }
                        @if let Some(s) = stats {
                            span.muted {
                                " — " (s.traces) " traces, " (s.spans) " / " (s.max_spans) " spans held"
                                @if s.evicted_traces > 0 { ", " (s.evicted_traces) " old traces evicted" }
                                @if s.dropped_spans > 0 { ", " (s.dropped_spans) " spans dropped (trace too large)" }
                            }
                        }
                    }
                    (body)
                }
            }
        }
        .into_string(),
    )
}

fn service_badge(service: &str) -> Markup {
    html! {
        span.svc style={ "background: hsl(" (hue(service)) ", 55%, 42%)" } { (service) }
    }
}

async fn index(State(store): State<SharedStore>, Query(params): Query<ListParams>) -> Response {
    let (stats, traces, services) = match store.lock() {
        Ok(s) => (
            s.stats(),
            s.summaries(params.limit(), params.service()),
            s.services(),
        ),
        Err(_) => return unavailable(),
    };
    let selected = params.service().unwrap_or("");
    let body = html! {
        form method="get" action="/" {
            "Service: "
            select name="service" {
                option value="" selected[selected.is_empty()] { "(all)" }
                @for s in &services {
                    option value=(s) selected[s == selected] { (s) }
                }
            }
            " Limit: "
            input type="number" name="limit" min="1" value=(params.limit()) style="width: 6em";
            " "
            button type="submit" { "Filter" }
            " "
            a href="/traces/latest" { "latest trace" }
        }
        @if traces.is_empty() {
            p.muted { "No traces yet. Point services at the OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) and reload." }
        } @else {
            table {
                thead { tr {
                    th { "trace id" } th { "root span" } th { "services" }
                    th.num { "spans" } th { "start (UTC)" } th.num { "duration ms" }
                } }
                tbody {
                    @for t in &traces {
                        tr {
                            td.mono { a href={ "/traces/" (t.trace_id) } { (t.trace_id) } }
                            td {
                                (t.root_name)
                                @if t.error_count > 0 { " " span.err { "(" (t.error_count) " errors)" } }
                            }
                            td { @for s in &t.services { (service_badge(s)) " " } }
                            td.num { (t.span_count) }
                            td.mono { (when(t.start_unix_nano)) }
                            td.num { (format!("{:.1}", t.duration_ms)) }
                        }
                    }
                }
            }
        }
    };
    layout("bf-traces", Some(stats), body).into_response()
}

fn attr_table(attrs: &[(String, String)]) -> Markup {
    html! {
        table { @for (k, v) in attrs { tr { td { (k) } td { (v) } } } }
    }
}

fn trace_html(summary: &TraceSummary, spans: &[Span]) -> Markup {
    let rows = model::waterfall(spans);
    let ids: std::collections::HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let total = summary
        .end_unix_nano
        .saturating_sub(summary.start_unix_nano);
    let pct = |n: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        }
    };
    html! {
        h2.mono { "trace " (summary.trace_id) }
        p {
            "root " strong { (summary.root_name) } " · total " (format!("{:.1}", summary.duration_ms)) " ms · "
            (summary.span_count) " spans · started " (when(summary.start_unix_nano)) " UTC · "
            @for s in &summary.services { (service_badge(s)) " " }
            " · " a href={ "/traces/" (summary.trace_id) ".txt" } { "plain text" }
            " · " a href={ "/api/traces/" (summary.trace_id) } { "json" }
            @if summary.error_count > 0 { " · " span.err { (summary.error_count) " errors" } }
        }
        table {
            thead { tr {
                th.num { "start ms" } th.num { "dur ms" } th { "service" } th { "span" } th { "timeline" }
            } }
            tbody {
                @for r in &rows {
                    @let s = &spans[r.index];
                    @let offset = s.start_unix_nano.saturating_sub(summary.start_unix_nano);
                    tr {
                        td.num { (format!("{:.1}", ms(offset))) }
                        td.num { (format!("{:.1}", ms(s.duration_nanos()))) }
                        td { (service_badge(&s.service)) }
                        td style={ "padding-left: " (8 + r.depth * 18) "px" } {
                            details {
                                summary {
                                    @if s.error.is_some() { span.err { (s.name) " ⚠" } } @else { (s.name) }
                                }
                                div.muted.mono {
                                    "span " (s.span_id)
                                    @if !s.parent_span_id.is_empty() {
                                        " · parent " (s.parent_span_id)
                                        @if !ids.contains(s.parent_span_id.as_str()) { " (not received)" }
                                    }
                                    @if !s.kind.is_empty() { " · " (s.kind) }
                                }
                                @if let Some(e) = &s.error { div.err { "error: " (e) } }
                                @if !s.attributes.is_empty() { (attr_table(&s.attributes)) }
                                @for e in &s.events {
                                    div.mono {
                                        "event +" (format!("{:.1}", ms(e.time_unix_nano.saturating_sub(summary.start_unix_nano))))
                                        " ms: " (e.name)
                                    }
                                    @if !e.attributes.is_empty() { (attr_table(&e.attributes)) }
                                }
                            }
                        }
                        td.bar-cell {
                            div.track {
                                div.bar style={
                                    "left: " (format!("{:.3}", pct(offset))) "%; "
                                    "width: " (format!("{:.3}", pct(s.duration_nanos()).min(100.0 - pct(offset)).max(0.0))) "%; "
                                    "background: hsl(" (hue(&s.service)) ", 55%, 50%)"
                                } {}
                            }
                        }
                    }
                }
            }
        }
        h3 { "Time by span name" }
        p.muted { "Total includes children; self is the time not covered by any child span." }
        table style="width: auto" {
            thead { tr { th.num { "total ms" } th.num { "self ms" } th.num { "count" } th { "name" } } }
            tbody {
                @for st in model::time_by_name(spans) {
                    tr {
                        td.num { (format!("{:.1}", ms(st.total_nanos))) }
                        td.num { (format!("{:.1}", ms(st.self_nanos))) }
                        td.num { (st.count) }
                        td { (st.name) }
                    }
                }
            }
        }
    }
}

async fn trace_page(State(store): State<SharedStore>, Path(id): Path<String>) -> Response {
    let (id, text) = match id.strip_suffix(".txt") {
        Some(id) => (id.to_string(), true),
        None => (id, false),
    };
    let (id, spans) = match lookup(&store, &id) {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&id),
        Err(e) => return e.into_response(),
    };
    if text {
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            model::render_text(&id, &spans),
        )
            .into_response();
    }
    let stats = store.lock().ok().map(|s| s.stats());
    let summary = model::summarize(&id, &spans, &model::waterfall(&spans));
    layout(&format!("trace {id}"), stats, trace_html(&summary, &spans)).into_response()
}

async fn api_list(State(store): State<SharedStore>, Query(params): Query<ListParams>) -> Response {
    match store.lock() {
        Ok(s) => Json(s.summaries(params.limit(), params.service())).into_response(),
        Err(_) => unavailable(),
    }
}

/// `/api/traces/{id}`.
#[derive(Debug, serde::Serialize)]
struct TraceJson {
    summary: TraceSummary,
    time_by_name: Vec<model::NameStat>,
    spans: Vec<Span>,
}

async fn api_trace(State(store): State<SharedStore>, Path(id): Path<String>) -> Response {
    match lookup(&store, &id) {
        Ok(Some((id, spans))) => {
            let summary = model::summarize(&id, &spans, &model::waterfall(&spans));
            let time_by_name = model::time_by_name(&spans);
            Json(TraceJson {
                summary,
                time_by_name,
                spans,
            })
            .into_response()
        }
        Ok(None) => not_found(&id),
        Err(e) => e.into_response(),
    }
}
