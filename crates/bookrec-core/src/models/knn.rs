//! Item-based k nearest neighbours with baselines (Koren 2010; Surprise's `KNNBaseline`):
//!
//! r̂(u,i) = b_ui + Σ_{j∈N_k(i;u)} s_ij (r_uj − b_uj) / Σ_{j∈N_k(i;u)} s_ij,
//! b_ui = μ + b_u + b_i (Surprise's ALS baselines), where N_k(i;u) are the (at most) k books
//! most similar to i that u rated, among i's stored neighbours. With fewer than `min_k` such
//! books the prediction is b_ui.
//!
//! Similarities (over the users who rated both books, n_ij of them):
//! - `pearson_baseline` (default): ρ_ij = Σ (r_ui − b_ui)(r_uj − b_uj) / √(Σ(r_ui − b_ui)² Σ(r_uj − b_uj)²),
//!   shrunk as Surprise does: s_ij = ρ_ij·(n_ij − 1)/(n_ij − 1 + shrinkage);
//! - `cosine`: Σ r_ui r_uj / √(Σ r_ui² Σ r_uj²), shrunk by n_ij/(n_ij + shrinkage)
//!   (shrinkage 0 = Surprise's plain cosine).
//!
//! Unlike Surprise, which holds a dense n_items² matrix (impossible for Book-Crossing's ~186k
//! books), only each book's `max_neighbours` most similar books with s > 0 are kept (a sparse
//! list; negative similarities are never used by the prediction rule anyway). Similarities are
//! computed item by item in parallel through the users' rows, with one dense accumulator per
//! thread. Deterministic (ties broken by book index).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::baseline::als_biases;
use super::{check_at_least_one, check_non_negative, ParamSet, Scorer};
use crate::data::{Csr, Interactions};
use crate::progress::Progress;
use crate::Result;

/// Similarity measure between books.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Similarity {
    PearsonBaseline,
    Cosine,
}

/// Parameters of `knn`. Defaults follow Surprise's `KNNBaseline` (item-based, pearson_baseline,
/// shrinkage 100, baselines by ALS with reg_i 10, reg_u 15, 10 epochs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnnParams {
    /// Neighbours used per prediction.
    pub k: usize,
    /// Minimum neighbours for a personalised prediction.
    pub min_k: usize,
    /// Neighbours stored per book.
    pub max_neighbours: usize,
    pub similarity: Similarity,
    pub shrinkage: f32,
    /// Baseline ALS parameters.
    pub reg_u: f32,
    pub reg_i: f32,
    pub baseline_epochs: usize,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: 40,
            min_k: 1,
            max_neighbours: 100,
            similarity: Similarity::PearsonBaseline,
            shrinkage: 100.0,
            reg_u: 15.0,
            reg_i: 10.0,
            baseline_epochs: 10,
        }
    }
}

impl ParamSet for KnnParams {
    const KEYS: &'static [&'static str] = &[
        "k",
        "min_k",
        "max_neighbours",
        "similarity",
        "shrinkage",
        "reg_u",
        "reg_i",
        "baseline_epochs",
    ];

    fn check(&self) -> Result<()> {
        check_at_least_one("k", self.k)?;
        check_at_least_one("max_neighbours", self.max_neighbours)?;
        if self.min_k > self.k {
            return Err(crate::Error::param(
                "min_k",
                self.min_k,
                "must be at most k",
            ));
        }
        check_non_negative("shrinkage", self.shrinkage)?;
        check_non_negative("reg_u", self.reg_u)?;
        check_non_negative("reg_i", self.reg_i)?;
        check_at_least_one("baseline_epochs", self.baseline_epochs)
    }
}

/// The fitted neighbourhood model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnnScorer {
    pub user_bias: Vec<f32>,
    pub item_bias: Vec<f32>,
    pub k: usize,
    pub min_k: usize,
    /// Row i: i's neighbours j (ascending index) and s_ij > 0.
    pub neighbours: Csr,
    /// Row j: the books i that have j as a neighbour, with s_ij (to find, for a user, the books
    /// their ratings can influence without scanning every book's list).
    pub reverse: Csr,
    /// reg_u of the baselines: a new user's bias is Σ(r − μ − b_i)/(reg_u + n).
    pub fold_in_reg: f32,
}

impl KnnScorer {
    /// The neighbourhood part of r̂(u,i) for a user with sorted `items` / `ratings` and bias `bu`:
    /// Σ s(r − b_uj)/Σ s over the top-k rated neighbours, or 0 with fewer than min_k.
    pub fn neighbourhood_term(
        &self,
        mu: f32,
        bu: f32,
        items: &[u32],
        ratings: &[f32],
        item: u32,
    ) -> f32 {
        let (num, den, used) = self.fold(mu, bu, items, ratings, item, |_, _| {});
        if used == 0 || used < self.min_k || den <= 0.0 {
            0.0
        } else {
            num / den
        }
    }

    /// Merge-joins i's neighbour list with the user's ratings, keeps the top-k by similarity
    /// and returns (Σ s·res, Σ s, count); `visit(position in items, s·res)` sees each used term.
    fn fold(
        &self,
        mu: f32,
        bu: f32,
        items: &[u32],
        ratings: &[f32],
        item: u32,
        mut visit: impl FnMut(usize, f32),
    ) -> (f32, f32, usize) {
        if item as usize >= self.neighbours.n_rows() {
            return (0.0, 0.0, 0);
        }
        let (js, ss) = self.neighbours.row(item as usize);
        let residual = |pos: usize| {
            let j = items[pos] as usize;
            ratings[pos] - (mu + bu + self.item_bias.get(j).copied().unwrap_or(0.0))
        };
        // Matches as (s, position in the user's list).
        let mut matched: Vec<(f32, usize)> = Vec::new();
        let (mut a, mut b) = (0usize, 0usize);
        while a < js.len() && b < items.len() {
            match js[a].cmp(&items[b]) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    matched.push((ss[a], b));
                    a += 1;
                    b += 1;
                }
            }
        }
        if matched.len() > self.k {
            matched
                .select_nth_unstable_by(self.k - 1, |x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            matched.truncate(self.k);
        }
        let (mut num, mut den) = (0f32, 0f32);
        for &(s, pos) in &matched {
            let t = s * residual(pos);
            num += t;
            den += s;
            visit(pos, t);
        }
        (num, den, matched.len())
    }

    /// A new user's bias from their ratings (one ALS user step against the fitted b_i).
    pub fn fold_in_bias(&self, mu: f32, items: &[u32], ratings: &[f32]) -> f32 {
        let dev: f32 = items
            .iter()
            .zip(ratings)
            .map(|(&i, &r)| r - mu - self.item_bias.get(i as usize).copied().unwrap_or(0.0))
            .sum();
        dev / (self.fold_in_reg + items.len() as f32)
    }

    /// Calls `offer(i, r̂ unclipped)` for every candidate book (ascending index). Books that none of the user's
    /// ratings can influence (found through the reverse lists) get the baseline b_ui directly.
    pub(crate) fn score_candidates(
        &self,
        mu: f32,
        bu: f32,
        items: &[u32],
        ratings: &[f32],
        cands: &[u32],
        offer: &mut impl FnMut(u32, f32),
    ) {
        let mut touched: Vec<u32> = Vec::new();
        for &j in items {
            if (j as usize) < self.reverse.n_rows() {
                touched.extend_from_slice(self.reverse.row(j as usize).0);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        let base = |i: u32| mu + bu + self.item_bias.get(i as usize).copied().unwrap_or(0.0);
        for &i in cands {
            let s = if touched.binary_search(&i).is_ok() {
                base(i) + self.neighbourhood_term(mu, bu, items, ratings, i)
            } else {
                base(i)
            };
            offer(i, s);
        }
    }

    /// Per rated book (position in `items`), its share of the neighbour term of r̂(u, item):
    /// s(r − b_uj)/Σs when used, else 0. The folded-in user bias is left out: it is the same
    /// for every book, so it says how generous the reader is, not why this book.
    pub(crate) fn contributions(
        &self,
        mu: f32,
        items: &[u32],
        ratings: &[f32],
        item: u32,
    ) -> Vec<f32> {
        let bu = self.fold_in_bias(mu, items, ratings);
        let mut out = vec![0f32; items.len()];
        let mut terms = Vec::new();
        let (_, den, used) = self.fold(mu, bu, items, ratings, item, |pos, t| terms.push((pos, t)));
        if used >= self.min_k.max(1) && den > 0.0 {
            for (pos, t) in terms {
                out[pos] += t / den;
            }
        }
        out
    }
}

/// Per-thread accumulator for the similarities of one book against all others.
struct Acc {
    /// [Σ x_i x_j, Σ x_i², Σ x_j², n_ij] per other book.
    sums: Vec<[f32; 4]>,
    touched: Vec<u32>,
}

pub(crate) fn fit(p: &KnnParams, train: &Interactions, progress: &dyn Progress) -> Scorer {
    let mu = train.global_mean();
    let (bu, bi) = als_biases(train, mu, p.reg_u, p.reg_i, p.baseline_epochs, progress);
    // The values the similarity correlates: baseline residuals or raw ratings.
    let x: Vec<f32> = match p.similarity {
        Similarity::PearsonBaseline => train
            .user
            .iter()
            .zip(&train.item)
            .zip(&train.rating)
            .map(|((&u, &i), &r)| r - mu - bu[u as usize] - bi[i as usize])
            .collect(),
        Similarity::Cosine => train.rating.clone(),
    };
    let by_user = Csr::from_coo(train.n_users(), &train.user, &train.item, &x);
    let by_item = Csr::from_coo(train.n_items(), &train.item, &train.user, &x);
    drop(x);
    let n_items = train.n_items();
    progress.start("knn similarities", n_items as u64);
    let lists: Vec<Vec<(u32, f32)>> = (0..n_items)
        .into_par_iter()
        .with_min_len(256)
        .map_init(
            || Acc {
                sums: vec![[0.0; 4]; n_items],
                touched: Vec::new(),
            },
            |acc, i| {
                let list = neighbours_of(i, &by_user, &by_item, p, acc);
                if i % 1024 == 0 {
                    progress.inc(1024);
                }
                list
            },
        )
        .collect();
    progress.finish("similarities computed");
    let mut indptr = Vec::with_capacity(n_items + 1);
    indptr.push(0usize);
    let total: usize = lists.iter().map(Vec::len).sum();
    let (mut indices, mut values) = (Vec::with_capacity(total), Vec::with_capacity(total));
    for l in &lists {
        indices.extend(l.iter().map(|e| e.0));
        values.extend(l.iter().map(|e| e.1));
        indptr.push(indices.len());
    }
    drop(lists);
    let neighbours = Csr {
        indptr,
        indices,
        values,
    };
    let mut rows = Vec::with_capacity(total);
    for i in 0..n_items {
        rows.extend(std::iter::repeat_n(i as u32, neighbours.row_len(i)));
    }
    let reverse = Csr::from_coo(n_items, &neighbours.indices, &rows, &neighbours.values);
    Scorer::Knn(KnnScorer {
        user_bias: bu,
        item_bias: bi,
        k: p.k,
        min_k: p.min_k,
        neighbours,
        reverse,
        fold_in_reg: p.reg_u,
    })
}

/// The `max_neighbours` most similar books to `i` with s > 0, sorted by book index.
fn neighbours_of(
    i: usize,
    by_user: &Csr,
    by_item: &Csr,
    p: &KnnParams,
    acc: &mut Acc,
) -> Vec<(u32, f32)> {
    let (us, xs) = by_item.row(i);
    for (&u, &xi) in us.iter().zip(xs) {
        let (js, xjs) = by_user.row(u as usize);
        for (&j, &xj) in js.iter().zip(xjs) {
            let s = &mut acc.sums[j as usize];
            if s[3] == 0.0 {
                acc.touched.push(j);
            }
            s[0] += xi * xj;
            s[1] += xi * xi;
            s[2] += xj * xj;
            s[3] += 1.0;
        }
    }
    let mut out: Vec<(u32, f32)> = Vec::new();
    for &j in &acc.touched {
        let s = std::mem::replace(&mut acc.sums[j as usize], [0.0; 4]);
        if j as usize == i {
            continue;
        }
        let denom = (s[1] as f64 * s[2] as f64).sqrt();
        if denom <= 0.0 {
            continue;
        }
        let n = s[3];
        let shrink = match p.similarity {
            Similarity::PearsonBaseline => (n - 1.0) / (n - 1.0 + p.shrinkage),
            Similarity::Cosine => n / (n + p.shrinkage),
        };
        let sim = (s[0] as f64 / denom) as f32 * shrink;
        if sim > 0.0 && sim.is_finite() {
            out.push((j, sim));
        }
    }
    acc.touched.clear();
    if out.len() > p.max_neighbours {
        out.select_nth_unstable_by(p.max_neighbours - 1, |a, b| {
            b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
        });
        out.truncate(p.max_neighbours);
    }
    out.sort_unstable_by_key(|e| e.0);
    out.shrink_to_fit();
    out
}
