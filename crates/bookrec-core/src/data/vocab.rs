//! [`Vocab`]: the bijection between raw ids (strings as they appear in the files, after
//! normalisation) and dense `u32` indices.

use std::hash::Hasher;

use rustc_hash::FxHasher;
use serde::{Deserialize, Serialize};

/// Raw id ⇄ dense index. Indices are assigned in first-seen order, so the same file always
/// gives the same indices.
///
/// Stored as one arena: all ids' text back to back, the end of each, a 32-bit hash of each,
/// and an open-addressing table of indices. Interning a new id appends to the arena (no
/// allocation per id; loading Book-Crossing interns ~620k distinct ids, and a map of boxed
/// strings spent a quarter of the load time allocating, freeing and chasing pointers), and a
/// clone is three memcpys.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Vocab {
    /// The ids' text in index order.
    text: String,
    /// `ends[i]`: end of id i in `text` (its start is `ends[i − 1]`, or 0).
    ends: Vec<usize>,
    /// [`hash_id`] of each id: compared before the bytes on lookup, reused when the table grows.
    hashes: Vec<u32>,
    /// Index + 1 of the id in each slot (0 = empty); linear probing, a power-of-two size at
    /// most half full.
    table: Vec<u32>,
}

fn hash_id(id: &str) -> u32 {
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    // Fibonacci mixing so the top bits (the slot) depend on all input bits.
    (h.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

impl Vocab {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty vocabulary with room for `ids` ids of `bytes` bytes in total.
    pub fn with_capacity(ids: usize, bytes: usize) -> Self {
        let mut v = Vocab {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(ids),
            hashes: Vec::with_capacity(ids),
            table: Vec::new(),
        };
        v.grow_to(ids);
        v
    }

    /// First slot to probe for `hash` (the table size is a power of two).
    #[inline]
    fn home(&self, hash: u32) -> usize {
        ((hash as u64 * self.table.len() as u64) >> 32) as usize
    }

    /// Slot holding `id` (`Ok`) or the empty slot where it would go (`Err`). The table is
    /// never full, so the probe ends.
    #[inline]
    fn find(&self, id: &str, hash: u32) -> Result<usize, usize> {
        let mask = self.table.len() - 1;
        let mut slot = self.home(hash);
        loop {
            match self.table[slot] {
                0 => return Err(slot),
                x => {
                    let i = (x - 1) as usize;
                    if self.hashes[i] == hash && self.id(i as u32) == id {
                        return Ok(slot);
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Resizes the table for at least `n` ids at most half full, re-inserting from the stored
    /// hashes.
    fn grow_to(&mut self, n: usize) {
        let size = (2 * n).next_power_of_two().max(16);
        if size <= self.table.len() {
            return;
        }
        self.table = vec![0; size];
        let mask = size - 1;
        for (i, &h) in self.hashes.iter().enumerate() {
            let mut slot = self.home(h);
            while self.table[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.table[slot] = i as u32 + 1;
        }
    }

    /// Appends `id` (not present; its empty slot is `slot`) and returns its index.
    fn push(&mut self, id: &str, hash: u32, slot: usize) -> u32 {
        // Slot values are index + 1, so the last index is u32::MAX − 1.
        let i = u32::try_from(self.ends.len())
            .ok()
            .filter(|&i| i < u32::MAX)
            .expect("more than 4 billion distinct ids");
        self.text.push_str(id);
        self.ends.push(self.text.len());
        self.hashes.push(hash);
        self.table[slot] = i + 1;
        i
    }

    /// The index of `id`, adding it if new.
    pub fn intern(&mut self, id: &str) -> u32 {
        if 2 * (self.ends.len() + 1) > self.table.len() {
            self.grow_to(self.ends.len() + 1);
        }
        let hash = hash_id(id);
        match self.find(id, hash) {
            Ok(slot) => self.table[slot] - 1,
            Err(slot) => self.push(id, hash, slot),
        }
    }

    /// The index of `id`, if known.
    pub fn get(&self, id: &str) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        self.find(id, hash_id(id))
            .ok()
            .map(|slot| self.table[slot] - 1)
    }

    /// The raw id of index `i`. Panics if out of range (indices come from this vocab).
    pub fn id(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// All raw ids in index order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = &str> {
        (0..self.ends.len()).map(|i| self.id(i as u32))
    }

    /// The vocabulary of the ids with `keep[i]` (index order kept, renumbered from 0), and
    /// each old index's new one (`u32::MAX` for dropped ids). No id is hashed or compared
    /// again: they are known distinct.
    pub fn subset(&self, keep: &[bool]) -> (Vocab, Vec<u32>) {
        let n = keep.iter().filter(|&&k| k).count();
        let mut out = Vocab::with_capacity(n, self.text.len());
        let mut remap = vec![u32::MAX; self.len()];
        let mask = out.table.len() - 1;
        for (i, r) in remap.iter_mut().enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                let hash = self.hashes[i];
                let mut slot = out.home(hash);
                while out.table[slot] != 0 {
                    slot = (slot + 1) & mask;
                }
                *r = out.push(self.id(i as u32), hash, slot);
            }
        }
        (out, remap)
    }
}

impl From<Vec<String>> for Vocab {
    fn from(ids: Vec<String>) -> Self {
        let mut v = Vocab::new();
        for id in &ids {
            v.intern(id);
        }
        v
    }
}

impl From<Vocab> for Vec<String> {
    fn from(v: Vocab) -> Self {
        v.ids().map(String::from).collect()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Vocab {
    fn from_iter<T: IntoIterator<Item = S>>(iter: T) -> Self {
        let mut v = Vocab::new();
        for id in iter {
            v.intern(id.as_ref());
        }
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_seen_order() {
        let mut v = Vocab::new();
        assert_eq!(v.intern("b"), 0);
        assert_eq!(v.intern("a"), 1);
        assert_eq!(v.intern("b"), 0);
        assert_eq!(v.get("a"), Some(1));
        assert_eq!(v.get("zz"), None);
        assert_eq!(v.id(1), "a");
    }

    #[test]
    fn grows_and_subsets() {
        let ids: Vec<String> = (0..5000)
            .map(|x| format!("id{}", x * 7919 % 10007))
            .collect();
        let v: Vocab = ids.iter().collect();
        assert_eq!(v.len(), 5000);
        assert!(ids
            .iter()
            .enumerate()
            .all(|(i, id)| v.get(id) == Some(i as u32)));
        assert_eq!(v.get(""), None);
        let keep: Vec<bool> = (0..5000).map(|i| i % 3 == 0).collect();
        let (s, remap) = v.subset(&keep);
        assert_eq!(s.len(), 1667);
        for (i, id) in ids.iter().enumerate() {
            if i % 3 == 0 {
                assert_eq!(remap[i], (i / 3) as u32);
                assert_eq!(s.get(id), Some(remap[i]));
                assert_eq!(s.id(remap[i]), id);
            } else {
                assert_eq!((remap[i], s.get(id)), (u32::MAX, None));
            }
        }
        let mut s2 = s.clone();
        assert_eq!(s2.intern("new"), 1667);
        assert_eq!(s2.intern(&ids[3]), 1);
        assert!(Vocab::new().get("x").is_none() && Vocab::new().subset(&[]).0.is_empty());
    }

    proptest! {
        #[test]
        fn round_trip(ids in proptest::collection::vec(".{0,12}", 0..50)) {
            let v: Vocab = ids.iter().collect();
            for id in &ids {
                let i = v.get(id).unwrap();
                prop_assert_eq!(v.id(i), id.as_str());
            }
            let json = serde_json::to_string(&v).unwrap();
            let back: Vocab = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.len(), v.len());
            for (a, b) in back.ids().zip(v.ids()) { prop_assert_eq!(a, b); }
        }
    }
}
