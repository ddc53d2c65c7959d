//! Fair choice among waiting work: the next item comes from the key (a
//! tenant) with the fewest items running, and among those the one served
//! least recently. Pure, so the rule is tested without a broker.

use std::collections::{HashMap, VecDeque};

/// Items waiting per key, with each key's running count.
pub struct FairQueue<T> {
    waiting: HashMap<String, VecDeque<T>>,
    running: HashMap<String, usize>,
    /// Per key: when it was last served (0: never) and when it arrived,
    /// the tie-breakers after the running count.
    served: HashMap<String, (u64, u64)>,
    tick: u64,
    len: usize,
}

impl<T> Default for FairQueue<T> {
    fn default() -> Self {
        FairQueue {
            waiting: HashMap::new(),
            running: HashMap::new(),
            served: HashMap::new(),
            tick: 0,
            len: 0,
        }
    }
}

impl<T> FairQueue<T> {
    /// Adds an item behind the key's earlier ones (a key's own items keep
    /// their order).
    pub fn push(&mut self, key: String, item: T) {
        self.tick += 1;
        let tick = self.tick;
        self.served.entry(key.clone()).or_insert((0, tick));
        self.waiting.entry(key).or_default().push_back(item);
        self.len += 1;
    }

    /// Takes the next item of a key with fewer than `cap` running, and
    /// counts it as running under its key.
    pub fn pop(&mut self, cap: usize) -> Option<(String, T)> {
        let key = self
            .waiting
            .iter()
            .filter(|(k, q)| !q.is_empty() && self.running.get(*k).copied().unwrap_or(0) < cap)
            .map(|(k, _)| k)
            .min_by_key(|k| {
                let running = self.running.get(*k).copied().unwrap_or(0);
                let (last, arrived) = self.served.get(*k).copied().unwrap_or_default();
                (running, last, arrived)
            })?
            .clone();
        let item = self.waiting.get_mut(&key)?.pop_front()?;
        self.len -= 1;
        *self.running.entry(key.clone()).or_default() += 1;
        self.tick += 1;
        let tick = self.tick;
        if let Some(entry) = self.served.get_mut(&key) {
            entry.0 = tick;
        }
        Some((key, item))
    }

    /// Records that an item of `key` finished; forgets idle keys so the
    /// bookkeeping stays as small as the work in hand.
    pub fn finished(&mut self, key: &str) {
        if let Some(n) = self.running.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.running.remove(key);
            }
        }
        let idle =
            !self.running.contains_key(key) && self.waiting.get(key).is_none_or(VecDeque::is_empty);
        if idle {
            self.waiting.remove(key);
            self.served.remove(key);
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut FairQueue<u32>, n: usize) -> Vec<(String, u32)> {
        (0..n).filter_map(|_| q.pop(usize::MAX)).collect()
    }

    #[test]
    fn a_tenant_with_many_waiting_jobs_does_not_take_every_worker() {
        let mut q = FairQueue::default();
        for i in 0..5 {
            q.push("big".into(), i);
        }
        q.push("small".into(), 100);
        let first_two: Vec<String> = drain(&mut q, 2).into_iter().map(|(k, _)| k).collect();
        assert!(first_two.contains(&"small".to_string()), "{first_two:?}");
    }

    #[test]
    fn the_next_job_goes_to_the_tenant_with_fewest_running() {
        let mut q = FairQueue::default();
        q.push("a".into(), 1);
        q.push("a".into(), 2);
        q.push("a".into(), 3);
        assert_eq!(q.pop(usize::MAX), Some(("a".into(), 1)));
        assert_eq!(q.pop(usize::MAX), Some(("a".into(), 2)));
        q.push("b".into(), 10);
        assert_eq!(
            q.pop(usize::MAX),
            Some(("b".into(), 10)),
            "b has none running"
        );
        q.finished("a");
        q.finished("a");
        assert_eq!(q.pop(usize::MAX), Some(("a".into(), 3)));
        assert!(q.is_empty());
    }

    #[test]
    fn a_tenants_own_jobs_keep_their_order_and_keys_take_turns() {
        let mut q = FairQueue::default();
        for i in 0..3 {
            q.push("a".into(), i);
            q.push("b".into(), 10 + i);
        }
        let mut order = Vec::new();
        while let Some((k, v)) = q.pop(usize::MAX) {
            q.finished(&k);
            order.push(v);
        }
        assert_eq!(order, [0, 10, 1, 11, 2, 12]);
    }

    #[test]
    fn a_key_at_its_cap_waits_even_when_workers_are_free() {
        let mut q = FairQueue::default();
        q.push("big".into(), 1);
        q.push("big".into(), 2);
        assert_eq!(q.pop(1), Some(("big".into(), 1)));
        assert_eq!(q.pop(1), None, "the second slot stays free for others");
        q.push("small".into(), 3);
        assert_eq!(q.pop(1), Some(("small".into(), 3)));
        q.finished("big");
        assert_eq!(q.pop(1), Some(("big".into(), 2)));
    }

    #[test]
    fn finished_keys_are_forgotten() {
        let mut q = FairQueue::default();
        q.push("a".into(), 1);
        let (k, _) = q.pop(usize::MAX).unwrap();
        q.finished(&k);
        assert!(q.running.is_empty() && q.waiting.is_empty() && q.served.is_empty());
    }
}
