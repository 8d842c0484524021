//! SVD++ (Koren 2008): r̂(u,i) = μ + b_u + b_i + q_iᵀ(p_u + |N(u)|^−½ Σ_{j∈N(u)} y_j), where
//! N(u) is every book the user interacted with in training, rated or not (Book-Crossing's
//! implicit zeros are exactly this feedback).
//!
//! Training is Surprise's `SVDpp` update rule exactly — for each rating (u,i,r), users in a
//! seeded random order and each user's ratings in a random order drawn once per fit
//! (Surprise: file order, which its splitters shuffle; not by book index, which follows first
//! appearance, i.e. mostly popularity — see [`shuffle_rows`]): e = r − r̂; b_u, b_i, p_u,
//! q_i as in SVD with q_i's gradient e·(p_u + z_u); and every y_j, j ∈ N(u), steps
//! y_j += lr(e·q_i/√|N(u)| − reg·y_j) — but without Surprise's O(|N(u)|·k) cost per rating.
//! That y step is the same affine map for all j ∈ N(u), so during one user's ratings
//! y_j = c·y_j⁰ + d with c = (1 − lr·reg)^t and d ← (1 − lr·reg)d + lr·e·q_i/√|N(u)|, and the
//! implicit term is z_u = c·z_u⁰ + √|N(u)|·d. Both are O(k) per rating; the y_j are written
//! once per user. (Cheaper "per-user batching" variants that apply one summed y gradient per
//! user measured 0.02 RMSE worse on Book-Crossing.) Sequential, so results depend only on
//! the seed.
//!
//! After fitting, each user's effective vector p_u + z_u is stored as the user factor, so
//! serving, fold-in and explanations use the shared biased-MF code path.

use serde::{Deserialize, Serialize};

use super::svd::{init_factors, BOOK_ORDER_SALT};
use super::{
    check_at_least_one, check_finite, check_non_negative, check_positive, compact_rows, Factors,
    ParamSet, Scorer,
};
use crate::data::{Csr, Interactions};
use crate::kernels::dense::{axpy, dot};
use crate::kernels::padded;
use crate::progress::Progress;
use crate::rng::Rng;
use crate::Result;

/// Parameters of `svdpp`. Defaults equal Surprise's `SVDpp` (seed aside).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SvdppParams {
    pub factors: usize,
    pub epochs: usize,
    /// Learning rate of all parameters.
    pub lr: f32,
    /// L2 weight of all parameters.
    pub reg: f32,
    pub init_mean: f32,
    pub init_std: f32,
    pub seed: u64,
}

impl Default for SvdppParams {
    fn default() -> Self {
        SvdppParams {
            factors: 20,
            epochs: 20,
            lr: 0.007,
            reg: 0.02,
            init_mean: 0.0,
            init_std: 0.1,
            seed: 42,
        }
    }
}

impl ParamSet for SvdppParams {
    const KEYS: &'static [&'static str] = &[
        "factors",
        "epochs",
        "lr",
        "reg",
        "init_mean",
        "init_std",
        "seed",
    ];

    fn check(&self) -> Result<()> {
        check_at_least_one("factors", self.factors)?;
        check_at_least_one("epochs", self.epochs)?;
        check_positive("lr", self.lr)?;
        check_non_negative("reg", self.reg)?;
        check_finite("init_mean", self.init_mean)?;
        check_non_negative("init_std", self.init_std)
    }
}

/// N(u): explicit and implicit training books of each user, deduplicated.
fn implicit_sets(train: &Interactions) -> Csr {
    let mut all = train.all_by_user();
    let mut indptr = vec![0usize; all.n_rows() + 1];
    let mut indices = Vec::with_capacity(all.nnz());
    for u in 0..all.n_rows() {
        let (items, _) = all.row(u);
        for (n, &i) in items.iter().enumerate() {
            if n == 0 || items[n - 1] != i {
                indices.push(i);
            }
        }
        indptr[u + 1] = indices.len();
    }
    all.values = Vec::new();
    let values = vec![1.0; indices.len()];
    Csr {
        indptr,
        indices,
        values,
    }
}

/// Puts every row's entries (column and value together) in a random order drawn from `seed`:
/// the order of each user's ratings during training, the same in every epoch (as Surprise's
/// file order is). [`Csr::from_coo`] sorts a row by book index, i.e. by first appearance in the
/// file — mostly popularity — and a fixed popular-to-rare order per user cost `svd` about
/// 0.0015 RMSE against Surprise on MovieLens (README, "svd beside Surprise's SVD on MovieLens").
fn shuffle_rows(m: &mut Csr, seed: u64) {
    let mut rng = Rng::new(seed);
    for r in 0..m.indptr.len().saturating_sub(1) {
        let (a, b) = (m.indptr[r], m.indptr[r + 1]);
        rng.shuffle_by(b - a, |x, y| {
            m.indices.swap(a + x, a + y);
            m.values.swap(a + x, a + y);
        });
    }
}

/// z = |N|^−½ Σ_{j∈N} y_j into `z`.
fn implicit_term(n_u: &[u32], y: &[f32], k: usize, z: &mut [f32]) {
    z.fill(0.0);
    if n_u.is_empty() {
        return;
    }
    for &j in n_u {
        let j = j as usize;
        axpy(1.0, &y[j * k..(j + 1) * k], z);
    }
    let s = 1.0 / (n_u.len() as f32).sqrt();
    z.iter_mut().for_each(|x| *x *= s);
}

pub(crate) fn fit(
    p: &SvdppParams,
    train: &Interactions,
    progress: &dyn Progress,
) -> Result<Scorer> {
    let k = padded(p.factors);
    let mu = train.global_mean();
    let (n_users, n_items) = (train.n_users(), train.n_items());
    // p_u and q_i only for users and books with ratings (compact rows, see `Factors`).
    let (user_rows, users) = compact_rows(&train.user_counts());
    let (item_rows, items_with_rows) = compact_rows(&train.item_counts());
    let ones = |n: usize| vec![1u32; n];
    let init =
        |n: usize, seed: u64| init_factors(&ones(n), k, p.factors, p.init_mean, p.init_std, seed);
    let mut pu = init(users.len(), p.seed);
    let mut qi = init(items_with_rows.len(), p.seed ^ 0x1_7E35);
    let mut rated = train.by_user();
    shuffle_rows(&mut rated, p.seed ^ BOOK_ORDER_SALT);
    let nset = implicit_sets(train);
    // y_j matters for every book in some N(u), rated or not.
    let mut in_n = vec![0u32; n_items];
    for &j in &nset.indices {
        in_n[j as usize] = 1;
    }
    let mut y = init_factors(
        &in_n,
        k,
        p.factors,
        p.init_mean,
        p.init_std,
        p.seed ^ 0x2_7E35,
    );
    let mut bu = vec![0f32; n_users];
    let mut bi = vec![0f32; n_items];
    let (lr, reg) = (p.lr, p.reg);
    let mut order: Vec<u32> = (0..n_users as u32)
        .filter(|&u| rated.row_len(u as usize) > 0)
        .collect();
    let (mut z0, mut d, mut pz) = (vec![0f32; k], vec![0f32; k], vec![0f32; k]);
    let keep = 1.0 - lr * reg;
    progress.start("svdpp epochs", p.epochs as u64);
    let mut sse = 0f64;
    for epoch in 0..p.epochs {
        Rng::stream(p.seed, 1 + epoch as u64).shuffle(&mut order);
        sse = 0.0;
        for &u in &order {
            let u = u as usize;
            let n_u = nset.row(u).0;
            implicit_term(n_u, &y, k, &mut z0);
            let sqrt_n = (n_u.len().max(1) as f32).sqrt();
            // Lazy form of Surprise's per-rating y step (see the module docs): during the
            // user's ratings every y_j, j ∈ N(u), equals c·y_j(start) + d.
            let mut c = 1f32;
            d.fill(0.0);
            let (items, ratings) = rated.row(u);
            for (&i, &r) in items.iter().zip(ratings) {
                let i = i as usize;
                let (ur, ir) = (user_rows[u] as usize, item_rows[i] as usize);
                let p_row = &mut pu[ur * k..(ur + 1) * k];
                let q_row = &mut qi[ir * k..(ir + 1) * k];
                for f in 0..k {
                    pz[f] = p_row[f] + c * z0[f] + sqrt_n * d[f];
                }
                let e = r - (mu + bu[u] + bi[i] + dot(q_row, &pz));
                sse += (e * e) as f64;
                bu[u] += lr * (e - reg * bu[u]);
                bi[i] += lr * (e - reg * bi[i]);
                let step = lr * e / sqrt_n;
                for f in 0..k {
                    let (pf, qf) = (p_row[f], q_row[f]);
                    d[f] = keep * d[f] + step * qf;
                    p_row[f] = pf + lr * (e * qf - reg * pf);
                    q_row[f] = qf + lr * (e * pz[f] - reg * qf);
                }
                c *= keep;
            }
            for &j in n_u {
                let j = j as usize;
                let y_row = &mut y[j * k..(j + 1) * k];
                for f in 0..k {
                    y_row[f] = c * y_row[f] + d[f];
                }
            }
        }
        progress.inc(1);
    }
    progress.finish(&format!(
        "train rmse {:.4} (during last epoch)",
        (sse / train.len() as f64).sqrt()
    ));
    // Effective user vectors p_u + z_u, so serving needs no y.
    for (row, &u) in users.iter().enumerate() {
        implicit_term(nset.row(u as usize).0, &y, k, &mut z0);
        axpy(1.0, &z0, &mut pu[row * k..(row + 1) * k]);
    }
    Ok(Scorer::Factors(Factors {
        k,
        user_bias: bu,
        item_bias: bi,
        user_factors: pu,
        item_factors: qi,
        fold_in_reg: 0.0,
        fold_in_reg_per_rating: p.reg,
        user_rows,
        item_rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows keep their (book, rating) pairs, end up in a seeded order, and a long row is no
    /// longer in book order.
    #[test]
    fn shuffle_rows_permutes_pairs_within_rows() {
        let rows: Vec<u32> = (0..300).map(|k| k / 100).collect();
        let cols: Vec<u32> = (0..300).map(|k| k % 100).collect();
        let vals: Vec<f32> = (0..300).map(|k| k as f32).collect();
        let m = Csr::from_coo(3, &rows, &cols, &vals);
        let mut a = m.clone();
        shuffle_rows(&mut a, 1);
        let mut b = m.clone();
        shuffle_rows(&mut b, 1);
        assert_eq!(a.indices, b.indices);
        assert_eq!(a.indptr, m.indptr);
        for r in 0..3 {
            let (ci, vi) = a.row(r);
            assert!(ci.windows(2).any(|w| w[0] > w[1]), "row {r} still sorted");
            let mut pairs: Vec<(u32, u32)> =
                ci.iter().zip(vi).map(|(&c, &v)| (c, v.to_bits())).collect();
            pairs.sort_unstable();
            let (cm, vm) = m.row(r);
            let want: Vec<(u32, u32)> =
                cm.iter().zip(vm).map(|(&c, &v)| (c, v.to_bits())).collect();
            assert_eq!(pairs, want);
        }
    }
}
