//! Accuracy and top-N metrics: pure functions over slices.
//!
//! Rating accuracy: RMSE = √(Σ(r̂ − r)² / n), MAE = Σ|r̂ − r| / n, in rating units, accumulated
//! in f64 so millions of f32 errors do not lose precision.
//!
//! Ranking metrics use binary relevance: a recommended book is a hit if it is in the user's set
//! of relevant held-out books. Each recommended book counts at most once (a repeated id in a
//! list is not a second hit), and only the first `k` recommendations are read. For one user
//! with relevant set R and list L (top k):
//! - precision@k = hits / k (a list shorter than k is penalised for the empty slots),
//! - recall@k = hits / |R|,
//! - NDCG@k = DCG / IDCG with DCG = Σ_{i<k, L_i∈R} 1 / log₂(i + 2) (i 0-based) and IDCG the DCG
//!   of a perfect list, Σ_{i<min(|R|,k)} 1 / log₂(i + 2),
//! - AP@k = Σ_{i<k, L_i∈R} precision@(i+1) / min(|R|, k),
//! - hit@k = 1 if any hit, else 0.
//!
//! A user with no relevant books scores 0 on every per-list metric (and [`ranking_metrics`]
//! skips such users); `k = 0` scores 0.

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::data::ItemLevel;

/// Root mean squared error, in rating units. NaN for empty input.
///
/// Panics if the slices differ in length (a caller bug, never user input).
pub fn rmse(pred: &[f32], truth: &[f32]) -> f64 {
    assert_eq!(pred.len(), truth.len(), "rmse: length mismatch");
    let sse: f64 = pred
        .iter()
        .zip(truth)
        .map(|(&p, &t)| {
            let e = p as f64 - t as f64;
            e * e
        })
        .sum();
    (sse / pred.len() as f64).sqrt()
}

/// Mean absolute error, in rating units. NaN for empty input.
///
/// Panics if the slices differ in length (a caller bug, never user input).
pub fn mae(pred: &[f32], truth: &[f32]) -> f64 {
    assert_eq!(pred.len(), truth.len(), "mae: length mismatch");
    let sae: f64 = pred
        .iter()
        .zip(truth)
        .map(|(&p, &t)| (p as f64 - t as f64).abs())
        .sum();
    sae / pred.len() as f64
}

/// What makes a held-out book relevant to its user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relevance {
    /// A held-out rating at or above the relevance threshold ("would they like it").
    #[default]
    Rating,
    /// Any held-out interaction, explicit (whatever the rating) or implicit ("did they pick
    /// it up"): the target of a ranking model such as ials.
    Interactions,
}

/// Top-N quality averaged over users (see the module doc for the per-user definitions).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RankingMetrics {
    /// List length the metrics are cut at.
    pub k: usize,
    /// A held-out rating at or above this value makes its book relevant (with
    /// [`Relevance::Rating`]; ignored with [`Relevance::Interactions`]).
    pub relevance_threshold: f32,
    /// What made a book relevant.
    #[serde(default)]
    pub relevance: Relevance,
    /// Users with at least one relevant held-out book, over whom the means are taken.
    pub users_evaluated: usize,
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub map: f64,
    pub hit_rate: f64,
    /// Distinct books in all users' top-k / number of recommendable (candidate) books.
    pub coverage: f64,
    /// What a list entry and a relevant book are: each book id (`isbn`), or each work
    /// (`works`: lists as served, one edition per work; a hit when any edition of a held-out
    /// work is listed; coverage over listable works).
    #[serde(default)]
    pub level: ItemLevel,
}

/// Which of the first `k` recommendations are hits (first occurrence of a relevant id), and
/// the number of distinct relevant ids.
fn hits(recs: &[u32], relevant: &[u32], k: usize) -> (Vec<bool>, usize) {
    let rel: FxHashSet<u32> = relevant.iter().copied().collect();
    let mut counted = FxHashSet::default();
    let flags = recs
        .iter()
        .take(k)
        .map(|item| rel.contains(item) && counted.insert(*item))
        .collect();
    (flags, rel.len())
}

fn dcg(flags: &[bool]) -> f64 {
    flags
        .iter()
        .enumerate()
        .filter(|(_, &h)| h)
        .map(|(i, _)| discount(i))
        .sum()
}

/// 1 / log₂(i + 2) for 0-based rank i.
fn discount(i: usize) -> f64 {
    1.0 / ((i + 2) as f64).log2()
}

fn ideal_dcg(n_relevant: usize, k: usize) -> f64 {
    (0..n_relevant.min(k)).map(discount).sum()
}

fn average_precision(flags: &[bool], n_relevant: usize, k: usize) -> f64 {
    let denom = n_relevant.min(k);
    if denom == 0 {
        return 0.0;
    }
    let mut n_hits = 0usize;
    let mut sum = 0.0;
    for (i, &h) in flags.iter().enumerate() {
        if h {
            n_hits += 1;
            sum += n_hits as f64 / (i + 1) as f64;
        }
    }
    sum / denom as f64
}

/// Hits among the first `k` recommendations / `k`.
pub fn precision_at_k(recs: &[u32], relevant: &[u32], k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    let (flags, _) = hits(recs, relevant, k);
    flags.iter().filter(|&&h| h).count() as f64 / k as f64
}

/// Hits among the first `k` recommendations / number of distinct relevant books.
pub fn recall_at_k(recs: &[u32], relevant: &[u32], k: usize) -> f64 {
    let (flags, n_rel) = hits(recs, relevant, k);
    if n_rel == 0 {
        return 0.0;
    }
    flags.iter().filter(|&&h| h).count() as f64 / n_rel as f64
}

/// Normalised discounted cumulative gain with binary gains and a log₂ discount; the ideal DCG
/// places min(|relevant|, k) hits at the top.
pub fn ndcg_at_k(recs: &[u32], relevant: &[u32], k: usize) -> f64 {
    let (flags, n_rel) = hits(recs, relevant, k);
    let ideal = ideal_dcg(n_rel, k);
    if ideal == 0.0 {
        return 0.0;
    }
    dcg(&flags) / ideal
}

/// Average precision: mean of precision@(i+1) over the hit positions i < k, divided by
/// min(|relevant|, k) so a perfect list scores 1.
pub fn average_precision_at_k(recs: &[u32], relevant: &[u32], k: usize) -> f64 {
    let (flags, n_rel) = hits(recs, relevant, k);
    average_precision(&flags, n_rel, k)
}

/// Averages the per-user metrics over users whose `relevant` list is non-empty (the others are
/// skipped). `recs[u]` is user u's ordered recommendation list, `relevant[u]` their relevant
/// held-out books. Coverage counts distinct books in the top-k of the evaluated users over
/// `n_catalog_items` (0 if that is 0). With no evaluated user every mean is 0 and
/// `users_evaluated` says so.
///
/// Panics if `recs` and `relevant` differ in length (a caller bug).
pub fn ranking_metrics(
    recs: &[Vec<u32>],
    relevant: &[Vec<u32>],
    k: usize,
    relevance_threshold: f32,
    n_catalog_items: usize,
) -> RankingMetrics {
    assert_eq!(
        recs.len(),
        relevant.len(),
        "ranking_metrics: one relevant list per recommendation list"
    );
    let mut m = RankingMetrics {
        k,
        relevance_threshold,
        relevance: Relevance::Rating,
        users_evaluated: 0,
        precision: 0.0,
        recall: 0.0,
        ndcg: 0.0,
        map: 0.0,
        hit_rate: 0.0,
        coverage: 0.0,
        level: ItemLevel::Isbn,
    };
    let mut recommended = FxHashSet::default();
    for (list, rel) in recs.iter().zip(relevant) {
        let (flags, n_rel) = hits(list, rel, k);
        if n_rel == 0 {
            continue;
        }
        m.users_evaluated += 1;
        recommended.extend(list.iter().take(k).copied());
        let n_hits = flags.iter().filter(|&&h| h).count();
        if k > 0 {
            m.precision += n_hits as f64 / k as f64;
        }
        m.recall += n_hits as f64 / n_rel as f64;
        let ideal = ideal_dcg(n_rel, k);
        if ideal > 0.0 {
            m.ndcg += dcg(&flags) / ideal;
        }
        m.map += average_precision(&flags, n_rel, k);
        m.hit_rate += f64::from(u8::from(n_hits > 0));
    }
    if m.users_evaluated > 0 {
        let n = m.users_evaluated as f64;
        m.precision /= n;
        m.recall /= n;
        m.ndcg /= n;
        m.map /= n;
        m.hit_rate /= n;
    }
    if n_catalog_items > 0 {
        m.coverage = recommended.len() as f64 / n_catalog_items as f64;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ndcg_rel_non_rel_with_two_relevant() {
        // DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3).
        let v = ndcg_at_k(&[1, 9, 2], &[1, 2], 3);
        assert!(close(v, 1.5 / (1.0 + 1.0 / 3f64.log2())), "{v}");
    }

    #[test]
    fn duplicates_count_once() {
        assert!(close(precision_at_k(&[1, 1, 1], &[1], 3), 1.0 / 3.0));
        assert!(close(average_precision_at_k(&[1, 1], &[1, 2], 2), 0.5));
    }

    #[test]
    fn empty_inputs() {
        assert!(rmse(&[], &[]).is_nan());
        assert!(mae(&[], &[]).is_nan());
        assert_eq!(recall_at_k(&[1], &[], 5), 0.0);
        assert_eq!(precision_at_k(&[1], &[1], 0), 0.0);
    }
}
