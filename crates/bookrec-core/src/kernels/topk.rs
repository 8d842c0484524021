//! Top-k selection with a bounded heap: O(m log k) over m candidates, no full sort.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A candidate; `Ord` puts the *worse* entry first so the max-heap's top is the one to evict.
/// Better = higher score; equal scores: lower item id (so results are deterministic).
#[derive(Clone, Copy, Debug)]
struct Entry {
    item: u32,
    score: f32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.item.cmp(&other.item))
    }
}

/// Keeps the `k` best (item, score) pairs seen so far. NaN scores are ignored.
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    /// Would (item, score) enter the current top k? Cheap; lets callers skip costly checks
    /// (e.g. "already seen") for candidates that would be rejected anyway.
    #[inline]
    pub fn accepts(&self, item: u32, score: f32) -> bool {
        if self.k == 0 || score.is_nan() {
            return false;
        }
        if self.heap.len() < self.k {
            return true;
        }
        match self.heap.peek() {
            Some(worst) => Entry { item, score } < *worst,
            None => true,
        }
    }

    #[inline]
    pub fn push(&mut self, item: u32, score: f32) {
        if !self.accepts(item, score) {
            return;
        }
        self.heap.push(Entry { item, score });
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    /// The kept pairs, best first.
    pub fn into_sorted(self) -> Vec<(u32, f32)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| (e.item, e.score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_with_deterministic_ties() {
        let mut t = TopK::new(3);
        for (i, s) in [
            (5, 1.0),
            (1, 3.0),
            (2, 2.0),
            (9, 3.0),
            (3, f32::NAN),
            (4, 2.0),
        ] {
            t.push(i, s);
        }
        assert_eq!(t.into_sorted(), vec![(1, 3.0), (9, 3.0), (2, 2.0)]);
        let mut empty = TopK::new(0);
        empty.push(1, 1.0);
        assert!(empty.into_sorted().is_empty());
    }
}
