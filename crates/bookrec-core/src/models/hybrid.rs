//! `hybrid`: regularised biases shrunk towards side-information groups (a hierarchical bias
//! model; Koren 2010's baseline predictors with the group effects of Koren & Bell's "Advances
//! in CF", and the author/work fallbacks of content-boosted CF).
//!
//! r̂(u,i) = μ + b_u + γ_{a(u)} + b_i + β^author_{A(i)} + β^work_{W(i)} + β^publisher_{P(i)}
//!          + β^period_{Y(i)} + δ_{a(i)}
//!
//! * b_u, b_i: user and book biases (ratings, 1–10 scale units), L2 weights `reg_u`, `reg_i`;
//! * β^g: one bias per catalogue group (author, work = title + author across ISBN editions,
//!   publisher, five-year period; see [`crate::data::ItemGroups`]), L2 weight `reg_<g>`. A book
//!   missing from the catalogue (or fitted without one) has no group term;
//! * γ, δ: activity biases of users and books by the number n of their implicit interactions
//!   (Book-Crossing's 0 = "read, not rated"), a(·) = ⌊log₂ n⌋ for n ≥ 1 and none for n = 0,
//!   L2 weight `reg_activity`.
//!
//! Fitted by block coordinate descent (back-fitting): each epoch sets every block in turn to
//! its ridge solution given the others, b_x = Σ_{ratings of x} residual / (reg_x + n_x), which
//! is Surprise's `baseline_als` extended to the extra blocks, so the objective
//! Σ (r − r̂)² + Σ_blocks reg·‖b‖² decreases monotonically. Since every ridge penalty pulls a
//! book's own b_i to 0 and the group terms are shared, a book with few ratings is shrunk
//! towards its author's, work's and publisher's mean rating rather than towards μ, and a book
//! or reader without any training rating still gets the group and activity terms (served by
//! the fallback in `serve.rs`; [`super::ModelKind::has_cold_biases`]).
//!
//! The fitted model is a bias-only [`Factors`] (k = 0): per-user bias b_u + γ_{a(u)} and
//! per-book bias b_i + Σ β + δ_{a(i)} for every index of the vocabularies. Fold-in of a new
//! reader solves b_u with λ = `reg_u` against the books' full biases (the new reader's
//! activity term is unknown and left out).

use serde::{Deserialize, Serialize};

use super::{check_at_least_one, check_non_negative, Factors, ParamSet, Scorer};
use crate::data::{GroupKind, Interactions, NO_GROUP};
use crate::progress::Progress;
use crate::Result;

/// Parameters of `hybrid`. The L2 weights are absolute (as `baseline`'s ALS), not per rating.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HybridParams {
    /// Back-fitting sweeps over all blocks.
    pub epochs: usize,
    /// L2 weight of the user biases b_u.
    pub reg_u: f32,
    /// L2 weight of the book biases b_i.
    pub reg_i: f32,
    /// L2 weight of the author biases.
    pub reg_author: f32,
    /// L2 weight of the work (same title and author) biases.
    pub reg_work: f32,
    /// L2 weight of the publisher biases.
    pub reg_publisher: f32,
    /// L2 weight of the publication-period biases.
    pub reg_period: f32,
    /// L2 weight of the activity biases γ and δ.
    pub reg_activity: f32,
}

impl Default for HybridParams {
    /// `baseline`'s defaults for b_u and b_i (so without side information the model is
    /// `baseline` with more sweeps), and group weights of 10 (a group's mean counts half once it
    /// has 10 ratings).
    fn default() -> Self {
        HybridParams {
            epochs: 20,
            reg_u: 15.0,
            reg_i: 10.0,
            reg_author: 10.0,
            reg_work: 10.0,
            reg_publisher: 10.0,
            reg_period: 10.0,
            reg_activity: 10.0,
        }
    }
}

impl ParamSet for HybridParams {
    const KEYS: &'static [&'static str] = &[
        "epochs",
        "reg_u",
        "reg_i",
        "reg_author",
        "reg_work",
        "reg_publisher",
        "reg_period",
        "reg_activity",
    ];

    fn check(&self) -> Result<()> {
        check_at_least_one("epochs", self.epochs)?;
        check_non_negative("reg_u", self.reg_u)?;
        check_non_negative("reg_i", self.reg_i)?;
        check_non_negative("reg_author", self.reg_author)?;
        check_non_negative("reg_work", self.reg_work)?;
        check_non_negative("reg_publisher", self.reg_publisher)?;
        check_non_negative("reg_period", self.reg_period)?;
        check_non_negative("reg_activity", self.reg_activity)
    }
}

impl HybridParams {
    fn group_reg(&self, kind: GroupKind) -> f32 {
        match kind {
            GroupKind::Author => self.reg_author,
            GroupKind::Work => self.reg_work,
            GroupKind::Publisher => self.reg_publisher,
            GroupKind::Period => self.reg_period,
        }
    }
}

/// Which side of a rating a block's index comes from.
#[derive(Clone, Copy)]
enum Side {
    User,
    Item,
}

/// One additive block of biases: `of[x]` is the bias slot of user/book x (`NO_GROUP` = none).
struct Block {
    side: Side,
    of: Vec<u32>,
    reg: f64,
    bias: Vec<f64>,
}

impl Block {
    fn new(side: Side, of: Vec<u32>, n: usize, reg: f32) -> Self {
        Block {
            side,
            of,
            reg: reg as f64,
            bias: vec![0.0; n],
        }
    }

    fn slot(&self, user: u32, item: u32) -> Option<usize> {
        let x = match self.side {
            Side::User => user,
            Side::Item => item,
        };
        match self.of.get(x as usize) {
            Some(&g) if g != NO_GROUP => Some(g as usize),
            _ => None,
        }
    }

    /// The block's total effect on index x of its side.
    fn effect(&self, x: usize) -> f32 {
        match self.of.get(x) {
            Some(&g) if g != NO_GROUP => self.bias[g as usize] as f32,
            _ => 0.0,
        }
    }
}

/// a(x) = ⌊log₂ n_x⌋ for the n_x ≥ 1 implicit interactions of each index, `NO_GROUP` for none;
/// and the number of activity levels.
fn activity(indices: &[u32], n: usize) -> (Vec<u32>, usize) {
    let mut counts = vec![0u32; n];
    for &x in indices {
        if let Some(c) = counts.get_mut(x as usize) {
            *c += 1;
        }
    }
    let of: Vec<u32> = counts
        .iter()
        .map(|&c| if c == 0 { NO_GROUP } else { c.ilog2() })
        .collect();
    let levels = of
        .iter()
        .filter(|&&g| g != NO_GROUP)
        .max()
        .map_or(0, |&m| m as usize + 1);
    (of, levels)
}

pub(crate) fn fit(p: &HybridParams, train: &Interactions, progress: &dyn Progress) -> Scorer {
    let (n_users, n_items) = (train.n_users(), train.n_items());
    let mut blocks = Vec::new();
    if let Some(groups) = &train.item_groups {
        for col in &groups.columns {
            if col.group.len() == n_items && col.n_groups > 0 {
                blocks.push(Block::new(
                    Side::Item,
                    col.group.clone(),
                    col.n_groups,
                    p.group_reg(col.kind),
                ));
            }
        }
    }
    for (side, indices, n) in [
        (Side::Item, &train.implicit_item, n_items),
        (Side::User, &train.implicit_user, n_users),
    ] {
        let (of, levels) = activity(indices, n);
        if levels > 0 {
            blocks.push(Block::new(side, of, levels, p.reg_activity));
        }
    }
    // The books' and readers' own biases come last in each sweep, as b_i then b_u in
    // `baseline_als`: they take up what the shared terms leave.
    let ids = |n: usize| (0..n as u32).collect::<Vec<u32>>();
    blocks.push(Block::new(Side::Item, ids(n_items), n_items, p.reg_i));
    blocks.push(Block::new(Side::User, ids(n_users), n_users, p.reg_u));

    let mu = train.global_mean() as f64;
    let mut residual: Vec<f64> = train.rating.iter().map(|&r| r as f64 - mu).collect();
    let slots: Vec<Vec<u32>> = blocks
        .iter()
        .map(|b| {
            train
                .user
                .iter()
                .zip(&train.item)
                .map(|(&u, &i)| b.slot(u, i).map_or(NO_GROUP, |s| s as u32))
                .collect()
        })
        .collect();
    let mut sums = Vec::new();
    let mut counts = Vec::new();
    progress.start("hybrid back-fitting", p.epochs as u64);
    for _ in 0..p.epochs {
        for (block, slot) in blocks.iter_mut().zip(&slots) {
            let n = block.bias.len();
            sums.clear();
            sums.resize(n, 0f64);
            counts.clear();
            counts.resize(n, 0u32);
            for (&s, &r) in slot.iter().zip(&residual) {
                if s != NO_GROUP {
                    let s = s as usize;
                    // The block's current bias is added back: the sums are of r − (everything else).
                    sums[s] += r + block.bias[s];
                    counts[s] += 1;
                }
            }
            let old = std::mem::take(&mut block.bias);
            block.bias = sums
                .iter()
                .zip(&counts)
                .map(|(&s, &c)| {
                    if c == 0 {
                        0.0
                    } else {
                        s / (block.reg + c as f64)
                    }
                })
                .collect();
            for (&s, r) in slot.iter().zip(residual.iter_mut()) {
                if s != NO_GROUP {
                    *r -= block.bias[s as usize] - old[s as usize];
                }
            }
        }
        progress.inc(1);
    }
    progress.finish("biases fitted");

    let mut user_bias = vec![0f32; n_users];
    let mut item_bias = vec![0f32; n_items];
    for b in &blocks {
        let side = match b.side {
            Side::User => &mut user_bias,
            Side::Item => &mut item_bias,
        };
        for (x, v) in side.iter_mut().enumerate() {
            *v += b.effect(x);
        }
    }
    Scorer::Factors(Factors {
        k: 0,
        user_bias,
        item_bias,
        user_factors: Vec::new(),
        item_factors: Vec::new(),
        fold_in_reg: p.reg_u,
        fold_in_reg_per_rating: 0.0,
        user_rows: Vec::new(),
        item_rows: Vec::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::models::BaselineParams;
    use crate::progress::NoProgress;

    #[test]
    fn activity_levels_are_log2_of_counts() {
        let (of, levels) = activity(&[0, 1, 1, 2, 2, 2, 2], 4);
        assert_eq!(of, vec![0, 1, 2, NO_GROUP]);
        assert_eq!(levels, 3);
    }

    /// Without side information or implicit interactions, the model is `baseline`'s ALS.
    #[test]
    fn without_side_information_equals_baseline_als() {
        let train = Interactions::from_triplets(
            [
                ("u1", "a", 4.0),
                ("u1", "b", 2.0),
                ("u2", "a", 5.0),
                ("u2", "c", 3.0),
                ("u3", "c", 9.0),
            ],
            None,
        );
        let p = HybridParams {
            reg_u: 1.0,
            reg_i: 2.0,
            ..HybridParams::default()
        };
        let Scorer::Factors(h) = fit(&p, &train, &NoProgress) else {
            panic!()
        };
        let b = BaselineParams {
            reg_u: 1.0,
            reg_i: 2.0,
            epochs: Some(p.epochs),
            ..BaselineParams::default()
        };
        let Scorer::Factors(base) = super::super::baseline::fit(&b, &train, &NoProgress) else {
            panic!()
        };
        for (x, y) in h.user_bias.iter().zip(&base.user_bias) {
            assert!(
                (x - y).abs() < 1e-5,
                "{:?} {:?}",
                h.user_bias,
                base.user_bias
            );
        }
        for (x, y) in h.item_bias.iter().zip(&base.item_bias) {
            assert!(
                (x - y).abs() < 1e-5,
                "{:?} {:?}",
                h.item_bias,
                base.item_bias
            );
        }
    }
}
