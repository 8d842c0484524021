//! Biased matrix factorisation trained by SGD (Funk; Koren, Bell & Volinsky 2009):
//! r̂(u,i) = μ + b_u + b_i + q_iᵀp_u, minimising Σ (r − r̂)² + reg(b_u² + b_i² + ‖p_u‖² + ‖q_i‖²)
//! with Surprise's `SVD` update rule (see [`crate::kernels::sgd::sgd_step`]).
//!
//! Parallel SGD follows LibMF's FPSGD (Chin et al. 2015): users and books are cut into `G`
//! contiguous ranges of rows with about equal numbers of ratings, giving a G×G grid of blocks.
//! Each epoch runs G rounds; round d updates the blocks (b, (b + d) mod G) for all b, which
//! share no user and no book, so they run in parallel without locks. The rounds of each epoch
//! run in a seeded random order and ratings inside a block by user — LibMF's "partial random"
//! scheme, which keeps the user's row in cache across consecutive updates — and each user's
//! ratings in a seeded random order of the books, fixed for the fit (Surprise: file order,
//! which its splitters shuffle); the book ranges are random strata of that order, so each
//! mixes popular and rare books (see [`CompactRatings::stratify_items`]).
//! The automatic G is the number of threads (see [`auto_blocks`]). Only users and books with
//! training ratings get factor rows (see [`CompactRatings`]).
//!
//! Memory, not arithmetic, bounds this on Book-Crossing: with ~2 ratings per book, nearly every
//! update misses cache on q_i (7 cache lines at 100 factors, read and written back), and the
//! loop waits on the CPU's fill buffers (the software prefetches are where it stalls). So what
//! counts is cache lines per update: the biases live inside the factor rows (augmented rows,
//! see [`sgd_step`](crate::kernels::sgd::sgd_step); no separate bias miss), the grid has as
//! few blocks as there are threads (longer runs of one user per block: p_u is fetched at 26%
//! of the updates instead of 48% with the earlier ~2,000-ratings blocks), the kernel prefetches
//! rows a few ratings ahead, and the factor matrices ask for huge pages (TLB misses and page
//! faults). The update itself runs with AVX2/FMA when the CPU has them
//! ([`SgdKernel::detect`], once per fit); the portable kernel gives the same fit to float
//! precision. Renumbering books by popularity, interleaving two users' runs, an AVX-512 kernel
//! keeping p_u in registers and other prefetch distances measured no faster. The figures are in
//! the README (Benchmarks).
//!
//! Determinism: the initial factors, the books' order and strata and the round order depend
//! only on `seed`, the grid on the data, `seed` and G, and blocks in a round are disjoint, so
//! the result is bit-identical for a given seed, data and G. With `blocks` set, G is fixed,
//! so the result does not depend on the number of threads; with the automatic G (`blocks =
//! 0`) it is bit-identical for a given seed, data and number of rayon threads
//! (`RAYON_NUM_THREADS`). The update order differs from
//! Surprise's (ratings grouped by user and block); accuracy is the same within noise (README,
//! "svd beside Surprise's SVD on MovieLens").

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{
    check_at_least_one, check_finite, check_non_negative, check_positive, compact_rows, Factors,
    ParamSet, Scorer,
};
use crate::data::Interactions;
use crate::kernels::memory::advise_huge_pages;
use crate::kernels::sgd::{augmented_stride, sgd_block_with, BlockRating, SgdKernel, SgdRates};
use crate::progress::Progress;
use crate::rng::Rng;
use crate::{Error, Result};

/// Parameters of `svd`. Defaults equal Surprise's `SVD` (seed aside).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SvdParams {
    /// Number of latent factors.
    pub factors: usize,
    pub epochs: usize,
    /// Learning rate of all parameters.
    pub lr: f32,
    /// L2 weight of all parameters, per update.
    pub reg: f32,
    /// Factors start as N(init_mean, init_std²).
    pub init_mean: f32,
    pub init_std: f32,
    /// Grid size G of the parallel SGD (G×G blocks); 0 = automatic: the number of threads,
    /// fewer on small sets (see the module doc on determinism).
    /// 1 = plain sequential SGD over the ratings by user, each user's in a seeded random order
    /// of the books (see [`CompactRatings::stratify_items`]).
    pub blocks: usize,
    pub seed: u64,
}

impl Default for SvdParams {
    fn default() -> Self {
        SvdParams {
            factors: 100,
            epochs: 20,
            lr: 0.005,
            reg: 0.02,
            init_mean: 0.0,
            init_std: 0.1,
            blocks: 0,
            seed: 42,
        }
    }
}

impl ParamSet for SvdParams {
    const KEYS: &'static [&'static str] = &[
        "factors",
        "epochs",
        "lr",
        "reg",
        "init_mean",
        "init_std",
        "blocks",
        "seed",
    ];

    fn check(&self) -> Result<()> {
        check_at_least_one("factors", self.factors)?;
        check_at_least_one("epochs", self.epochs)?;
        check_positive("lr", self.lr)?;
        check_non_negative("reg", self.reg)?;
        check_finite("init_mean", self.init_mean)?;
        check_non_negative("init_std", self.init_std)?;
        if self.blocks > 1024 {
            return Err(Error::param("blocks", self.blocks, "must be at most 1024"));
        }
        Ok(())
    }
}

/// Automatic grid size: one block row per thread (`threads` blocks run in each round), but
/// at most about one per √(2,000 ratings), so small sets stay sequential (G = 1 below 8,000
/// ratings), and at most 32.
///
/// Why not more blocks than threads: on sparse data each block sees only a few ratings of
/// each user, so a finer grid cuts every user's run of consecutive ratings into more pieces,
/// and each piece starts with a cache miss on p_u. On the Book-Crossing 80/20 split, a new run
/// starts at 26% of the ratings for G = 2 but 48% for G = 13 (the previous choice, ~2,000
/// ratings a block); fewer rounds also mean fewer barriers, which matters on a loaded machine.
pub(crate) fn auto_blocks(n_ratings: usize, threads: usize) -> usize {
    ((n_ratings as f64 / 2000.0).sqrt() as usize).clamp(1, threads.clamp(1, 32))
}

/// Factor matrix (`n_rows` rows of stride `k`) whose first `factors` columns are drawn from
/// N(mean, std²) for the rows with `counts[row] > 0`; other rows (no training ratings, never
/// used) and padding columns stay zero.
///
/// Draws are Irwin–Hall(4) normals, z = (B₁ + B₂ + B₃ + B₄ − 510)/σ_B from the four bytes of
/// one 32-bit xorshift draw (σ_B = √(4·(256² − 1)/12) ≈ 147.8; same mean and variance as
/// N(0, 1), tails cut at ±3.45σ, steps of 0.007σ). Eight xorshift32 streams run side by side
/// in plain 32-bit lanes, so the loop vectorises: drawing Book-Crossing's ~22M factors with
/// one 64-bit generator call each cost as much CPU as two SGD epochs (now ~1/6). Rows are filled
/// in parallel in fixed chunks of 1024 rows, each with its lanes seeded from its own stream of
/// `seed`, so the result does not depend on the number of threads.
pub(crate) fn init_factors(
    counts: &[u32],
    k: usize,
    factors: usize,
    mean: f32,
    std: f32,
    seed: u64,
) -> Vec<f32> {
    fill_factors(counts, k, factors, (mean, std), seed, None)
}

/// [`init_factors`], and in each row with ratings column `one_at` (if any) set to 1: the
/// constant column of augmented rows (see [`sgd_step`](crate::kernels::sgd::sgd_step)), set in
/// the same pass so the matrix is written once.
fn fill_factors(
    counts: &[u32],
    k: usize,
    factors: usize,
    (mean, std): (f32, f32),
    seed: u64,
    one_at: Option<usize>,
) -> Vec<f32> {
    const CHUNK: usize = 1024;
    const W: usize = 8;
    let mut m = vec![0f32; counts.len() * k];
    if k == 0 {
        return m;
    }
    advise_huge_pages(&mut m);
    let scale = std / (4.0 * (256.0f32 * 256.0 - 1.0) / 12.0).sqrt();
    m.par_chunks_mut(CHUNK * k)
        .enumerate()
        .for_each(|(c, rows)| {
            let mut rng = Rng::stream(seed, c as u64);
            // xorshift32 needs a non-zero state.
            let mut lanes = [0u32; W].map(|_| (rng.next_u64() >> 32) as u32 | 1);
            for (r, row) in rows.chunks_exact_mut(k).enumerate() {
                if counts[c * CHUNK + r] == 0 {
                    continue;
                }
                for out in row[..factors].chunks_mut(W) {
                    let mut z = [0f32; W];
                    for (x, zl) in lanes.iter_mut().zip(&mut z) {
                        *x ^= *x << 13;
                        *x ^= *x >> 17;
                        *x ^= *x << 5;
                        let sum =
                            (*x & 0xFF) + ((*x >> 8) & 0xFF) + ((*x >> 16) & 0xFF) + (*x >> 24);
                        *zl = mean + scale * (sum as f32 - 510.0);
                    }
                    out.copy_from_slice(&z[..out.len()]);
                }
                if let Some(c) = one_at {
                    row[c] = 1.0;
                }
            }
        });
    m
}

/// Cuts `0..counts.len()` into `g` contiguous ranges with about equal total count; returns the
/// g + 1 boundaries.
fn balanced_bounds(counts: &[u32], g: usize) -> Vec<usize> {
    let total: u64 = counts.iter().map(|&c| c as u64).sum();
    let mut bounds = vec![0usize; g + 1];
    let mut acc = 0u64;
    let mut b = 1;
    for (idx, &c) in counts.iter().enumerate() {
        acc += c as u64;
        while b < g && acc * g as u64 >= total * b as u64 {
            bounds[b] = idx + 1;
            b += 1;
        }
    }
    for x in &mut bounds[b..] {
        *x = counts.len();
    }
    bounds
}

/// The block of each index given the range boundaries.
fn block_of(bounds: &[usize], n: usize) -> Vec<u32> {
    let mut out = vec![0u32; n];
    for b in 0..bounds.len() - 1 {
        for x in &mut out[bounds[b]..bounds[b + 1]] {
            *x = b as u32;
        }
    }
    out
}

/// `order` stably sorted by `keys[order[j]]` (each key < `n_keys`).
fn counting_sort(order: &[u32], keys: &[u32], n_keys: usize) -> Vec<u32> {
    let mut start = vec![0usize; n_keys + 1];
    for &k in keys {
        start[k as usize + 1] += 1;
    }
    for x in 1..start.len() {
        start[x] += start[x - 1];
    }
    let mut out = vec![0u32; order.len()];
    for &j in order {
        let slot = &mut start[keys[j as usize] as usize];
        out[*slot] = j;
        *slot += 1;
    }
    out
}

/// Mixed into a model's seed for the order of each user's books (svd's
/// [`CompactRatings::stratify_items`], svdpp's row shuffle), so that order is drawn
/// independently of the initial factors, which use the seed itself.
pub(crate) const BOOK_ORDER_SALT: u64 = 0x0B00_C0DE_0DE5;

/// The ratings of the G×G grid (block (bu, bi) at index bu·G + bi), with block-local indices,
/// each block in (user, book row) order.
pub(crate) struct Grid {
    pub g: usize,
    pub user_bounds: Vec<usize>,
    pub item_bounds: Vec<usize>,
    pub blocks: Vec<Vec<BlockRating>>,
}

impl Grid {
    /// The grid of `c`'s ratings, each block in (user, `item_key` of the book row) order.
    pub fn new(c: &CompactRatings, ratings: &[f32], g: usize, item_key: &[u32]) -> Grid {
        let user_bounds = balanced_bounds(&c.user_counts, g);
        let item_bounds = balanced_bounds(&c.item_counts, g);
        let ub = block_of(&user_bounds, c.user_counts.len());
        let ib = block_of(&item_bounds, c.item_counts.len());
        let mut sizes = vec![0usize; g * g];
        for (&u, &i) in c.u.iter().zip(&c.i) {
            sizes[ub[u as usize] as usize * g + ib[i as usize] as usize] += 1;
        }
        let mut blocks: Vec<Vec<BlockRating>> =
            sizes.iter().map(|&s| Vec::with_capacity(s)).collect();
        // LibMF's "partial random" order: blocks are visited in random order, ratings inside a
        // block in (user, book row) order, so consecutive updates reuse the user's row from
        // cache. Visiting all ratings in (user, book row) order fills every block in that
        // order; two counting sorts (by book row, then stably by user) give it in O(n).
        let all: Vec<u32> = (0..c.u.len() as u32).collect();
        let keys: Vec<u32> = c.i.iter().map(|&i| item_key[i as usize]).collect();
        let by_item = counting_sort(&all, &keys, c.item_counts.len());
        for k in counting_sort(&by_item, &c.u, c.user_counts.len()) {
            let (u, i, r) = (c.u[k as usize], c.i[k as usize], ratings[k as usize]);
            let (bu, bi) = (ub[u as usize] as usize, ib[i as usize] as usize);
            blocks[bu * g + bi].push(BlockRating {
                u: (u as usize - user_bounds[bu]) as u32,
                i: (i as usize - item_bounds[bi]) as u32,
                r,
            });
        }
        Grid {
            g,
            user_bounds,
            item_bounds,
            blocks,
        }
    }
}

/// The training ratings over compact rows: only users and books with training ratings get a
/// factor row (in index order), so factor matrices hold no never-used rows.
pub(crate) struct CompactRatings {
    /// Vocabulary index → row (`u32::MAX` = none).
    pub user_rows: Vec<u32>,
    pub item_rows: Vec<u32>,
    /// Row of each rating's user and book.
    pub u: Vec<u32>,
    pub i: Vec<u32>,
    /// Ratings per row.
    pub user_counts: Vec<u32>,
    pub item_counts: Vec<u32>,
}

impl CompactRatings {
    pub fn new(train: &Interactions) -> Self {
        let (user_rows, users) = compact_rows(&train.user_counts());
        let (item_rows, items) = compact_rows(&train.item_counts());
        let u: Vec<u32> = train.user.iter().map(|&x| user_rows[x as usize]).collect();
        let i: Vec<u32> = train.item.iter().map(|&x| item_rows[x as usize]).collect();
        let mut user_counts = vec![0u32; users.len()];
        let mut item_counts = vec![0u32; items.len()];
        for (&a, &b) in u.iter().zip(&i) {
            user_counts[a as usize] += 1;
            item_counts[b as usize] += 1;
        }
        CompactRatings {
            user_rows,
            item_rows,
            u,
            i,
            user_counts,
            item_counts,
        }
    }

    /// Gives the books a random order for SGD, drawn from `seed`, and renumbers the book rows
    /// so that the grid's `g` book ranges (see [`Grid::new`]) are random strata of about equal
    /// rating counts; returns each book row's label (its place in the random order), by which
    /// [`Grid::new`] orders each user's ratings.
    ///
    /// Rows otherwise follow the book index, i.e. first appearance in the ratings file, so low
    /// rows are mostly popular books. SGD in (user, book row) order would then run each user's
    /// ratings from popular to rare books in every epoch, and the grid's first book range
    /// would hold the popular books, its last the rare ones (each user's popular and rare
    /// ratings in separate rounds). Both systematic orders cost accuracy against Surprise's (a
    /// user's ratings in shuffled-file order): on MovieLens 0.0020–0.0026 RMSE for the first
    /// with `blocks = 1`, 0.0014–0.0018 for both with the automatic grid (README, "svd beside
    /// Surprise's SVD on MovieLens"). Inside a stratum the rows keep index order, so the
    /// popular books' rows stay together (fewer cache misses on Book-Crossing than fully
    /// shuffled rows).
    pub fn stratify_items(&mut self, g: usize, seed: u64) -> Vec<u32> {
        let n = self.item_counts.len();
        // by_label[l] = the row with label l.
        let mut by_label: Vec<u32> = (0..n as u32).collect();
        Rng::new(seed).shuffle(&mut by_label);
        let counts: Vec<u32> = by_label
            .iter()
            .map(|&x| self.item_counts[x as usize])
            .collect();
        let bounds = balanced_bounds(&counts, g.max(1));
        let (mut stratum, mut label) = (vec![0u32; n], vec![0u32; n]);
        for (s, w) in bounds.windows(2).enumerate() {
            for l in w[0]..w[1] {
                stratum[by_label[l] as usize] = s as u32;
                label[by_label[l] as usize] = l as u32;
            }
        }
        // New rows: by stratum, index order inside a stratum.
        let all: Vec<u32> = (0..n as u32).collect();
        let mut perm = vec![0u32; n];
        for (new, &old) in counting_sort(&all, &stratum, g.max(1)).iter().enumerate() {
            perm[old as usize] = new as u32;
        }
        for x in self.item_rows.iter_mut().filter(|x| **x != u32::MAX) {
            *x = perm[*x as usize];
        }
        for x in &mut self.i {
            *x = perm[*x as usize];
        }
        let (mut counts, mut new_label) = (vec![0u32; n], vec![0u32; n]);
        for old in 0..n {
            counts[perm[old] as usize] = self.item_counts[old];
            new_label[perm[old] as usize] = label[old];
        }
        self.item_counts = counts;
        new_label
    }

    /// A per-row vector spread back over the vocabulary (0 where there is no row).
    pub fn spread(rows: &[u32], compact: &[f32]) -> Vec<f32> {
        rows.iter()
            .map(|&r| compact.get(r as usize).copied().unwrap_or(0.0))
            .collect()
    }

    /// The inverse of [`Self::spread`]: a per-index vector gathered onto the `n` rows.
    pub fn gather(rows: &[u32], n: usize, full: &[f32]) -> Vec<f32> {
        let mut compact = vec![0f32; n];
        for (&r, &v) in rows.iter().zip(full) {
            if let Some(c) = compact.get_mut(r as usize) {
                *c = v;
            }
        }
        compact
    }
}

/// Splits `v` (rows of `stride` values) at the row boundaries `bounds` into mutable slices.
pub(crate) fn split_rows<'a, T>(
    mut v: &'a mut [T],
    bounds: &[usize],
    stride: usize,
) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(bounds.len() - 1);
    for w in bounds.windows(2) {
        let (head, tail) = v.split_at_mut((w[1] - w[0]) * stride);
        out.push(head);
        v = tail;
    }
    out
}

/// The model being trained: augmented rows (factors, biases and constant 1s, see
/// [`sgd_step`](crate::kernels::sgd::sgd_step)) of stride `k`.
pub(crate) struct Model {
    pub k: usize,
    pub user_f: Vec<f32>,
    pub item_f: Vec<f32>,
}

/// One FPSGD epoch over the grid; `epoch` seeds the order of the rounds. Returns Σe².
pub(crate) fn fpsgd_epoch(
    kernel: SgdKernel,
    grid: &Grid,
    m: &mut Model,
    mu: f32,
    rates: SgdRates,
    seed: u64,
    epoch: u64,
) -> f64 {
    let g = grid.g;
    let mut offsets: Vec<usize> = (0..g).collect();
    Rng::stream(seed ^ 0x005E_ED0F_E90C, epoch).shuffle(&mut offsets);
    let k = m.k;
    let mut sse = 0f64;
    for &d in &offsets {
        let users = split_rows(&mut m.user_f, &grid.user_bounds, k);
        let mut items = split_rows(&mut m.item_f, &grid.item_bounds, k);
        // After rotating, position b holds item range (b + d) mod G.
        items.rotate_left(d);
        let parts: Vec<f64> = users
            .into_par_iter()
            .zip(items)
            .enumerate()
            .map(|(b, (uf, itf))| {
                let block = &grid.blocks[b * g + (b + d) % g];
                sgd_block_with(kernel, block, mu, k, uf, itf, rates)
            })
            .collect();
        sse += parts.iter().sum::<f64>();
    }
    sse
}

/// Column `col` of the rows (stride `k`) of `m`, and columns `col` and `one` zeroed: turns
/// augmented rows back into plain factor rows with zero padding.
fn take_column(m: &mut [f32], k: usize, col: usize, one: usize) -> Vec<f32> {
    m.par_chunks_mut(k)
        .map(|row| {
            let b = row[col];
            row[col] = 0.0;
            row[one] = 0.0;
            b
        })
        .collect()
}

pub(crate) fn fit(p: &SvdParams, train: &Interactions, progress: &dyn Progress) -> Scorer {
    let k = augmented_stride(p.factors);
    let mu = train.global_mean();
    let g = if p.blocks == 0 {
        auto_blocks(train.len(), rayon::current_num_threads())
    } else {
        p.blocks
    };
    let mut c = CompactRatings::new(train);
    let item_label = c.stratify_items(g, p.seed ^ BOOK_ORDER_SALT);
    let init = (p.init_mean, p.init_std);
    // The two factor matrices and the grid are independent: build them side by side.
    let ((user_f, item_f), grid) = rayon::join(
        || {
            rayon::join(
                || fill_factors(&c.user_counts, k, p.factors, init, p.seed, Some(k - 1)),
                || {
                    let seed_i = p.seed ^ 0x1_7E35;
                    fill_factors(&c.item_counts, k, p.factors, init, seed_i, Some(k - 2))
                },
            )
        },
        || Grid::new(&c, &train.rating, g, &item_label),
    );
    let mut m = Model { k, user_f, item_f };
    let rates = SgdRates {
        lr: p.lr,
        reg: p.reg,
    };
    let kernel = SgdKernel::detect();
    progress.start("svd epochs", p.epochs as u64);
    let mut rmse = 0.0;
    for epoch in 0..p.epochs {
        let sse = fpsgd_epoch(kernel, &grid, &mut m, mu, rates, p.seed, epoch as u64);
        rmse = (sse / train.len() as f64).sqrt();
        progress.inc(1);
    }
    progress.finish(&format!("train rmse {rmse:.4} (during last epoch)"));
    let user_bias = take_column(&mut m.user_f, k, k - 2, k - 1);
    let item_bias = take_column(&mut m.item_f, k, k - 1, k - 2);
    Scorer::Factors(Factors {
        k,
        user_bias: CompactRatings::spread(&c.user_rows, &user_bias),
        item_bias: CompactRatings::spread(&c.item_rows, &item_bias),
        user_factors: m.user_f,
        item_factors: m.item_f,
        fold_in_reg: 0.0,
        fold_in_reg_per_rating: p.reg,
        user_rows: c.user_rows,
        item_rows: c.item_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_balance_counts() {
        let b = balanced_bounds(&[10, 0, 0, 10, 10, 10], 2);
        assert_eq!(b, vec![0, 4, 6]);
        let b = balanced_bounds(&[1, 1], 4);
        assert_eq!(b.len(), 5);
        assert_eq!((b[0], b[4]), (0, 2));
        assert!(b.windows(2).all(|w| w[0] <= w[1]));
    }

    /// `n` ratings of distinct (user, book) pairs, each drawn by `draw` as (user number, book
    /// number, rating) from a generator seeded with `seed`.
    fn distinct_ratings(
        seed: u64,
        n: usize,
        mut draw: impl FnMut(&mut Rng) -> (u64, u64, f32),
    ) -> Interactions {
        let mut rng = Rng::new(seed);
        let mut seen = std::collections::HashSet::new();
        let mut t = Vec::new();
        while t.len() < n {
            let (u, i, r) = draw(&mut rng);
            if seen.insert((u, i)) {
                t.push((format!("u{u}"), format!("b{i}"), r));
            }
        }
        Interactions::from_triplets(t, None)
    }

    /// Every training rating lands in exactly one block, with block-local indices, and each
    /// block is in (user, key of the book row) order.
    #[test]
    fn grid_blocks_are_complete_and_ordered() {
        let train = distinct_ratings(3, 3000, |rng| {
            (rng.below(150), rng.below(400), 1.0 + rng.below(10) as f32)
        });
        let c = CompactRatings::new(&train);
        let n_items = c.item_counts.len() as u32;
        let key: Vec<u32> = (0..n_items).map(|x| (x * 7919) % n_items).collect();
        for g in [1, 2, 3] {
            let grid = Grid::new(&c, &train.rating, g, &key);
            let mut got: Vec<(u32, u32, u32)> = Vec::new();
            for bu in 0..g {
                for bi in 0..g {
                    let block = &grid.blocks[bu * g + bi];
                    let k = |br: &BlockRating| (br.u, key[br.i as usize + grid.item_bounds[bi]]);
                    assert!(block.windows(2).all(|w| k(&w[0]) < k(&w[1])));
                    got.extend(block.iter().map(|br| {
                        let u = br.u + grid.user_bounds[bu] as u32;
                        let i = br.i + grid.item_bounds[bi] as u32;
                        (u, i, br.r.to_bits())
                    }));
                }
            }
            let mut want: Vec<(u32, u32, u32)> = (0..c.u.len())
                .map(|k| (c.u[k], c.i[k], train.rating[k].to_bits()))
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "G = {g}");
        }
    }

    /// With the books stratified, the order inside a user has nothing to do with the book
    /// index (first appearance in the file, i.e. mostly popularity): about half of the
    /// consecutive pairs go up in index (in index order all of them would); the grid's first
    /// book range holds about half of the books, not the few popular ones, and inside a range
    /// rows keep index order. The rows stay consistent (every rating's row is its book's row,
    /// counts follow), labels are a permutation, and all of it depends on the seed.
    #[test]
    fn stratified_books_mix_order_and_ranges() {
        let train = distinct_ratings(5, 4000, |rng| {
            // Low book numbers are popular: they appear first in the file.
            let i = (rng.next_f64().powi(5) * 500.0) as u64;
            (rng.below(400), i, 1.0 + rng.below(5) as f32)
        });
        let plain = CompactRatings::new(&train);
        let n = plain.item_counts.len();
        let identity: Vec<u32> = (0..n as u32).collect();
        let stratified = |g: usize, seed: u64| {
            let mut c = CompactRatings::new(&train);
            let label = c.stratify_items(g, seed);
            (c, label)
        };
        let (c, label) = stratified(2, 1);
        assert_eq!(c.i, stratified(2, 1).0.i);
        assert_ne!(c.i, stratified(2, 2).0.i);
        let mut sorted = label.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, identity);
        for (k, &item) in train.item.iter().enumerate() {
            assert_eq!(c.i[k], c.item_rows[item as usize]);
            let row = plain.item_rows[item as usize] as usize;
            assert_eq!(c.item_counts[c.i[k] as usize], plain.item_counts[row]);
        }
        // Each book row's index in the vocabulary (first appearance in the file).
        let index_of_row = |c: &CompactRatings| {
            let mut index = vec![0u32; n];
            for (idx, &row) in c.item_rows.iter().enumerate() {
                if row != u32::MAX {
                    index[row as usize] = idx as u32;
                }
            }
            index
        };
        let first_range =
            |c: &CompactRatings, key: &[u32]| Grid::new(c, &train.rating, 2, key).item_bounds[1];
        let cut = first_range(&c, &label);
        assert!(first_range(&plain, &identity) < n / 4);
        assert!((n * 35 / 100..n * 65 / 100).contains(&cut), "{cut} of {n}");
        // Rows are index-ordered inside each of the 2 strata: at most one descent.
        let descents = index_of_row(&c).windows(2).filter(|p| p[0] > p[1]).count();
        assert!(descents <= 1, "{descents}");
        for g in [1, 2] {
            let (c, label) = stratified(g, 3);
            let index_of_row = index_of_row(&c);
            let grid = Grid::new(&c, &train.rating, g, &label);
            let (mut up, mut pairs) = (0, 0);
            for (b, block) in grid.blocks.iter().enumerate() {
                let base = grid.item_bounds[b % g];
                for w in block.windows(2).filter(|w| w[0].u == w[1].u) {
                    pairs += 1;
                    let (x, y) = (w[0].i as usize + base, w[1].i as usize + base);
                    up += usize::from(index_of_row[y] > index_of_row[x]);
                }
            }
            let share = up as f64 / pairs as f64;
            assert!(
                pairs > 2500 && (0.45..0.55).contains(&share),
                "G = {g}: {up} of {pairs}"
            );
        }
    }
}
