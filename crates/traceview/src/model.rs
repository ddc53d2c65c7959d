//! The pure part: spans as received, the waterfall (span tree in display
//! order), per-trace summaries, the per-name time table and the plain-text
//! rendering. Nothing here does I/O.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// One span, flattened from OTLP. Ids are lowercase hex; a root span has an
/// empty `parent_span_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    /// The resource's `service.name`.
    pub service: String,
    pub name: String,
    /// `server`, `client`, `internal`, `producer`, `consumer` or empty.
    pub kind: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// Attribute key/value pairs, values as text.
    pub attributes: Vec<(String, String)>,
    pub events: Vec<SpanEvent>,
    /// The status message when the span's status is ERROR.
    pub error: Option<String>,
}

impl Span {
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }
}

/// An event recorded on a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub time_unix_nano: u64,
    pub name: String,
    pub attributes: Vec<(String, String)>,
}

/// One line of the waterfall: which span (an index into the slice given to
/// [`waterfall`]) and how deep it sits in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub index: usize,
    pub depth: usize,
}

fn order_key(s: &Span) -> (u64, &str, &str) {
    (s.start_unix_nano, s.name.as_str(), s.span_id.as_str())
}

/// Orders a trace's spans as a depth-first walk of the span tree, siblings
/// (and roots) by start time. A span whose parent is not in the trace (not
/// received yet, or dropped) becomes a root; so does a span caught in a
/// parent cycle, so every span appears exactly once.
pub fn waterfall(spans: &[Span]) -> Vec<Row> {
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(spans.len());
    for (i, s) in spans.iter().enumerate() {
        by_id.entry(s.span_id.as_str()).or_insert(i);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match by_id.get(s.parent_span_id.as_str()) {
            Some(&p) if !s.parent_span_id.is_empty() && p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    let by_start = |a: &usize, b: &usize| order_key(&spans[*a]).cmp(&order_key(&spans[*b]));
    for c in &mut children {
        c.sort_by(by_start);
    }
    roots.sort_by(by_start);

    let mut rows = Vec::with_capacity(spans.len());
    let mut seen = vec![false; spans.len()];
    let walk = |start: usize, rows: &mut Vec<Row>, seen: &mut [bool]| {
        let mut stack = vec![(start, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            rows.push(Row { index: i, depth });
            for &c in children[i].iter().rev() {
                stack.push((c, depth + 1));
            }
        }
    };
    for &r in &roots {
        walk(r, &mut rows, &mut seen);
    }
    // Whatever is left hangs off a parent cycle: show it from its earliest span.
    let mut rest: Vec<usize> = (0..spans.len()).filter(|&i| !seen[i]).collect();
    rest.sort_by(by_start);
    for r in rest {
        walk(r, &mut rows, &mut seen);
    }
    rows
}

/// What the trace list shows for one trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_id: String,
    /// The earliest span without a parent, else the earliest orphan.
    pub root_name: String,
    pub root_service: String,
    /// In waterfall order of first appearance.
    pub services: Vec<String>,
    pub span_count: usize,
    pub error_count: usize,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub duration_ms: f64,
}

/// Summarises a trace from its spans and their waterfall.
pub fn summarize(trace_id: &str, spans: &[Span], rows: &[Row]) -> TraceSummary {
    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.end_unix_nano.max(s.start_unix_nano))
        .max()
        .unwrap_or(0);
    let root = spans
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .min_by(|a, b| order_key(a).cmp(&order_key(b)))
        .or_else(|| rows.first().map(|r| &spans[r.index]));
    let mut services: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for r in rows {
        let s = &spans[r.index].service;
        if seen.insert(s.as_str()) {
            services.push(s.clone());
        }
    }
    TraceSummary {
        trace_id: trace_id.to_string(),
        root_name: root.map(|s| s.name.clone()).unwrap_or_default(),
        root_service: root.map(|s| s.service.clone()).unwrap_or_default(),
        services,
        span_count: spans.len(),
        error_count: spans.iter().filter(|s| s.error.is_some()).count(),
        start_unix_nano: start,
        end_unix_nano: end,
        duration_ms: ms(end.saturating_sub(start)),
    }
}

/// Time spent under one span name across a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameStat {
    pub name: String,
    pub count: usize,
    /// Sum of the spans' durations (children included).
    pub total_nanos: u64,
    /// Sum of the spans' self time: duration not covered by any child.
    pub self_nanos: u64,
}

/// Sums durations per span name, largest total first (ties by name).
pub fn time_by_name(spans: &[Span]) -> Vec<NameStat> {
    let self_times = self_times(spans);
    let mut by_name: HashMap<&str, NameStat> = HashMap::new();
    for (s, own) in spans.iter().zip(self_times) {
        let stat = by_name.entry(s.name.as_str()).or_insert_with(|| NameStat {
            name: s.name.clone(),
            count: 0,
            total_nanos: 0,
            self_nanos: 0,
        });
        stat.count += 1;
        stat.total_nanos += s.duration_nanos();
        stat.self_nanos += own;
    }
    let mut out: Vec<NameStat> = by_name.into_values().collect();
    out.sort_by(|a, b| {
        b.total_nanos
            .cmp(&a.total_nanos)
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// Each span's duration minus the union of its children's intervals
/// (clipped to the span).
fn self_times(spans: &[Span]) -> Vec<u64> {
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(spans.len());
    for (i, s) in spans.iter().enumerate() {
        by_id.entry(s.span_id.as_str()).or_insert(i);
    }
    let mut kids: Vec<Vec<(u64, u64)>> = vec![Vec::new(); spans.len()];
    for (i, s) in spans.iter().enumerate() {
        if s.parent_span_id.is_empty() {
            continue;
        }
        if let Some(&p) = by_id.get(s.parent_span_id.as_str()) {
            if p != i {
                kids[p].push((s.start_unix_nano, s.end_unix_nano));
            }
        }
    }
    spans
        .iter()
        .zip(kids)
        .map(|(s, mut iv)| {
            let (lo, hi) = (s.start_unix_nano, s.end_unix_nano.max(s.start_unix_nano));
            iv.sort_unstable();
            let mut covered = 0u64;
            let mut cur: Option<(u64, u64)> = None;
            for (a, b) in iv {
                let (a, b) = (a.clamp(lo, hi), b.clamp(lo, hi));
                if b <= a {
                    continue;
                }
                cur = match cur {
                    Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
                    Some((ca, cb)) => {
                        covered += cb - ca;
                        Some((a, b))
                    }
                    None => Some((a, b)),
                };
            }
            if let Some((ca, cb)) = cur {
                covered += cb - ca;
            }
            (hi - lo).saturating_sub(covered)
        })
        .collect()
}

/// Nanoseconds as milliseconds.
pub fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}

const MAX_VALUE_CHARS: usize = 80;

fn short(v: &str) -> String {
    if v.chars().count() <= MAX_VALUE_CHARS {
        v.to_string()
    } else {
        let mut s: String = v.chars().take(MAX_VALUE_CHARS).collect();
        s.push('…');
        s
    }
}

/// The attributes as `k=v k2=v2`, long values cut short.
pub fn attribute_line(attrs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in attrs {
        if !out.is_empty() {
            out.push(' ');
        }
        let v = short(v);
        if v.is_empty() || v.contains(char::is_whitespace) || v.contains('"') {
            let _ = write!(out, "{k}={v:?}");
        } else {
            let _ = write!(out, "{k}={v}");
        }
    }
    out
}

/// The text waterfall: a header, one line per span (start offset, duration,
/// indented service, name, attributes) and the time-by-name table.
pub fn render_text(trace_id: &str, spans: &[Span]) -> String {
    let rows = waterfall(spans);
    let sum = summarize(trace_id, spans, &rows);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trace {}  total {:.1} ms  {} spans  services: {}",
        trace_id,
        sum.duration_ms,
        sum.span_count,
        sum.services.join(", ")
    );
    if sum.error_count > 0 {
        let _ = writeln!(out, "errors: {}", sum.error_count);
    }
    let width = spans
        .iter()
        .map(|s| s.service.chars().count())
        .max()
        .unwrap_or(0);
    for r in &rows {
        let s = &spans[r.index];
        let mut line = format!(
            "{:>8.1} ms {:>8.1} ms  {}{:<width$}  {}",
            ms(s.start_unix_nano.saturating_sub(sum.start_unix_nano)),
            ms(s.duration_nanos()),
            "  ".repeat(r.depth),
            s.service,
            s.name,
        );
        let attrs = attribute_line(&s.attributes);
        if !attrs.is_empty() {
            line.push_str("  ");
            line.push_str(&attrs);
        }
        if let Some(e) = &s.error {
            let _ = write!(line, "  [ERROR {}]", short(e));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("\ntime by span name (total includes children; self excludes them):\n");
    let _ = writeln!(
        out,
        "{:>10}  {:>10}  {:>6}  name",
        "total ms", "self ms", "count"
    );
    for st in time_by_name(spans) {
        let _ = writeln!(
            out,
            "{:>10.1}  {:>10.1}  {:>6}  {}",
            ms(st.total_nanos),
            ms(st.self_nanos),
            st.count,
            st.name
        );
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A span for tests: times in milliseconds.
    pub(crate) fn span(
        id: &str,
        parent: &str,
        service: &str,
        name: &str,
        start_ms: u64,
        dur_ms: u64,
    ) -> Span {
        Span {
            trace_id: "t1".into(),
            span_id: id.into(),
            parent_span_id: parent.into(),
            service: service.into(),
            name: name.into(),
            kind: String::new(),
            start_unix_nano: 1_000_000_000_000 + start_ms * 1_000_000,
            end_unix_nano: 1_000_000_000_000 + (start_ms + dur_ms) * 1_000_000,
            attributes: Vec::new(),
            events: Vec::new(),
            error: None,
        }
    }

    fn order(spans: &[Span]) -> Vec<(String, usize)> {
        waterfall(spans)
            .into_iter()
            .map(|r| (spans[r.index].span_id.clone(), r.depth))
            .collect()
    }

    fn ids(v: &[(&str, usize)]) -> Vec<(String, usize)> {
        v.iter().map(|(s, d)| (s.to_string(), *d)).collect()
    }

    #[test]
    fn builds_the_tree_from_flat_spans_in_any_order() {
        let spans = vec![
            span("c2", "b", "claims", "persist", 30, 5),
            span("b", "a", "validator", "validate", 10, 50),
            span("a", "", "gateway", "upload", 0, 100),
            span("c1", "b", "claims", "load", 12, 3),
            span("d", "a", "gateway", "respond", 70, 1),
        ];
        assert_eq!(
            order(&spans),
            ids(&[("a", 0), ("b", 1), ("c1", 2), ("c2", 2), ("d", 1)])
        );
    }

    #[test]
    fn orphans_become_roots_ordered_by_start() {
        let spans = vec![
            span("x", "missing", "claims", "late-orphan", 50, 5),
            span("y", "x", "claims", "child", 51, 1),
            span("a", "", "gateway", "root", 10, 100),
            span("o", "gone", "validator", "early-orphan", 0, 5),
        ];
        assert_eq!(
            order(&spans),
            ids(&[("o", 0), ("a", 0), ("x", 0), ("y", 1)])
        );
        let rows = waterfall(&spans);
        let sum = summarize("t1", &spans, &rows);
        // The real root wins over an earlier orphan.
        assert_eq!(sum.root_name, "root");
        assert_eq!(sum.services, vec!["validator", "gateway", "claims"]);
        assert_eq!(sum.span_count, 4);
        assert_eq!(sum.duration_ms, 110.0);
    }

    #[test]
    fn siblings_are_ordered_by_start_and_cycles_still_show_every_span() {
        let spans = vec![
            span("late", "r", "s", "late", 20, 1),
            span("r", "", "s", "root", 0, 30),
            span("early", "r", "s", "early", 5, 1),
            span("self", "self", "s", "own-parent", 7, 1),
            span("p", "q", "s", "cycle-p", 9, 1),
            span("q", "p", "s", "cycle-q", 8, 1),
        ];
        let got = order(&spans);
        assert_eq!(got.len(), spans.len());
        assert_eq!(
            got,
            ids(&[
                ("r", 0),
                ("early", 1),
                ("late", 1),
                ("self", 0),
                ("q", 0),
                ("p", 1),
            ])
        );
    }

    #[test]
    fn summary_of_time_by_name_sums_and_sorts() {
        let spans = vec![
            span("a", "", "gw", "upload", 0, 100),
            span("b", "a", "v", "validate", 10, 30),
            span("c", "a", "v", "validate", 30, 40),
            span("d", "a", "gw", "publish", 80, 5),
        ];
        let stats = time_by_name(&spans);
        let names: Vec<_> = stats
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.count,
                    ms(s.total_nanos),
                    ms(s.self_nanos),
                )
            })
            .collect();
        // upload's children cover 10..70 and 80..85: 65 ms, leaving 35 ms.
        assert_eq!(
            names,
            vec![
                ("upload", 1, 100.0, 35.0),
                ("validate", 2, 70.0, 70.0),
                ("publish", 1, 5.0, 5.0),
            ]
        );
    }

    #[test]
    fn renders_the_text_waterfall() {
        let mut root = span("a", "", "gateway", "import.upload", 0, 1532);
        root.attributes = vec![
            ("tenant".into(), "t1".into()),
            ("note".into(), "two words".into()),
        ];
        let mut child = span("b", "a", "gateway", "outbox.publish", 12, 3);
        child.error = Some("broker down".into());
        let spans = vec![
            child,
            root,
            span("c", "a", "validator", "validate", 20, 400),
        ];
        let text = render_text("4bf92f3577b34da6a3ce929d0e0e4736", &spans);
        let expected = "\
trace 4bf92f3577b34da6a3ce929d0e0e4736  total 1532.0 ms  3 spans  services: gateway, validator
errors: 1
     0.0 ms   1532.0 ms  gateway    import.upload  tenant=t1 note=\"two words\"
    12.0 ms      3.0 ms    gateway    outbox.publish  [ERROR broker down]
    20.0 ms    400.0 ms    validator  validate

time by span name (total includes children; self excludes them):
  total ms     self ms   count  name
    1532.0      1129.0       1  import.upload
     400.0       400.0       1  validate
       3.0         3.0       1  outbox.publish
";
        assert_eq!(text, expected);
    }

    #[test]
    fn long_attribute_values_are_cut() {
        let long = "x".repeat(200);
        let line = attribute_line(&[("k".into(), long)]);
        assert_eq!(line.chars().count(), 2 + MAX_VALUE_CHARS + 1);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn empty_trace_renders() {
        let text = render_text("abc", &[]);
        assert!(text.starts_with("trace abc  total 0.0 ms  0 spans"));
    }
}
