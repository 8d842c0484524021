//! Implicit-feedback ALS with confidence weighting (Hu, Koren & Volinsky 2008): a ranking
//! model over *every* interaction, explicit ratings and implicit ones (Book-Crossing's zeros)
//! alike.
//!
//! Every interaction (u, i) is a preference p_ui = 1 with confidence
//! c_ui = 1 + α·w_ui, where w_ui = `explicit_weight` for a rated interaction and
//! `implicit_weight` for an unrated one; every other (user, book) pair is p = 0 with c = 1.
//! The model minimises, over all user×book pairs,
//!
//! Σ_u Σ_i c_ui (p_ui − x_uᵀy_i)² + λ(Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)
//!
//! by alternating least squares; each row solve uses YᵀCY = YᵀY + Yᵀ(C_u − I)Y so it costs
//! O(n_u·d²), not O(n_items·d²) (see [`crate::kernels::implicit`]): exact (Cholesky) when
//! `cg_steps` = 0, otherwise `cg_steps` warm-started conjugate-gradient steps.
//!
//! **Scores are preferences, not ratings.** ŝ(u,i) = x_uᵀy_i estimates p_ui ∈ {0, 1} (≈ 1: the
//! reader is likely to pick the book up); it is not clipped to the rating scale and has no
//! rating units, so `predict` returns it unclipped and evaluation reports RMSE/MAE as not
//! applicable (see [`super::ModelKind::predicts_ratings`]). There are no biases and μ is not
//! added. An unknown user or book scores 0 ("no evidence"), flagged as a fallback, and
//! unknown users are recommended the most popular books (by number of interactions).
//!
//! **Fold-in** of a new reader is the one-row least-squares solve above over the fixed book
//! factors, exactly (Cholesky), with G = YᵀY + λI computed once per model and cached.

use serde::{Deserialize, Serialize};

use super::svd::init_factors;
use super::{
    check_at_least_one, check_non_negative, check_positive, compact_rows, Factors, ParamSet, Scorer,
};
use crate::data::{Csr, Interactions, RatingScale};
use crate::kernels::cholesky::{cholesky_factor, cholesky_solve};
use crate::kernels::dense::dot;
use crate::kernels::implicit::{gram, solve_cg, solve_exact, CgScratch, Weighted};
use crate::kernels::padded;
use crate::progress::Progress;
use crate::Result;
use rayon::prelude::*;

/// Parameters of `ials`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IalsParams {
    pub factors: usize,
    /// Number of (user half-sweep, book half-sweep) iterations.
    pub iterations: usize,
    /// λ, the L2 weight on every factor vector (absolute, not per interaction).
    pub reg: f32,
    /// α in c = 1 + α·w.
    pub alpha: f32,
    /// w of an interaction with an explicit rating.
    pub explicit_weight: f32,
    /// w of an interaction without a rating (Book-Crossing's 0).
    pub implicit_weight: f32,
    /// Conjugate-gradient steps per row solve; 0 = exact Cholesky solve (O(d³) per row).
    pub cg_steps: usize,
    /// Initial factors N(0, init_std²).
    pub init_std: f32,
    pub seed: u64,
}

impl Default for IalsParams {
    fn default() -> Self {
        IalsParams {
            factors: 64,
            iterations: 15,
            reg: 0.1,
            alpha: 10.0,
            explicit_weight: 1.0,
            implicit_weight: 1.0,
            cg_steps: 3,
            init_std: 0.01,
            seed: 42,
        }
    }
}

impl ParamSet for IalsParams {
    const KEYS: &'static [&'static str] = &[
        "factors",
        "iterations",
        "reg",
        "alpha",
        "explicit_weight",
        "implicit_weight",
        "cg_steps",
        "init_std",
        "seed",
    ];

    fn check(&self) -> Result<()> {
        check_at_least_one("factors", self.factors)?;
        check_at_least_one("iterations", self.iterations)?;
        check_positive("reg", self.reg)?;
        check_non_negative("alpha", self.alpha)?;
        check_non_negative("explicit_weight", self.explicit_weight)?;
        check_non_negative("implicit_weight", self.implicit_weight)?;
        // Zero factors are a fixed point of ALS (every solve returns 0).
        check_positive("init_std", self.init_std)
    }
}

impl IalsParams {
    /// w for an interaction with value `r`: a rating within `scale` is explicit, anything else
    /// (Book-Crossing's 0) implicit.
    pub fn weight(&self, r: f32, scale: RatingScale) -> f32 {
        let w = if scale.contains(r) {
            self.explicit_weight
        } else {
            self.implicit_weight
        };
        self.alpha * w
    }
}

/// Every interaction of `train` (explicit and implicit), one per (user, book), as a CSR by user
/// with the rating as value (0 for implicit ones; a pair that is both keeps its rating): the
/// "seen" matrix of an ials model, so recommendations exclude everything the reader touched.
pub(crate) fn interactions_by_user(train: &Interactions) -> Csr {
    let mut triples: Vec<(u32, u32, f32)> = train
        .user
        .iter()
        .zip(&train.item)
        .zip(&train.rating)
        .map(|((&u, &i), &r)| (u, i, r))
        .chain(
            train
                .implicit_user
                .iter()
                .zip(&train.implicit_item)
                .map(|(&u, &i)| (u, i, f32::NAN)),
        )
        .collect();
    // Per pair: a rating wins over the implicit marker (NaN sorts last under total_cmp).
    triples.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    triples.dedup_by_key(|t| (t.0, t.1));
    let u: Vec<u32> = triples.iter().map(|t| t.0).collect();
    let i: Vec<u32> = triples.iter().map(|t| t.1).collect();
    let r: Vec<f32> = triples
        .iter()
        .map(|t| if t.2.is_nan() { 0.0 } else { t.2 })
        .collect();
    Csr::from_coo(train.n_users(), &u, &i, &r)
}

/// Number of interactions per book in a by-user matrix.
pub(crate) fn column_counts(m: &Csr, n_cols: usize) -> Vec<u32> {
    let mut c = vec![0u32; n_cols];
    for &i in &m.indices {
        c[i as usize] += 1;
    }
    c
}

/// The training problem over compact rows: weights w = c − 1 by user and by book.
struct Problem {
    user_rows: Vec<u32>,
    item_rows: Vec<u32>,
    by_user: Csr,
    by_item: Csr,
}

impl Problem {
    fn new(p: &IalsParams, train: &Interactions) -> Self {
        let all = interactions_by_user(train);
        let (user_rows, users) = compact_rows(
            &(0..all.n_rows())
                .map(|u| all.row_len(u) as u32)
                .collect::<Vec<u32>>(),
        );
        let (item_rows, _) = compact_rows(&column_counts(&all, train.n_items()));
        let (mut cu, mut ci, mut cw) = (Vec::new(), Vec::new(), Vec::new());
        for (row, &u) in users.iter().enumerate() {
            let (items, ratings) = all.row(u as usize);
            for (&i, &r) in items.iter().zip(ratings) {
                cu.push(row as u32);
                ci.push(item_rows[i as usize]);
                cw.push(p.weight(r, train.scale));
            }
        }
        let n_i = item_rows.iter().filter(|&&r| r != u32::MAX).count();
        Problem {
            by_user: Csr::from_coo(users.len(), &cu, &ci, &cw),
            by_item: Csr::from_coo(n_i, &ci, &cu, &cw),
            user_rows,
            item_rows,
        }
    }
}

/// One half-sweep: every row of `f` solved against the fixed `other` factors.
fn half_sweep(p: &IalsParams, rows: &Csr, other: &[f32], k: usize, f: &mut [f32]) {
    let d = p.factors;
    let g = gram(other, k, d, p.reg);
    f.par_chunks_mut(k)
        .enumerate()
        .with_min_len(64)
        .for_each_init(
            || (CgScratch::default(), Vec::new(), Vec::new()),
            |(cg, a, b), (r, x)| {
                let (idx, w) = rows.row(r);
                let design = Weighted {
                    idx,
                    w,
                    mat: other,
                    stride: k,
                    d,
                };
                if p.cg_steps == 0 {
                    solve_exact(&g, &design, a, b, &mut x[..d]);
                } else {
                    solve_cg(&g, &design, p.cg_steps, cg, &mut x[..d]);
                }
            },
        );
}

/// The objective of the module doc (summed over all user×book pairs, via
/// Σ_u x_uᵀ(YᵀY)x_u plus a correction on the observed pairs).
fn objective(p: &IalsParams, pr: &Problem, xu: &[f32], yi: &[f32], k: usize) -> f64 {
    let d = p.factors;
    let g = gram(yi, k, d, 0.0);
    let dense: f64 = xu
        .par_chunks(k)
        .enumerate()
        .map(|(u, x)| {
            let x = &x[..d];
            let mut s = 0f64;
            for a in 0..d {
                s += f64::from(x[a]) * f64::from(dot(&g[a * d..a * d + d], x));
            }
            let (idx, w) = pr.by_user.row(u);
            for (&i, &w) in idx.iter().zip(w) {
                let y = &yi[i as usize * k..i as usize * k + d];
                let pred = f64::from(dot(x, y));
                s += (1.0 + f64::from(w)) * (1.0 - pred).powi(2) - pred * pred;
            }
            s
        })
        .sum();
    let sq = |m: &[f32]| m.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>();
    dense + f64::from(p.reg) * (sq(xu) + sq(yi))
}

/// Fits the model; the progress bar ends with the final objective.
pub(crate) fn fit(p: &IalsParams, train: &Interactions, progress: &dyn Progress) -> Scorer {
    fit_traced(p, train, progress, false).0
}

/// [`fit`], also returning the objective after every iteration when `trace` (tests).
fn fit_traced(
    p: &IalsParams,
    train: &Interactions,
    progress: &dyn Progress,
    trace: bool,
) -> (Scorer, Vec<f64>) {
    let k = padded(p.factors);
    let pr = Problem::new(p, train);
    let (n_u, n_i) = (pr.by_user.n_rows(), pr.by_item.n_rows());
    let ones = |n: usize| vec![1u32; n];
    let mut user_f = init_factors(&ones(n_u), k, p.factors, 0.0, p.init_std, p.seed);
    let mut item_f = init_factors(
        &ones(n_i),
        k,
        p.factors,
        0.0,
        p.init_std,
        p.seed.wrapping_add(1),
    );
    let mut losses = Vec::new();
    progress.start("ials iterations", p.iterations as u64);
    for _ in 0..p.iterations {
        half_sweep(p, &pr.by_user, &item_f, k, &mut user_f);
        half_sweep(p, &pr.by_item, &user_f, k, &mut item_f);
        if trace {
            losses.push(objective(p, &pr, &user_f, &item_f, k));
        }
        progress.inc(1);
    }
    let loss = objective(p, &pr, &user_f, &item_f, k);
    progress.finish(&format!("objective {loss:.1}"));
    let scorer = Scorer::Factors(Factors {
        k,
        user_bias: Vec::new(),
        item_bias: Vec::new(),
        user_factors: user_f,
        item_factors: item_f,
        fold_in_reg: p.reg,
        fold_in_reg_per_rating: 0.0,
        user_rows: pr.user_rows,
        item_rows: pr.item_rows,
    });
    (scorer, losses)
}

/// G = YᵀY + λI over a fitted model's book factors (the full stride `f.k`; padding columns are
/// zero, so their rows of the solution are 0), λ = `f.fold_in_reg`.
pub(crate) fn fold_in_gram(f: &Factors) -> Vec<f32> {
    gram(&f.item_factors, f.k, f.k, f.fold_in_reg)
}

/// A new reader's interactions over a fitted model's book factors: the factor rows, weights
/// w = c − 1 (books without factors skipped), and their positions in the reader's `items`.
struct Reader {
    rows: Vec<u32>,
    w: Vec<f32>,
    used: Vec<usize>,
}

impl Reader {
    fn new(
        p: &IalsParams,
        f: &Factors,
        scale: RatingScale,
        items: &[u32],
        ratings: &[f32],
    ) -> Reader {
        let mut reader = Reader {
            rows: Vec::new(),
            w: Vec::new(),
            used: Vec::new(),
        };
        for (pos, (&i, &r)) in items.iter().zip(ratings).enumerate() {
            if let Some(row) = f.item_row(i) {
                reader.rows.push(row as u32);
                reader.w.push(p.weight(r, scale));
                reader.used.push(pos);
            }
        }
        reader
    }

    /// The weighted design Σ_j w_j y_j y_jᵀ over these rows of `f`'s book factors.
    fn design<'a>(&'a self, f: &'a Factors) -> Weighted<'a> {
        Weighted {
            idx: &self.rows,
            w: &self.w,
            mat: &f.item_factors,
            stride: f.k,
            d: f.k,
        }
    }
}

/// Fold-in: x_u = (G + Σ_j w_j y_j y_jᵀ)⁻¹ Σ_j (1 + w_j) y_j over the reader's interactions
/// (`ratings` within the scale count as explicit, others as implicit), solved exactly. A zero
/// vector if nothing usable remains.
pub(crate) fn fold_in(
    p: &IalsParams,
    f: &Factors,
    g: &[f32],
    scale: RatingScale,
    items: &[u32],
    ratings: &[f32],
) -> Vec<f32> {
    let mut x = vec![0f32; f.k];
    let reader = Reader::new(p, f, scale, items, ratings);
    if reader.rows.is_empty() || g.len() != f.k * f.k {
        return x;
    }
    solve_exact(
        g,
        &reader.design(f),
        &mut Vec::new(),
        &mut Vec::new(),
        &mut x,
    );
    x
}

/// The additive share of each interaction in ŝ(u,i) for the fold-in estimate (Hu et al. 2008,
/// §5): with A = G + Σ_j w_j y_j y_jᵀ, ŝ = y_iᵀA⁻¹Σ_j c_j y_j = Σ_j c_j·(A⁻¹y_i)ᵀy_j, so
/// interaction j contributes c_j·(A⁻¹y_i)ᵀy_j. One value per entry of `items` (0 if unused).
pub(crate) fn contributions(
    p: &IalsParams,
    f: &Factors,
    g: &[f32],
    scale: RatingScale,
    items: &[u32],
    ratings: &[f32],
    item: u32,
) -> Vec<f32> {
    let mut out = vec![0f32; items.len()];
    let reader = Reader::new(p, f, scale, items, ratings);
    let Some(yi) = f.item_vec(item) else {
        return out;
    };
    if reader.rows.is_empty() || g.len() != f.k * f.k {
        return out;
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    crate::kernels::implicit::assemble(g, &reader.design(f), &mut a, &mut b);
    if !cholesky_factor(&mut a, f.k) {
        return out;
    }
    let mut s = yi.to_vec();
    cholesky_solve(&a, f.k, &mut s);
    for (j, &pos) in reader.used.iter().enumerate() {
        let r = reader.rows[j] as usize * f.k;
        out[pos] = (1.0 + reader.w[j]) * dot(&s, &f.item_factors[r..r + f.k]);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use crate::Error;

    /// Two reading groups: users 0–3 read books a–c, users 4–7 read books d–f (some rated,
    /// some implicit), each user missing one book of their group.
    fn groups() -> Interactions {
        let mut t = Vec::new();
        let mut implicit = Vec::new();
        for u in 0..8 {
            let books = if u < 4 {
                ["a", "b", "c"]
            } else {
                ["d", "e", "f"]
            };
            for (j, b) in books.iter().enumerate() {
                if j == u % 3 {
                    continue;
                }
                if (u + j) % 2 == 0 {
                    t.push((format!("u{u}"), b.to_string(), 8.0));
                } else {
                    implicit.push((format!("u{u}"), b.to_string()));
                }
            }
        }
        let mut data = Interactions::from_triplets(t, Some(RatingScale::new(1.0, 10.0)));
        let mut users = (*data.users).clone();
        let mut items = (*data.items).clone();
        for (u, i) in implicit {
            data.implicit_user.push(users.intern(&u));
            data.implicit_item.push(items.intern(&i));
        }
        data.users = std::sync::Arc::new(users);
        data.items = std::sync::Arc::new(items);
        data
    }

    #[test]
    fn objective_decreases_every_iteration_with_exact_solves() {
        let data = groups();
        for cg_steps in [0, 3] {
            let p = IalsParams {
                factors: 3,
                iterations: 8,
                cg_steps,
                ..IalsParams::default()
            };
            let (_, losses) = fit_traced(&p, &data, &NoProgress, true);
            let pr = Problem::new(&p, &data);
            let k = padded(p.factors);
            let n_u = pr.by_user.n_rows();
            let n_i = pr.by_item.n_rows();
            let u0 = init_factors(&vec![1; n_u], k, 3, 0.0, p.init_std, p.seed);
            let i0 = init_factors(&vec![1; n_i], k, 3, 0.0, p.init_std, p.seed + 1);
            let start = objective(&p, &pr, &u0, &i0, k);
            assert!(losses[0] < start, "{start} -> {losses:?}");
            assert!(losses[7] < 0.5 * start, "{start} -> {losses:?}");
            if cg_steps == 0 {
                for w in losses.windows(2) {
                    assert!(w[1] <= w[0] * (1.0 + 1e-6), "{losses:?}");
                }
            }
        }
    }

    #[test]
    fn group_books_score_above_other_group() {
        let data = groups();
        // Two factors: one per group (more would let each reader's exact pattern be fitted).
        let p = IalsParams {
            factors: 2,
            iterations: 20,
            cg_steps: 0,
            ..IalsParams::default()
        };
        let Scorer::Factors(f) = fit(&p, &data, &NoProgress) else {
            panic!()
        };
        let score = |u: &str, i: &str| {
            let u = data.users.get(u).unwrap();
            let i = data.items.get(i).unwrap();
            dot(f.user_vec(u).unwrap(), f.item_vec(i).unwrap())
        };
        // u0 skipped "a" (0 % 3 = 0), u4 skipped "e" (4 % 3 = 1).
        assert!(score("u0", "a") > score("u0", "d") + 0.5);
        assert!(score("u4", "e") > score("u4", "a") + 0.5);
        assert!(f.user_bias.is_empty() && f.item_bias.is_empty());
    }

    #[test]
    fn seen_includes_implicit_and_prefers_ratings() {
        let mut data = groups();
        // An implicit copy of an explicit pair: kept once, with its rating.
        let (u, i) = (data.user[0], data.item[0]);
        data.implicit_user.push(u);
        data.implicit_item.push(i);
        let seen = interactions_by_user(&data);
        assert_eq!(seen.nnz(), data.len() + data.n_implicit() - 1);
        let (items, ratings) = seen.row(u as usize);
        let pos = items.iter().position(|&x| x == i).unwrap();
        assert_eq!(ratings[pos], 8.0);
    }

    #[test]
    fn params_are_checked() {
        IalsParams::default().check().unwrap();
        for bad in [
            IalsParams {
                reg: 0.0,
                ..IalsParams::default()
            },
            IalsParams {
                alpha: -1.0,
                ..IalsParams::default()
            },
            IalsParams {
                implicit_weight: f32::NAN,
                ..IalsParams::default()
            },
            IalsParams {
                factors: 0,
                ..IalsParams::default()
            },
            IalsParams {
                init_std: 0.0,
                ..IalsParams::default()
            },
        ] {
            assert!(matches!(bad.check().unwrap_err(), Error::Param { .. }));
        }
        let p = IalsParams::default();
        let s = RatingScale::new(1.0, 10.0);
        assert_eq!(p.weight(7.0, s), 10.0);
        let q = IalsParams {
            implicit_weight: 0.25,
            ..p
        };
        assert_eq!(q.weight(0.0, s), 2.5);
    }
}
