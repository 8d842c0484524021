//! The bias / latent-factor models' parameters ([`Factors`]: mean, baseline, svd, svdpp, als,
//! hybrid and imported Spark models) and the maths of a new user over them: fold-in by ridge
//! regression and the per-book explanation of a score. [`super::ials`] keeps its own.

use serde::{Deserialize, Serialize};

use crate::kernels::cholesky::{cholesky_solve, gram_factor, ridge_solve, Design, RidgeScratch};
use crate::kernels::dense::dot;

/// Latent-factor parameters shared by mean, baseline, svd, svdpp and als:
/// r̂(u,i) = μ + b_u + b_i + q_iᵀp_u.
///
/// Factors are row-major with row stride `k`. Models trained here pad the stride to a multiple
/// of [`crate::kernels::LANES`] with zero columns (e.g. 100 factors → k = 104); zero columns
/// never change a dot product, so `k` may also be the exact factor count (imported models).
/// `k` = 0 for the bias-only models; the mean model also has empty bias vectors (no per-user
/// or per-item parameters at all).
///
/// Fold-in of a new user (see
/// [`FittedModel::recommend_for_ratings`](super::FittedModel::recommend_for_ratings)) solves the
/// ridge regression of `r − μ − b_i` on `[1, q_i]` with λ = `fold_in_reg` +
/// `fold_in_reg_per_rating`·n (n = number of ratings), i.e. the same objective the model was
/// trained with: per-rating L2 for SGD and weighted-λ ALS, an absolute λ for Surprise-style ALS
/// baselines. `als` (native and Spark), whose biases are a separate stage, folds in the same
/// way: the bias first, b_u = Σ(r − μ − b_i)/(reg_u + n), then p_u by ridge regression of
/// r − μ − b_i − b_u on q_i with λ = `fold_in_reg_per_rating`·n.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Factors {
    pub k: usize,
    pub user_bias: Vec<f32>,
    pub item_bias: Vec<f32>,
    pub user_factors: Vec<f32>,
    pub item_factors: Vec<f32>,
    #[serde(default)]
    pub fold_in_reg: f32,
    #[serde(default)]
    pub fold_in_reg_per_rating: f32,
    /// Row of each user's vector in `user_factors` (`u32::MAX` = none); empty = row u is user
    /// u. Models trained here store rows only for users and books with training ratings: on
    /// Book-Crossing most ISBNs have only implicit interactions, so this halves the memory.
    #[serde(default)]
    pub user_rows: Vec<u32>,
    /// Row of each book's vector in `item_factors`, as `user_rows`.
    #[serde(default)]
    pub item_rows: Vec<u32>,
}

impl Factors {
    fn row(rows: &[u32], idx: u32, m: &[f32], k: usize) -> Option<usize> {
        if k == 0 {
            return None;
        }
        let r = if rows.is_empty() {
            idx as usize
        } else {
            match rows.get(idx as usize) {
                Some(&r) if r != u32::MAX => r as usize,
                _ => return None,
            }
        };
        (r < m.len() / k).then_some(r)
    }

    /// Row of user `u` in `user_factors`, if it has one.
    pub fn user_row(&self, u: u32) -> Option<usize> {
        Self::row(&self.user_rows, u, &self.user_factors, self.k)
    }

    /// Row of book `i` in `item_factors`, if it has one.
    pub fn item_row(&self, i: u32) -> Option<usize> {
        Self::row(&self.item_rows, i, &self.item_factors, self.k)
    }

    /// p_u (length `k`), if the user has a vector.
    pub fn user_vec(&self, u: u32) -> Option<&[f32]> {
        let r = self.user_row(u)?;
        Some(&self.user_factors[r * self.k..(r + 1) * self.k])
    }

    /// q_i (length `k`), if the book has a vector.
    pub fn item_vec(&self, i: u32) -> Option<&[f32]> {
        let r = self.item_row(i)?;
        Some(&self.item_factors[r * self.k..(r + 1) * self.k])
    }
}

/// A new user's ridge problem over a factor model (see [`fold_in_problem`]).
struct FoldIn {
    /// Factor rows of the rated books the model has vectors for.
    rows: Vec<u32>,
    /// t_j = r_j − μ − b_j.
    targets: Vec<f32>,
    lambda: f32,
    /// Positions (in the cleaned ratings) of the books used.
    used: Vec<usize>,
    /// Two-stage fold-in: the user bias's absolute L2 weight.
    bias_reg: Option<f32>,
}

/// The ridge problem of a new user over the factor model: targets t_j = r_j − μ − b_j,
/// λ = fold_in_reg + fold_in_reg_per_rating·n, and either
/// - joint (`bias_reg` None): rows z_j = [1, q_j], x = [b_u, p_u] = ridge(t; z);
/// - two-stage (`bias_reg` Some, `als`): b_u = Σ_j t_j/(bias_reg + n) first, then
///   p_u = ridge(t − b_u; q), the objective `als` (native and Spark) is trained with.
///
/// `None` when the model has no user parameters (mean).
fn fold_in_problem(
    f: &Factors,
    mu: f32,
    bias_reg: Option<f32>,
    items: &[u32],
    ratings: &[f32],
) -> Option<FoldIn> {
    if f.user_bias.is_empty() {
        return None;
    }
    let (mut rows, mut targets, mut used) = (Vec::new(), Vec::new(), Vec::new());
    for (pos, (&i, &r)) in items.iter().zip(ratings).enumerate() {
        let row = if f.k == 0 { Some(0) } else { f.item_row(i) };
        if let Some(row) = row {
            rows.push(row as u32);
            targets.push(r - mu - f.item_bias.get(i as usize).copied().unwrap_or(0.0));
            used.push(pos);
        }
    }
    let lambda = f.fold_in_reg + f.fold_in_reg_per_rating * rows.len() as f32;
    let bias_reg = bias_reg.filter(|_| f.k > 0);
    Some(FoldIn {
        rows,
        targets,
        lambda,
        used,
        bias_reg,
    })
}

/// The rated books' factor rows as a design matrix, with a leading column of ones for the
/// user bias if `with_bias`.
fn item_design<'a>(f: &'a Factors, rows: &'a [u32], with_bias: bool) -> Design<'a> {
    Design {
        idx: rows,
        mat: &f.item_factors,
        stride: f.k,
        k: f.k,
        with_bias,
    }
}

/// Folds a new user's ratings into the model (no retraining): their bias b_u and vector p_u
/// (see [`Factors`]); zeros when there is nothing to solve. `bias_reg` is the absolute L2
/// weight of a two-stage (`als`) user bias.
pub(crate) fn fold_in(
    f: &Factors,
    mu: f32,
    bias_reg: Option<f32>,
    items: &[u32],
    ratings: &[f32],
) -> (f32, Vec<f32>) {
    let mut x = vec![0f32; f.k + 1];
    if let Some(fi) = fold_in_problem(f, mu, bias_reg, items, ratings) {
        let scratch = &mut RidgeScratch::default();
        let solved = match fi.bias_reg {
            None => {
                let design = item_design(f, &fi.rows, true);
                ridge_solve(&design, &fi.targets, fi.lambda, scratch, &mut x)
            }
            Some(reg_u) => {
                let n = fi.targets.len() as f32;
                let b = fi.targets.iter().sum::<f32>() / (reg_u + n);
                let residuals: Vec<f32> = fi.targets.iter().map(|t| t - b).collect();
                x[0] = b;
                let design = item_design(f, &fi.rows, false);
                ridge_solve(&design, &residuals, fi.lambda, scratch, &mut x[1..])
            }
        };
        if !solved {
            x.fill(0.0);
        }
    }
    let bias = x[0];
    x.remove(0);
    (bias, x)
}

/// The additive share of each rated book in the personal part q_i·p_u of `item`'s score for
/// the fold-in estimate (see
/// [`FittedModel::explain_for_ratings`](super::FittedModel::explain_for_ratings)), one value
/// per entry of `items` (0 if unused); `None` when the model has no user parameters or the
/// system cannot be factored. The user bias b_u is left out: it is the same for every book,
/// so it says how generous the reader is, not why this book (with it, every book a lenient
/// reader rated "raised" every score).
pub(crate) fn contributions(
    f: &Factors,
    mu: f32,
    bias_reg: Option<f32>,
    items: &[u32],
    ratings: &[f32],
    item: u32,
) -> Option<Vec<f32>> {
    let fi = fold_in_problem(f, mu, bias_reg, items, ratings)?;
    let with_bias = fi.bias_reg.is_none();
    let design = item_design(f, &fi.rows, with_bias);
    let mut a = Vec::new();
    if !gram_factor(&design, fi.lambda, &mut a) {
        return None;
    }
    let d = design.dim();
    let off = usize::from(with_bias);
    // w = A⁻¹[0, q_i]: the weight of each t_j in q_i·p_u (b_u's row is zero).
    let mut w = vec![0f32; d];
    if let Some(q) = f.item_vec(item) {
        w[off..].copy_from_slice(q);
    }
    cholesky_solve(&a, d, &mut w);
    // Weight of t_j in q_i·p_u: joint, w·z_j; two-stage, p_u is fitted to t − b_u with
    // b_u = Σt/(reg_u + n), so t_j also acts through b_u: w·q_j − (Σ_l w·q_l)/(reg_u + n).
    let wq: Vec<f32> = (0..fi.rows.len())
        .map(|j| {
            let b = if with_bias { w[0] } else { 0.0 };
            b + dot(&w[off..], design.row(j))
        })
        .collect();
    let shared = match fi.bias_reg {
        Some(reg_u) => -wq.iter().sum::<f32>() / (reg_u + fi.rows.len() as f32),
        None => 0.0,
    };
    let mut c = vec![0f32; items.len()];
    for (j, &pos) in fi.used.iter().enumerate() {
        c[pos] = (wq[j] + shared) * fi.targets[j];
    }
    Some(c)
}
