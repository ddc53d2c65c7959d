//! The in-memory span store, bounded by a total span count: past the bound
//! the oldest traces (by first arrival) are dropped whole.

use crate::model::{summarize, waterfall, Span, TraceSummary};
use std::collections::{BTreeMap, HashMap, HashSet};

struct StoredTrace {
    /// Arrival sequence of the trace's first span.
    seq: u64,
    spans: Vec<Span>,
    span_ids: HashSet<String>,
    start: u64,
    services: HashSet<String>,
}

/// Counters shown on the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub traces: usize,
    pub spans: usize,
    pub max_spans: usize,
    pub evicted_traces: u64,
    /// Spans refused because their trace alone already held `max_spans`.
    pub dropped_spans: u64,
}

/// All received traces.
pub struct Store {
    max_spans: usize,
    total: usize,
    next_seq: u64,
    traces: HashMap<String, StoredTrace>,
    arrival: BTreeMap<u64, String>,
    evicted_traces: u64,
    dropped_spans: u64,
}

impl Store {
    /// A store holding at most `max_spans` spans (at least 1).
    pub fn new(max_spans: usize) -> Store {
        Store {
            max_spans: max_spans.max(1),
            total: 0,
            next_seq: 0,
            traces: HashMap::new(),
            arrival: BTreeMap::new(),
            evicted_traces: 0,
            dropped_spans: 0,
        }
    }

    /// Adds spans (of any traces). A span already held (same trace and span
    /// id, e.g. an exporter retry) is ignored.
    pub fn insert(&mut self, spans: Vec<Span>) {
        let mut groups: Vec<(String, Vec<Span>)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for s in spans {
            let i = *at.entry(s.trace_id.clone()).or_insert_with(|| {
                groups.push((s.trace_id.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(s);
        }
        for (trace_id, spans) in groups {
            self.insert_trace(&trace_id, spans);
            self.evict(&trace_id);
        }
    }

    fn insert_trace(&mut self, trace_id: &str, spans: Vec<Span>) {
        if !self.traces.contains_key(trace_id) {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.arrival.insert(seq, trace_id.to_string());
            self.traces.insert(
                trace_id.to_string(),
                StoredTrace {
                    seq,
                    spans: Vec::new(),
                    span_ids: HashSet::new(),
                    start: u64::MAX,
                    services: HashSet::new(),
                },
            );
        }
        let Some(trace) = self.traces.get_mut(trace_id) else {
            return;
        };
        for s in spans {
            if trace.span_ids.contains(&s.span_id) {
                continue;
            }
            if trace.spans.len() >= self.max_spans {
                self.dropped_spans += 1;
                continue;
            }
            trace.span_ids.insert(s.span_id.clone());
            trace.start = trace.start.min(s.start_unix_nano);
            if !trace.services.contains(&s.service) {
                trace.services.insert(s.service.clone());
            }
            trace.spans.push(s);
            self.total += 1;
        }
    }

    /// Drops the oldest traces, never `keep`, until the bound holds.
    fn evict(&mut self, keep: &str) {
        while self.total > self.max_spans {
            let Some((&seq, _)) = self.arrival.iter().find(|(_, id)| id.as_str() != keep) else {
                break;
            };
            if let Some(id) = self.arrival.remove(&seq) {
                if let Some(t) = self.traces.remove(&id) {
                    self.total -= t.spans.len();
                    self.evicted_traces += 1;
                }
            }
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            traces: self.traces.len(),
            spans: self.total,
            max_spans: self.max_spans,
            evicted_traces: self.evicted_traces,
            dropped_spans: self.dropped_spans,
        }
    }

    /// A trace's spans, as received.
    pub fn get(&self, trace_id: &str) -> Option<Vec<Span>> {
        self.traces.get(trace_id).map(|t| t.spans.clone())
    }

    /// The id of the trace that started last.
    pub fn latest(&self) -> Option<String> {
        self.traces
            .iter()
            .max_by_key(|(_, t)| (t.start, t.seq))
            .map(|(id, _)| id.clone())
    }

    /// Summaries of the newest `limit` traces (by start, newest first),
    /// optionally only those touching `service`.
    pub fn summaries(&self, limit: usize, service: Option<&str>) -> Vec<TraceSummary> {
        let mut picked: Vec<(&String, &StoredTrace)> = self
            .traces
            .iter()
            .filter(|(_, t)| service.is_none_or(|s| t.services.contains(s)))
            .collect();
        picked.sort_by_key(|(_, t)| std::cmp::Reverse((t.start, t.seq)));
        picked.truncate(limit);
        picked
            .into_iter()
            .map(|(id, t)| summarize(id, &t.spans, &waterfall(&t.spans)))
            .collect()
    }

    /// Every service name seen, sorted.
    pub fn services(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .traces
            .values()
            .flat_map(|t| t.services.iter().cloned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::span;

    fn in_trace(trace: &str, id: &str, start_ms: u64) -> Span {
        let mut s = span(id, "", "svc", "op", start_ms, 1);
        s.trace_id = trace.into();
        s
    }

    #[test]
    fn evicts_oldest_traces_past_the_bound() {
        let mut store = Store::new(5);
        store.insert(vec![in_trace("t1", "a", 0), in_trace("t1", "b", 1)]);
        store.insert(vec![in_trace("t2", "a", 2), in_trace("t2", "b", 3)]);
        assert_eq!(store.stats().spans, 4);
        store.insert(vec![in_trace("t3", "a", 4), in_trace("t3", "b", 5)]);
        let st = store.stats();
        assert_eq!((st.traces, st.spans, st.evicted_traces), (2, 4, 1));
        assert!(store.get("t1").is_none());
        assert!(store.get("t2").is_some());
        // Spans arriving later for an old trace keep it, and evict others.
        store.insert(vec![in_trace("t2", "c", 6), in_trace("t2", "d", 7)]);
        assert!(store.get("t3").is_none());
        assert_eq!(store.get("t2").map(|s| s.len()), Some(4));
        assert!(store.stats().spans <= 5);
    }

    #[test]
    fn a_single_huge_trace_is_capped_not_unbounded() {
        let mut store = Store::new(3);
        store.insert(
            (0..10)
                .map(|i| in_trace("big", &format!("s{i}"), i))
                .collect(),
        );
        let st = store.stats();
        assert_eq!((st.traces, st.spans, st.dropped_spans), (1, 3, 7));
    }

    #[test]
    fn duplicate_spans_are_ignored() {
        let mut store = Store::new(10);
        store.insert(vec![in_trace("t1", "a", 0)]);
        store.insert(vec![in_trace("t1", "a", 0), in_trace("t1", "b", 1)]);
        assert_eq!(store.stats().spans, 2);
    }

    #[test]
    fn lists_newest_first_and_filters_by_service() {
        let mut store = Store::new(100);
        store.insert(vec![in_trace("old", "a", 0)]);
        let mut other = in_trace("new", "a", 50);
        other.service = "claims".into();
        store.insert(vec![other]);
        let ids: Vec<_> = store
            .summaries(10, None)
            .into_iter()
            .map(|s| s.trace_id)
            .collect();
        assert_eq!(ids, vec!["new", "old"]);
        assert_eq!(store.summaries(1, None).len(), 1);
        let only: Vec<_> = store
            .summaries(10, Some("svc"))
            .into_iter()
            .map(|s| s.trace_id)
            .collect();
        assert_eq!(only, vec!["old"]);
        assert_eq!(store.latest().as_deref(), Some("new"));
        assert_eq!(store.services(), vec!["claims", "svc"]);
    }
}
