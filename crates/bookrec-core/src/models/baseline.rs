//! Baseline estimates: r̂(u,i) = μ + b_u + b_i with regularised biases, fitted exactly as
//! Surprise's `BaselineOnly` (Koren 2010, section 2.1).

use serde::{Deserialize, Serialize};

use super::{check_at_least_one, check_non_negative, check_positive, Factors, ParamSet, Scorer};
use crate::data::Interactions;
use crate::progress::Progress;
use crate::Result;

/// How the biases are fitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineMethod {
    /// Alternating closed-form updates (Surprise's default):
    /// b_i = Σ_u (r_ui − μ − b_u)/(reg_i + |U_i|), then b_u = Σ_i (r_ui − μ − b_i)/(reg_u + |I_u|).
    Als,
    /// SGD over the ratings: e = r − r̂; b_u += lr(e − reg·b_u); b_i += lr(e − reg·b_i).
    Sgd,
}

/// Parameters of `baseline`. Defaults equal Surprise's `BaselineOnly`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineParams {
    pub method: BaselineMethod,
    /// Passes over the data; `None` = Surprise's default for the method (ALS 10, SGD 20).
    pub epochs: Option<usize>,
    /// ALS: L2 weight of user biases (absolute, not per rating).
    pub reg_u: f32,
    /// ALS: L2 weight of item biases.
    pub reg_i: f32,
    /// SGD: learning rate.
    pub lr: f32,
    /// SGD: L2 weight per update.
    pub reg: f32,
}

impl Default for BaselineParams {
    fn default() -> Self {
        BaselineParams {
            method: BaselineMethod::Als,
            epochs: None,
            reg_u: 15.0,
            reg_i: 10.0,
            lr: 0.005,
            reg: 0.02,
        }
    }
}

impl BaselineParams {
    pub fn epochs(&self) -> usize {
        self.epochs.unwrap_or(match self.method {
            BaselineMethod::Als => 10,
            BaselineMethod::Sgd => 20,
        })
    }
}

impl ParamSet for BaselineParams {
    const KEYS: &'static [&'static str] = &["method", "epochs", "reg_u", "reg_i", "lr", "reg"];

    fn check(&self) -> Result<()> {
        check_at_least_one("epochs", self.epochs())?;
        check_non_negative("reg_u", self.reg_u)?;
        check_non_negative("reg_i", self.reg_i)?;
        check_positive("lr", self.lr)?;
        check_non_negative("reg", self.reg)
    }
}

pub(crate) fn fit(p: &BaselineParams, train: &Interactions, progress: &dyn Progress) -> Scorer {
    let mu = train.global_mean();
    let epochs = p.epochs();
    let (user_bias, item_bias, fold_in_reg, per_rating) = match p.method {
        BaselineMethod::Als => {
            let (bu, bi) = als_biases(train, mu, p.reg_u, p.reg_i, epochs, progress);
            (bu, bi, p.reg_u, 0.0)
        }
        BaselineMethod::Sgd => {
            let (bu, bi) = sgd_biases(train, mu, p.lr, p.reg, epochs, progress);
            (bu, bi, 0.0, p.reg)
        }
    };
    Scorer::Factors(Factors {
        k: 0,
        user_bias,
        item_bias,
        user_factors: Vec::new(),
        item_factors: Vec::new(),
        fold_in_reg,
        fold_in_reg_per_rating: per_rating,
        user_rows: Vec::new(),
        item_rows: Vec::new(),
    })
}

/// Surprise's `baseline_als`: `epochs` rounds of item biases then user biases, each the
/// regularised mean residual. Sums in f64 as Surprise does.
pub(crate) fn als_biases(
    train: &Interactions,
    mu: f32,
    reg_u: f32,
    reg_i: f32,
    epochs: usize,
    progress: &dyn Progress,
) -> (Vec<f32>, Vec<f32>) {
    let by_user = train.by_user();
    let by_item = train.by_item();
    let mut bu = vec![0f32; train.n_users()];
    let mut bi = vec![0f32; train.n_items()];
    let mu = mu as f64;
    progress.start("baseline als", epochs as u64);
    for _ in 0..epochs {
        for (i, b) in bi.iter_mut().enumerate() {
            let (us, rs) = by_item.row(i);
            let dev: f64 = us
                .iter()
                .zip(rs)
                .map(|(&u, &r)| r as f64 - mu - bu[u as usize] as f64)
                .sum();
            *b = (dev / (reg_i as f64 + us.len() as f64)) as f32;
        }
        for (u, b) in bu.iter_mut().enumerate() {
            let (is, rs) = by_user.row(u);
            let dev: f64 = is
                .iter()
                .zip(rs)
                .map(|(&i, &r)| r as f64 - mu - bi[i as usize] as f64)
                .sum();
            *b = (dev / (reg_u as f64 + is.len() as f64)) as f32;
        }
        progress.inc(1);
    }
    progress.finish("biases fitted");
    (bu, bi)
}

/// Surprise's `baseline_sgd`, over the ratings grouped by user (Surprise's `all_ratings` order).
fn sgd_biases(
    train: &Interactions,
    mu: f32,
    lr: f32,
    reg: f32,
    epochs: usize,
    progress: &dyn Progress,
) -> (Vec<f32>, Vec<f32>) {
    let by_user = train.by_user();
    let mut bu = vec![0f32; train.n_users()];
    let mut bi = vec![0f32; train.n_items()];
    progress.start("baseline sgd epochs", epochs as u64);
    for _ in 0..epochs {
        for (u, b) in bu.iter_mut().enumerate() {
            let (is, rs) = by_user.row(u);
            for (&i, &r) in is.iter().zip(rs) {
                let i = i as usize;
                let e = r - (mu + *b + bi[i]);
                *b += lr * (e - reg * *b);
                bi[i] += lr * (e - reg * bi[i]);
            }
        }
        progress.inc(1);
    }
    progress.finish("biases fitted");
    (bu, bi)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    /// Four ratings, one ALS round with reg_u = 1, reg_i = 1, computed by hand:
    /// u1: a=4, b=2; u2: a=5, c=3. μ = 3.5.
    /// Items first (b_u = 0): b_a = (0.5 + 1.5)/(1 + 2) = 2/3, b_b = −1.5/2 = −0.75,
    /// b_c = −0.5/2 = −0.25.
    /// Users: b_u1 = ((4 − 3.5 − 2/3) + (2 − 3.5 + 0.75))/(1 + 2) = (−1/6 − 0.75)/3 = −11/36,
    /// b_u2 = ((5 − 3.5 − 2/3) + (3 − 3.5 + 0.25))/3 = (5/6 − 0.25)/3 = 7/36.
    #[test]
    fn als_biases_by_hand() {
        let train = Interactions::from_triplets(
            [
                ("u1", "a", 4.0),
                ("u1", "b", 2.0),
                ("u2", "a", 5.0),
                ("u2", "c", 3.0),
            ],
            None,
        );
        let (bu, bi) = als_biases(&train, 3.5, 1.0, 1.0, 1, &NoProgress);
        let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-6;
        assert!(
            close(bi[0], 2.0 / 3.0) && close(bi[1], -0.75) && close(bi[2], -0.25),
            "{bi:?}"
        );
        assert!(
            close(bu[0], -11.0 / 36.0) && close(bu[1], 7.0 / 36.0),
            "{bu:?}"
        );
    }

    #[test]
    fn sgd_biases_move_towards_residuals() {
        let train = Interactions::from_triplets([("u1", "a", 5.0), ("u2", "a", 1.0)], None);
        let (bu, _) = sgd_biases(&train, 3.0, 0.1, 0.0, 50, &NoProgress);
        assert!(bu[0] > 1.0 && bu[1] < -1.0, "{bu:?}");
    }
}
