//! [`Vocab`]: the bijection between raw ids (strings as they appear in the files, after
//! normalisation) and dense `u32` indices.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Raw id ⇄ dense index. Indices are assigned in first-seen order, so the same file always
/// gives the same indices.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Vocab {
    ids: Vec<Box<str>>,
    index: FxHashMap<Box<str>, u32>,
}

impl Vocab {
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `id`, adding it if new.
    pub fn intern(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = u32::try_from(self.ids.len()).expect("more than 4 billion distinct ids");
        let boxed: Box<str> = id.into();
        self.ids.push(boxed.clone());
        self.index.insert(boxed, i);
        i
    }

    /// The index of `id`, if known.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The raw id of index `i`. Panics if out of range (indices come from this vocab).
    pub fn id(&self, i: u32) -> &str {
        &self.ids[i as usize]
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// All raw ids in index order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = &str> {
        self.ids.iter().map(|s| &**s)
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
        v.ids.into_iter().map(String::from).collect()
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
