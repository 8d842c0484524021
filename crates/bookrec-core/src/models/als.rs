//! Explicit alternating least squares with weighted-λ regularisation (Zhou et al. 2008), with
//! biases: r̂(u,i) = μ + b_u + b_i + q_iᵀp_u, minimising
//! Σ (r − r̂)² + reg·(Σ_u n_u(b_u² + ‖p_u‖²) + Σ_i n_i(b_i² + ‖q_i‖²)).
//!
//! Each half-sweep fixes one side and solves, for every row independently, the ridge regression
//! of r − μ − b_other on [1, q_other] with λ = reg·n (a (k+1)×(k+1) Cholesky solve, or the
//! equivalent n×n dual system when the row has fewer ratings than dimensions). Rows are solved
//! in parallel with rayon; every row's solve is independent, so results do not depend on the
//! number of threads.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::svd::{init_factors, CompactRatings};
use super::{check_at_least_one, check_non_negative, Factors, ParamSet, Scorer};
use crate::data::{Csr, Interactions};
use crate::kernels::cholesky::{ridge_solve, Design, RidgeScratch};
use crate::kernels::padded;
use crate::progress::Progress;
use crate::Result;

/// Parameters of `als`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlsParams {
    pub factors: usize,
    /// Number of (user half-sweep, item half-sweep) iterations.
    pub iterations: usize,
    /// Weighted-λ: each row's L2 weight is reg × its number of ratings.
    pub reg: f32,
    /// Initial item factors N(0, init_std²).
    pub init_std: f32,
    pub seed: u64,
}

impl Default for AlsParams {
    fn default() -> Self {
        AlsParams {
            factors: 50,
            iterations: 15,
            reg: 0.1,
            init_std: 0.1,
            seed: 42,
        }
    }
}

impl ParamSet for AlsParams {
    const KEYS: &'static [&'static str] = &["factors", "iterations", "reg", "init_std", "seed"];

    fn check(&self) -> Result<()> {
        check_at_least_one("factors", self.factors)?;
        check_at_least_one("iterations", self.iterations)?;
        check_non_negative("reg", self.reg)?;
        if self.reg == 0.0 {
            return Err(crate::Error::param(
                "reg",
                self.reg,
                "must be > 0 (rows with fewer ratings than factors are singular otherwise)",
            ));
        }
        check_non_negative("init_std", self.init_std)
    }
}

/// One half-sweep: for every row r of `rows` (ratings r → other side), solves
/// [b_r, x_r] = ridge(r − μ − b_other ; [1, f_other]) with λ = reg·n_r. `factors` is the real
/// factor count, `k` the padded stride.
#[allow(clippy::too_many_arguments)]
pub fn als_half_sweep(
    rows: &Csr,
    mu: f32,
    other_bias: &[f32],
    other_f: &[f32],
    k: usize,
    factors: usize,
    reg: f32,
    bias: &mut [f32],
    f: &mut [f32],
) {
    f.par_chunks_mut(k)
        .zip(bias.par_iter_mut())
        .enumerate()
        .with_min_len(64)
        .for_each_init(
            || (RidgeScratch::default(), Vec::new(), vec![0f32; factors + 1]),
            |(scratch, targets, x), (r, (row, b))| {
                let (idx, vals) = rows.row(r);
                if idx.is_empty() {
                    *b = 0.0;
                    row.fill(0.0);
                    return;
                }
                targets.clear();
                targets.extend(
                    idx.iter()
                        .zip(vals)
                        .map(|(&o, &v)| v - mu - other_bias[o as usize]),
                );
                let design = Design {
                    idx,
                    mat: other_f,
                    stride: k,
                    k: factors,
                    with_bias: true,
                };
                let lambda = reg * idx.len() as f32;
                if ridge_solve(&design, targets, lambda, scratch, x) {
                    *b = x[0];
                    row[..factors].copy_from_slice(&x[1..]);
                }
            },
        );
}

pub(crate) fn fit(p: &AlsParams, train: &Interactions, progress: &dyn Progress) -> Scorer {
    let k = padded(p.factors);
    let mu = train.global_mean();
    let c = CompactRatings::new(train);
    let (n_u, n_i) = (c.user_counts.len(), c.item_counts.len());
    let by_user = Csr::from_coo(n_u, &c.u, &c.i, &train.rating);
    let by_item = Csr::from_coo(n_i, &c.i, &c.u, &train.rating);
    let mut user_f = vec![0f32; n_u * k];
    let mut item_f = init_factors(&c.item_counts, k, p.factors, 0.0, p.init_std, p.seed);
    let mut user_bias = vec![0f32; n_u];
    let mut item_bias = vec![0f32; n_i];
    progress.start("als iterations", p.iterations as u64);
    for _ in 0..p.iterations {
        als_half_sweep(
            &by_user,
            mu,
            &item_bias,
            &item_f,
            k,
            p.factors,
            p.reg,
            &mut user_bias,
            &mut user_f,
        );
        als_half_sweep(
            &by_item,
            mu,
            &user_bias,
            &user_f,
            k,
            p.factors,
            p.reg,
            &mut item_bias,
            &mut item_f,
        );
        progress.inc(1);
    }
    progress.finish("done");
    Scorer::Factors(Factors {
        k,
        user_bias: CompactRatings::spread(&c.user_rows, &user_bias),
        item_bias: CompactRatings::spread(&c.item_rows, &item_bias),
        user_factors: user_f,
        item_factors: item_f,
        fold_in_reg: 0.0,
        fold_in_reg_per_rating: p.reg,
        user_rows: c.user_rows,
        item_rows: c.item_rows,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    /// A rank-1 matrix r_ui = 5 + a_u·c_i, fully observed, is recovered almost exactly.
    #[test]
    fn recovers_rank_one() {
        let a = [1.0f32, -0.5, 0.8, -1.2, 0.3];
        let c = [1.5f32, -1.0, 0.5, 2.0, -0.7, 0.9];
        let mut t = Vec::new();
        for (u, au) in a.iter().enumerate() {
            for (i, ci) in c.iter().enumerate() {
                t.push((format!("u{u}"), format!("i{i}"), 5.0 + au * ci));
            }
        }
        let train =
            Interactions::from_triplets(t.clone(), Some(crate::RatingScale::new(0.0, 10.0)));
        let p = AlsParams {
            factors: 2,
            iterations: 30,
            reg: 0.0005,
            ..AlsParams::default()
        };
        let Scorer::Factors(f) = fit(&p, &train, &NoProgress) else {
            panic!()
        };
        let mu = train.global_mean();
        let mut worst = 0f32;
        for (&u, (&i, &r)) in train.user.iter().zip(train.item.iter().zip(&train.rating)) {
            let (u, i) = (u as usize, i as usize);
            let pred = mu
                + f.user_bias[u]
                + f.item_bias[i]
                + crate::kernels::dense::dot(
                    f.user_vec(u as u32).unwrap(),
                    f.item_vec(i as u32).unwrap(),
                );
            worst = worst.max((pred - r).abs());
        }
        assert!(worst < 0.02, "max error {worst}");
    }
}
