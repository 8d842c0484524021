//! [`Interactions`]: ratings as COO triplets over dense user/item indices, with CSR views.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ItemGroups, Vocab};

/// The closed interval of valid explicit ratings, e.g. 1–10 for Book-Crossing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingScale {
    pub min: f32,
    pub max: f32,
}

impl RatingScale {
    pub fn new(min: f32, max: f32) -> Self {
        RatingScale { min, max }
    }

    /// The middle of the scale, (min + max) / 2: below it, a rating says "disliked".
    pub fn midpoint(&self) -> f32 {
        (self.min + self.max) / 2.0
    }

    /// Clips a prediction into the scale.
    #[inline]
    pub fn clip(&self, r: f32) -> f32 {
        r.clamp(self.min, self.max)
    }

    pub fn contains(&self, r: f32) -> bool {
        r >= self.min && r <= self.max
    }

    /// The smallest scale covering all of `ratings` (1–5 if empty).
    pub fn covering(ratings: &[f32]) -> Self {
        let mut it = ratings.iter().copied();
        match it.next() {
            None => RatingScale::new(1.0, 5.0),
            Some(first) => {
                let (lo, hi) = it.fold((first, first), |(lo, hi), r| (lo.min(r), hi.max(r)));
                RatingScale::new(lo, hi)
            }
        }
    }
}

/// Compressed sparse rows: row `r` has columns `indices[indptr[r]..indptr[r+1]]` (sorted
/// ascending) with `values` alongside.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Csr {
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csr {
    /// Builds from COO triplets; `n_rows` rows, columns sorted within each row.
    pub fn from_coo(n_rows: usize, rows: &[u32], cols: &[u32], vals: &[f32]) -> Self {
        debug_assert_eq!(rows.len(), cols.len());
        debug_assert_eq!(rows.len(), vals.len());
        let mut indptr = vec![0usize; n_rows + 1];
        for &r in rows {
            indptr[r as usize + 1] += 1;
        }
        for r in 0..n_rows {
            indptr[r + 1] += indptr[r];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; rows.len()];
        let mut values = vec![0f32; rows.len()];
        for k in 0..rows.len() {
            let r = rows[k] as usize;
            indices[next[r]] = cols[k];
            values[next[r]] = vals[k];
            next[r] += 1;
        }
        let mut csr = Csr {
            indptr,
            indices,
            values,
        };
        csr.sort_rows();
        csr
    }

    fn sort_rows(&mut self) {
        let mut pairs: Vec<(u32, f32)> = Vec::new();
        for r in 0..self.n_rows() {
            let (a, b) = (self.indptr[r], self.indptr[r + 1]);
            if self.indices[a..b].windows(2).all(|w| w[0] <= w[1]) {
                continue;
            }
            pairs.clear();
            pairs.extend(
                self.indices[a..b]
                    .iter()
                    .copied()
                    .zip(self.values[a..b].iter().copied()),
            );
            pairs.sort_by_key(|p| p.0);
            for (k, (c, v)) in pairs.iter().enumerate() {
                self.indices[a + k] = *c;
                self.values[a + k] = *v;
            }
        }
    }

    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Columns and values of row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    #[inline]
    pub fn row_len(&self, r: usize) -> usize {
        self.indptr[r + 1] - self.indptr[r]
    }

    /// True if row `r` contains column `c` (binary search).
    pub fn contains(&self, r: usize, c: u32) -> bool {
        self.row(r).0.binary_search(&c).is_ok()
    }
}

/// A set of user–book interactions over shared vocabularies.
///
/// `user[k], item[k], rating[k]` is one explicit rating. `implicit_user/implicit_item` hold
/// interactions without a rating (Book-Crossing's 0 = "interacted, no rating"): they are never
/// rating-prediction targets, but models that use implicit feedback (SVD++, implicit ALS) read
/// them. Splits keep the vocabularies shared (`Arc`), so train and test indices agree; a user
/// with no training ratings is "unknown" to a model fitted on that train set.
#[derive(Clone, Debug)]
pub struct Interactions {
    pub users: Arc<Vocab>,
    pub items: Arc<Vocab>,
    pub user: Vec<u32>,
    pub item: Vec<u32>,
    pub rating: Vec<f32>,
    /// Seconds since the epoch, when the file had a timestamp column.
    pub timestamp: Option<Vec<i64>>,
    pub implicit_user: Vec<u32>,
    pub implicit_item: Vec<u32>,
    pub scale: RatingScale,
    /// Side information about the books (catalogue groups: author, work, publisher, period),
    /// indexed like `items`; `None` when no catalogue was given. Shared by splits. Only models
    /// that use side information (`hybrid`) read it.
    pub item_groups: Option<Arc<ItemGroups>>,
}

impl Interactions {
    /// Builds from raw-id triplets (a convenience for tests, fixtures and bindings).
    pub fn from_triplets<U: AsRef<str>, I: AsRef<str>>(
        triplets: impl IntoIterator<Item = (U, I, f32)>,
        scale: Option<RatingScale>,
    ) -> Self {
        let mut users = Vocab::new();
        let mut items = Vocab::new();
        let (mut u, mut i, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for (uid, iid, rating) in triplets {
            u.push(users.intern(uid.as_ref()));
            i.push(items.intern(iid.as_ref()));
            r.push(rating);
        }
        let scale = scale.unwrap_or_else(|| RatingScale::covering(&r));
        Interactions {
            users: Arc::new(users),
            items: Arc::new(items),
            user: u,
            item: i,
            rating: r,
            timestamp: None,
            implicit_user: Vec::new(),
            implicit_item: Vec::new(),
            scale,
            item_groups: None,
        }
    }

    /// Number of explicit ratings.
    pub fn len(&self) -> usize {
        self.rating.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rating.is_empty()
    }

    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    pub fn n_implicit(&self) -> usize {
        self.implicit_user.len()
    }

    /// Mean explicit rating (the scale midpoint if there are none).
    pub fn global_mean(&self) -> f32 {
        if self.rating.is_empty() {
            return self.scale.midpoint();
        }
        (self.rating.iter().map(|&r| r as f64).sum::<f64>() / self.rating.len() as f64) as f32
    }

    /// The rows `rows` of the explicit ratings, over the same vocabularies. Implicit
    /// interactions are carried over only if `keep_implicit` (train sets keep them, test sets
    /// don't).
    pub fn subset(&self, rows: &[usize], keep_implicit: bool) -> Self {
        Interactions {
            users: self.users.clone(),
            items: self.items.clone(),
            user: rows.iter().map(|&k| self.user[k]).collect(),
            item: rows.iter().map(|&k| self.item[k]).collect(),
            rating: rows.iter().map(|&k| self.rating[k]).collect(),
            timestamp: self
                .timestamp
                .as_ref()
                .map(|t| rows.iter().map(|&k| t[k]).collect()),
            implicit_user: if keep_implicit {
                self.implicit_user.clone()
            } else {
                Vec::new()
            },
            implicit_item: if keep_implicit {
                self.implicit_item.clone()
            } else {
                Vec::new()
            },
            scale: self.scale,
            item_groups: self.item_groups.clone(),
        }
    }

    /// Explicit ratings by user: row = user, columns = items, values = ratings.
    pub fn by_user(&self) -> Csr {
        Csr::from_coo(self.n_users(), &self.user, &self.item, &self.rating)
    }

    /// Explicit ratings by item: row = item, columns = users.
    pub fn by_item(&self) -> Csr {
        Csr::from_coo(self.n_items(), &self.item, &self.user, &self.rating)
    }

    /// Every interaction (explicit and implicit) by user, values 1.0 for implicit ones and the
    /// rating for explicit ones. A (user, item) pair present in both appears twice only if the
    /// cleaner let it through; loaders deduplicate.
    pub fn all_by_user(&self) -> Csr {
        let mut u = self.user.clone();
        let mut i = self.item.clone();
        let mut r = self.rating.clone();
        u.extend_from_slice(&self.implicit_user);
        i.extend_from_slice(&self.implicit_item);
        r.extend(std::iter::repeat_n(0.0f32, self.implicit_user.len()));
        Csr::from_coo(self.n_users(), &u, &i, &r)
    }

    /// Number of explicit ratings per user.
    pub fn user_counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.n_users()];
        for &u in &self.user {
            c[u as usize] += 1;
        }
        c
    }

    /// Number of explicit ratings per item.
    pub fn item_counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.n_items()];
        for &i in &self.item {
            c[i as usize] += 1;
        }
        c
    }

    /// Re-expresses `other` (e.g. a test file loaded separately) over this set's vocabularies.
    /// Rows whose user or book this set does not know get `None` in the returned index columns.
    pub fn align(&self, other: &Interactions) -> AlignedRatings {
        let same_users = Arc::ptr_eq(&self.users, &other.users);
        let same_items = Arc::ptr_eq(&self.items, &other.items);
        let map_users: Vec<Option<u32>> = if same_users {
            Vec::new()
        } else {
            other.users.ids().map(|id| self.users.get(id)).collect()
        };
        let map_items: Vec<Option<u32>> = if same_items {
            Vec::new()
        } else {
            other.items.ids().map(|id| self.items.get(id)).collect()
        };
        AlignedRatings {
            user: other
                .user
                .iter()
                .map(|&u| {
                    if same_users {
                        Some(u)
                    } else {
                        map_users[u as usize]
                    }
                })
                .collect(),
            item: other
                .item
                .iter()
                .map(|&i| {
                    if same_items {
                        Some(i)
                    } else {
                        map_items[i as usize]
                    }
                })
                .collect(),
            rating: other.rating.clone(),
        }
    }
}

/// Test ratings expressed over a model's vocabularies; `None` = unknown to the model.
#[derive(Clone, Debug)]
pub struct AlignedRatings {
    pub user: Vec<Option<u32>>,
    pub item: Vec<Option<u32>>,
    pub rating: Vec<f32>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csr_rows_sorted() {
        let csr = Csr::from_coo(3, &[2, 0, 2, 0], &[5, 1, 3, 0], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(csr.row(0), (&[0u32, 1][..], &[4.0f32, 2.0][..]));
        assert_eq!(csr.row(1).0.len(), 0);
        assert_eq!(csr.row(2), (&[3u32, 5][..], &[3.0f32, 1.0][..]));
        assert!(csr.contains(2, 5));
        assert!(!csr.contains(2, 4));
    }

    #[test]
    fn align_maps_unknowns() {
        let train = Interactions::from_triplets([("u1", "a", 3.0), ("u2", "b", 4.0)], None);
        let test = Interactions::from_triplets(
            [("u2", "a", 5.0), ("u9", "b", 1.0), ("u1", "z", 2.0)],
            None,
        );
        let al = train.align(&test);
        assert_eq!(al.user, vec![Some(1), None, Some(0)]);
        assert_eq!(al.item, vec![Some(0), Some(1), None]);
    }
}
