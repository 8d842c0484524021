//! Id interning for the ratings loader: raw id fields → dense indices in first-seen order.
//!
//! Interning row by row through one big hash table costs a cache miss per row (Book-Crossing
//! has 340k distinct ISBNs in random order), which makes loading memory-latency bound. So the
//! parser only *stages* each row's normalised id as a fixed-size key, and [`Interner::resolve`]
//! turns all keys into indices at the end: keys are radix-partitioned by hash into 256
//! buckets (sequential writes), each bucket is deduplicated with a small table that stays in
//! cache, and the distinct ids are numbered by the row of their first occurrence. The result
//! is exactly what row-by-row interning gives, with sequential memory traffic.
//!
//! A key is the id's bytes inline when it has at most 15 (ISBNs, integer ids), with the
//! length in the last byte; a longer id is registered in a side list and keyed by its
//! position there (last byte 0xFF).

use rustc_hash::{FxHashMap, FxHashSet};

use super::ids::normalize_id;

/// murmur3's 64-bit finaliser: full avalanche, so every bit range of the hash is usable (the
/// partition uses bits 40–47, hashbrown its low bits and top 7 bits).
#[inline]
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[inline]
fn hash_key(k: u128) -> u64 {
    fmix64((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k >> 64) as u64)
}

/// Hasher for `u128` keys.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = fmix64(self.0 ^ u64::from(b));
        }
    }
    #[inline]
    fn write_u128(&mut self, n: u128) {
        self.0 = hash_key(n);
    }
}

type KeyMap = std::collections::HashMap<u128, u32, std::hash::BuildHasherDefault<KeyHasher>>;

const LONG: u8 = 0xFF;

/// The key of an id of at most 15 bytes: the bytes, zero-padded, length in byte 15.
#[inline]
fn inline_key(b: &[u8]) -> Option<u128> {
    if b.len() > 15 {
        return None;
    }
    let mut a = [0u8; 16];
    a[..b.len()].copy_from_slice(b);
    a[15] = b.len() as u8;
    Some(u128::from_le_bytes(a))
}

fn long_key(index: u32) -> u128 {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&index.to_le_bytes());
    a[15] = LONG;
    u128::from_le_bytes(a)
}

/// Staged ids of kept rows, and the bookkeeping for "distinct as written".
#[derive(Default)]
pub(crate) struct Interner {
    keys: Vec<u128>,
    /// Per staged row: the raw field was already in normalised form.
    as_is: Vec<bool>,
    long_index: FxHashMap<Box<[u8]>, u32>,
    long_ids: Vec<Box<[u8]>>,
    /// Raw spellings that normalisation changed (of staged rows).
    changed: FxHashSet<Box<[u8]>>,
    last_raw: Vec<u8>,
    last: Option<Key>,
}

/// A normalised id ready to be staged; `None` from [`Interner::key`] means the id is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    key: u128,
    as_is: bool,
}

/// Ids in first-seen order, and each staged row's index.
pub(crate) struct Resolved {
    arena: Vec<u8>,
    ends: Vec<usize>,
    pub rows: Vec<u32>,
    /// Distinct raw spellings of the ids (before normalisation).
    pub raw_distinct: usize,
}

impl Resolved {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Total length of the ids in bytes.
    pub fn bytes(&self) -> usize {
        self.arena.len()
    }

    pub fn id(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena[start..self.ends[i]]
    }
}

impl Interner {
    pub fn with_capacity(rows: usize) -> Self {
        Interner {
            keys: Vec::with_capacity(rows),
            as_is: Vec::with_capacity(rows),
            ..Default::default()
        }
    }

    /// Normalises a raw id field into a key (`None` if empty).
    #[inline]
    pub fn key(&mut self, raw: &[u8]) -> Option<Key> {
        if self.last.is_some() && raw == self.last_raw.as_slice() {
            return self.last;
        }
        let norm = normalize_id(raw);
        if norm.is_empty() {
            return None;
        }
        let key = match inline_key(&norm) {
            Some(k) => k,
            None => {
                let next = self.long_ids.len() as u32;
                let i = *self.long_index.entry((*norm).into()).or_insert(next);
                if i == next {
                    self.long_ids.push((*norm).into());
                }
                long_key(i)
            }
        };
        let k = Key {
            key,
            as_is: norm.len() == raw.len() && *norm == *raw,
        };
        self.last_raw.clear();
        self.last_raw.extend_from_slice(raw);
        self.last = Some(k);
        Some(k)
    }

    /// Stages the id of a kept row; `raw` is the field it came from.
    #[inline]
    pub fn push(&mut self, k: Key, raw: &[u8]) {
        self.keys.push(k.key);
        self.as_is.push(k.as_is);
        if !k.as_is && !self.changed.contains(raw) {
            self.changed.insert(raw.into());
        }
    }

    /// Appends the rows staged by `other` (the part of the file that follows).
    pub fn append(&mut self, other: Interner) {
        let remap: Vec<u128> = other
            .long_ids
            .iter()
            .map(|id| {
                let next = self.long_ids.len() as u32;
                let i = *self.long_index.entry(id.clone()).or_insert(next);
                if i == next {
                    self.long_ids.push(id.clone());
                }
                long_key(i)
            })
            .collect();
        self.keys.extend(other.keys.iter().map(|&k| {
            if k.to_le_bytes()[15] == LONG {
                let mut a = [0u8; 4];
                a.copy_from_slice(&k.to_le_bytes()[..4]);
                remap[u32::from_le_bytes(a) as usize]
            } else {
                k
            }
        }));
        self.as_is.extend_from_slice(&other.as_is);
        for raw in other.changed {
            self.changed.insert(raw);
        }
        self.last = None;
    }

    /// Numbers the distinct ids by first occurrence and gives every staged row its index.
    pub fn resolve(self) -> Resolved {
        const BITS: u32 = 8;
        const PARTS: usize = 1 << BITS;
        let part_of = |k: u128| ((hash_key(k) >> 40) as usize) & (PARTS - 1);
        let Interner {
            keys,
            as_is,
            long_ids,
            changed,
            ..
        } = self;
        let n = keys.len();

        // 1. Partition (key, row) by hash, keeping row order within a partition.
        let mut start = vec![0usize; PARTS + 1];
        let parts: Vec<u8> = keys.iter().map(|&k| part_of(k) as u8).collect();
        for &p in &parts {
            start[p as usize + 1] += 1;
        }
        for p in 0..PARTS {
            start[p + 1] += start[p];
        }
        let mut next = start.clone();
        let mut part_keys = vec![0u128; n];
        let mut part_rows = vec![0u32; n];
        for (row, (&k, &p)) in keys.iter().zip(&parts).enumerate() {
            let p = p as usize;
            part_keys[next[p]] = k;
            part_rows[next[p]] = row as u32;
            next[p] += 1;
        }
        drop(keys);
        drop(parts);

        // 2. Deduplicate each partition with a small, cache-resident table.
        let mut local = KeyMap::default();
        let mut distinct: Vec<u128> = Vec::new();
        let mut first_row: Vec<u32> = Vec::new();
        let mut slot_of = vec![0u32; n];
        for p in 0..PARTS {
            local.clear();
            for pos in start[p]..start[p + 1] {
                let k = part_keys[pos];
                let slot = *local.entry(k).or_insert_with(|| {
                    distinct.push(k);
                    first_row.push(part_rows[pos]);
                    (distinct.len() - 1) as u32
                });
                slot_of[pos] = slot;
            }
        }
        drop(part_keys);

        // 3. Number the distinct ids by their first row (a scan over rows, not a sort: first
        // rows are distinct).
        let mut slot_at_row = vec![u32::MAX; n];
        for (slot, &row) in first_row.iter().enumerate() {
            slot_at_row[row as usize] = slot as u32;
        }
        let order: Vec<u32> = slot_at_row.into_iter().filter(|&s| s != u32::MAX).collect();
        let mut index_of_slot = vec![0u32; distinct.len()];
        for (i, &s) in order.iter().enumerate() {
            index_of_slot[s as usize] = i as u32;
        }
        let mut rows = vec![0u32; n];
        for pos in 0..n {
            rows[part_rows[pos] as usize] = index_of_slot[slot_of[pos] as usize];
        }

        // 4. The ids' bytes in index order; distinct raw spellings.
        let mut arena = Vec::with_capacity(distinct.len() * 10);
        let mut ends = Vec::with_capacity(distinct.len());
        for &s in &order {
            let k = distinct[s as usize];
            let a = k.to_le_bytes();
            if a[15] == LONG {
                let mut i = [0u8; 4];
                i.copy_from_slice(&a[..4]);
                arena.extend_from_slice(&long_ids[u32::from_le_bytes(i) as usize]);
            } else {
                arena.extend_from_slice(&a[..a[15] as usize]);
            }
            ends.push(arena.len());
        }
        let mut seen_as_is = vec![false; distinct.len()];
        for (&i, &as_is) in rows.iter().zip(&as_is) {
            if as_is {
                seen_as_is[i as usize] = true;
            }
        }
        let raw_distinct = seen_as_is.iter().filter(|&&b| b).count() + changed.len();
        Resolved {
            arena,
            ends,
            rows,
            raw_distinct,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stage(it: &mut Interner, raw: &[u8]) -> bool {
        match it.key(raw) {
            Some(k) => {
                it.push(k, raw);
                true
            }
            None => false,
        }
    }

    #[test]
    fn first_seen_order_and_spellings() {
        let mut it = Interner::default();
        let long = b"a-very-long-identifier-of-a-book";
        for raw in [
            &b"042512164x"[..],
            b"7",
            b"042512164X",
            b"'7'",
            long,
            b"7\0",
        ] {
            assert!(stage(&mut it, raw));
        }
        assert!(!stage(&mut it, b"  "));
        let r = it.resolve();
        assert_eq!(r.rows, vec![0, 1, 0, 1, 2, 3]);
        assert_eq!(r.id(0), b"042512164X");
        assert_eq!(r.id(1), b"7");
        assert_eq!(r.id(2), long);
        assert_eq!(r.id(3), b"7\0");
        // Written as: 042512164x, 7, 042512164X, '7', long, 7\0.
        assert_eq!(r.raw_distinct, 6);
    }

    #[test]
    fn append_remaps_long_ids() {
        let mut a = Interner::default();
        let mut b = Interner::default();
        let l1 = b"first-long-identifier-xxxxxxxx";
        let l2 = b"second-long-identifier-yyyyyyy";
        stage(&mut a, l1);
        stage(&mut b, l2);
        stage(&mut b, l1);
        stage(&mut b, b"short");
        a.append(b);
        let r = a.resolve();
        assert_eq!(r.rows, vec![0, 1, 0, 2]);
        assert_eq!(r.id(1), l2);
        assert_eq!(r.id(2), b"short");
    }

    proptest! {
        /// Same result as interning row by row through one map.
        #[test]
        fn equals_naive_interning(ids in prop::collection::vec("[0-9a-zX ]{0,20}", 0..400)) {
            let mut it = Interner::default();
            let mut naive: Vec<Vec<u8>> = Vec::new();
            let mut naive_rows = Vec::new();
            for raw in &ids {
                if stage(&mut it, raw.as_bytes()) {
                    let norm = normalize_id(raw.as_bytes()).into_owned();
                    let i = match naive.iter().position(|x| *x == norm) {
                        Some(i) => i,
                        None => { naive.push(norm); naive.len() - 1 }
                    };
                    naive_rows.push(i as u32);
                }
            }
            let r = it.resolve();
            prop_assert_eq!(&r.rows, &naive_rows);
            prop_assert_eq!(r.len(), naive.len());
            for (i, id) in naive.iter().enumerate() {
                prop_assert_eq!(r.id(i), id.as_slice());
            }
        }
    }
}
