//! Synthetic ratings at scale: power-law popularity, planted low-rank structure and a known
//! noise level, for scale tests (tens of millions of ratings) and for checking that a model
//! reaches the accuracy the data allows.
//!
//! ## Model
//! With the scale `[min, max]`, range `R = max − min` and midpoint `μ = (min + max) / 2`:
//!
//! ```text
//! r(u,i) = clip(round(μ + b_u + b_i + p_uᵀq_i + ε), min, max)     (round only if integer_ratings)
//! b_u, b_i ~ N(0, (R/10)²),   p_u, q_i ~ N(0, σ² I_rank),  σ² = (R/10) / √rank,
//! ε ~ N(0, noise_std²)
//! ```
//!
//! so the user bias, the book bias and the interaction `p_uᵀq_i` each have standard deviation
//! `R/10` (0.9 on a 1–10 scale); together about `0.17·R`, which keeps clipping rare. Without
//! `integer_ratings`, ratings are rounded to 0.01 so the file shows what was measured.
//!
//! **Noise floor.** [`SynthSummary::true_rmse_floor`] is the RMSE of the noiseless truth
//! `clip(μ + b_u + b_i + p_uᵀq_i)` against the generated ratings: what a model that recovered
//! the planted parameters exactly would score. It is ≈ `noise_std` (plus the rounding error,
//! ≈ √(noise_std² + 1/12) for integer ratings, a little less where clipping bites).
//!
//! **Who rates what.** User `u` (0-based, id `u+1`) has activity `∝ (u+1)^-s` and book `i` (id
//! `b{i+1}`) popularity `∝ (i+1)^-s`, with `s = popularity_exponent` (0 = uniform). The exact
//! number of ratings is split over users in proportion to activity (largest remainders; every
//! user gets at least one when `ratings ≥ users`; no user more than 10 % of the books or twice
//! the mean, whichever is larger). Each user's books are drawn by popularity without
//! replacement (sequential weighted sampling: draw with replacement and discard repeats,
//! switching to Efraimidis–Spirakis keys over the remaining books when repeats become too
//! frequent — both give the same distribution), so there are no duplicate pairs. Rows are
//! grouped by user, books ascending within a user.
//!
//! **Cost.** Measured on the 2-core dev machine (release build), 1M users × 200k books ×
//! 20M ratings: [`write_synth_csv`] ≈ 2 s and 54 MB peak RSS (263 MB of CSV);
//! [`synth_interactions`] ≈ 3 s and 440 MB (the 20M-row [`Interactions`] itself is 240 MB).
//!
//! **Determinism.** Book parameters come from one seeded stream and each user's parameters,
//! books and noise from that user's own stream, so the output depends only on the parameters
//! (not on thread count or chunking), while users are generated in parallel.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::progress::Progress;
use crate::rng::Rng;
use crate::{Error, Interactions, RatingScale, Result, Vocab};

/// Parameters of the generator; see the module docs for the model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SynthParams {
    /// Number of user ids (`1`…`users`).
    pub users: usize,
    /// Number of book ids (`b1`…`b{books}`).
    pub books: usize,
    /// Exact number of (distinct) ratings.
    pub ratings: usize,
    /// Dimension of the planted user/book factors.
    pub rank: usize,
    /// Standard deviation of the rating noise ε, in rating units.
    pub noise_std: f32,
    /// Zipf exponent `s` of book popularity and of user activity (0 = uniform).
    pub popularity_exponent: f64,
    pub scale_min: f32,
    pub scale_max: f32,
    pub seed: u64,
    /// Round ratings to integers (else to 0.01).
    pub integer_ratings: bool,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            users: 50_000,
            books: 20_000,
            ratings: 1_000_000,
            rank: 10,
            noise_std: 1.0,
            popularity_exponent: 1.0,
            scale_min: 1.0,
            scale_max: 10.0,
            seed: 42,
            integer_ratings: true,
        }
    }
}

impl SynthParams {
    /// Checks ranges and consistency before any work is done.
    pub fn check(&self) -> Result<()> {
        let max_ids = u32::MAX as usize;
        if self.users == 0 || self.users > max_ids {
            return Err(Error::param(
                "users",
                self.users,
                "must be in 1..=4294967295",
            ));
        }
        if self.books == 0 || self.books > max_ids {
            return Err(Error::param(
                "books",
                self.books,
                "must be in 1..=4294967295",
            ));
        }
        if self.ratings == 0 {
            return Err(Error::param("ratings", self.ratings, "must be at least 1"));
        }
        if self.ratings as u128 > self.users as u128 * self.books as u128 {
            return Err(Error::param(
                "ratings",
                self.ratings,
                format!(
                    "more than users × books = {} possible distinct pairs",
                    self.users as u128 * self.books as u128
                ),
            ));
        }
        if self.rank == 0 || self.rank > 1024 {
            return Err(Error::param("rank", self.rank, "must be in 1..=1024"));
        }
        // Per-user and per-book state is held in memory (≈ 30 bytes per user, 4·rank + 13
        // bytes per book); refuse sizes that could only end in an allocation failure.
        if self.users > MAX_USERS {
            return Err(Error::param(
                "users",
                self.users,
                format!("at most {MAX_USERS} (per-user state is kept in memory)"),
            ));
        }
        if self.books as u128 * self.rank as u128 > MAX_BOOK_FACTORS as u128 {
            return Err(Error::param(
                "books",
                self.books,
                format!(
                    "books × rank must be at most {MAX_BOOK_FACTORS} (book factors are kept in memory)"
                ),
            ));
        }
        if !(self.noise_std.is_finite() && self.noise_std >= 0.0) {
            return Err(Error::param(
                "noise_std",
                self.noise_std,
                "must be finite and ≥ 0",
            ));
        }
        if !(self.popularity_exponent.is_finite()
            && (0.0..=4.0).contains(&self.popularity_exponent))
        {
            return Err(Error::param(
                "popularity_exponent",
                self.popularity_exponent,
                "must be in 0..=4",
            ));
        }
        if !(self.scale_min.is_finite() && self.scale_max.is_finite())
            || self.scale_min >= self.scale_max
        {
            return Err(Error::param(
                "scale",
                format!("{}:{}", self.scale_min, self.scale_max),
                "needs finite MIN < MAX",
            ));
        }
        if self.integer_ratings && (self.scale_min.fract() != 0.0 || self.scale_max.fract() != 0.0)
        {
            return Err(Error::param(
                "scale",
                format!("{}:{}", self.scale_min, self.scale_max),
                "integer ratings need integer bounds",
            ));
        }
        Ok(())
    }
}

const MAX_USERS: usize = 1 << 28;
const MAX_BOOK_FACTORS: usize = 1 << 30;

/// What was generated.
#[derive(Clone, Debug, Serialize)]
pub struct SynthSummary {
    pub ratings: usize,
    pub users_with_ratings: usize,
    pub books_with_ratings: usize,
    pub noise_std: f32,
    /// RMSE of the noiseless truth vs the generated ratings: the best any model can do.
    pub true_rmse_floor: f64,
    /// Wall-clock seconds of the generation (and writing).
    pub seconds: f64,
}

/// Users are generated in tasks of about this many ratings; tasks run in parallel in windows
/// so that only a window's rows are ever held in memory.
const TASK_RATINGS: u64 = 1 << 16;
const WINDOW_TASKS: usize = 16;

/// Walker/Vose alias table: O(1) draws from a fixed discrete distribution.
struct Alias {
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl Alias {
    fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<u32>, Vec<u32>) =
            (0..n as u32).partition(|&i| prob[i as usize] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s as usize] = l;
            prob[l as usize] -= 1.0 - prob[s as usize];
            if prob[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers are 1 up to rounding.
        for i in small.into_iter().chain(large) {
            prob[i as usize] = 1.0;
        }
        Alias { prob, alias }
    }

    #[inline]
    fn sample(&self, rng: &mut Rng) -> u32 {
        let i = rng.below(self.prob.len() as u64) as usize;
        if rng.next_f64() < self.prob[i] {
            i as u32
        } else {
            self.alias[i]
        }
    }
}

/// Zipf weights `(i+1)^-s` for `n` ranks.
fn zipf_weights(n: usize, s: f64) -> Vec<f64> {
    (0..n).map(|i| ((i + 1) as f64).powf(-s)).collect()
}

/// Splits exactly `total` ratings over users in proportion to `weights` (non-increasing),
/// at most `cap` each and at least one each when `total ≥ users`.
fn allocate_counts(weights: &[f64], total: usize, cap: usize) -> Vec<u32> {
    let n = weights.len();
    let base = usize::from(total >= n);
    let extra = (total - base * n) as f64;
    let extra_cap = (cap - base) as f64;
    // Weights are non-increasing, so the users whose share exceeds the cap form a prefix.
    let mut w_rest: f64 = weights.iter().rev().sum();
    let mut e_rest = extra;
    let mut k = 0;
    while k < n && w_rest > 0.0 && e_rest * weights[k] / w_rest > extra_cap {
        e_rest -= extra_cap;
        w_rest -= weights[k];
        k += 1;
    }
    let mut counts = vec![0u64; n];
    let mut frac = Vec::with_capacity(n - k);
    for (u, c) in counts.iter_mut().enumerate() {
        let share = if u < k {
            extra_cap
        } else if w_rest > 0.0 {
            (e_rest * weights[u] / w_rest).clamp(0.0, extra_cap)
        } else {
            0.0
        };
        *c = share.floor() as u64;
        frac.push((share - share.floor(), u));
    }
    let extra_cap = extra_cap as u64;
    let mut missing = (total - base * n) as i64 - counts.iter().sum::<u64>() as i64;
    // Largest remainders first; ties to the more active user.
    frac.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, u) in &frac {
        if missing <= 0 {
            break;
        }
        if counts[u] < extra_cap {
            counts[u] += 1;
            missing -= 1;
        }
    }
    // Safety nets against floating-point drift: a pass that fills (or trims) in user order.
    while missing > 0 {
        for c in counts.iter_mut() {
            if missing > 0 && *c < extra_cap {
                *c += 1;
                missing -= 1;
            }
        }
    }
    while missing < 0 {
        for c in counts.iter_mut().rev() {
            if missing < 0 && *c > 0 {
                *c -= 1;
                missing += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|c| (c as usize + base) as u32)
        .collect()
}

/// The most books one user rates: 10 % of the catalogue or twice the mean, whichever is
/// larger (never more than all books). Without it a Zipf head would have the top users rate
/// every book; Book-Crossing's most active user rated about 4 % of the catalogue.
fn user_cap(p: &SynthParams) -> usize {
    let mean = p.ratings.div_ceil(p.users);
    p.books.div_ceil(10).max(2 * mean).min(p.books)
}

/// The planted model and the per-user rating counts.
struct Generator {
    p: SynthParams,
    mu: f64,
    bias_std: f64,
    factor_std: f64,
    scale: RatingScale,
    book_bias: Vec<f32>,
    book_factors: Vec<f32>,
    book_weight: Vec<f64>,
    alias: Alias,
    counts: Vec<u32>,
}

/// Reusable buffers of one task.
#[derive(Default)]
struct Scratch {
    books: Vec<u32>,
    keys: Vec<(f64, u32)>,
    /// Bitmap over books of the current user's draws (all zero between users).
    taken: Vec<u64>,
    user_factors: Vec<f64>,
}

/// The rows of a task: users `first..first + lens.len()`.
struct Chunk {
    first_user: usize,
    lens: Vec<u32>,
    books: Vec<u32>,
    ratings: Vec<f32>,
    sq_err: f64,
    csv: Vec<u8>,
}

impl Generator {
    fn new(p: &SynthParams) -> Self {
        let range = (p.scale_max - p.scale_min) as f64;
        let bias_std = range / 10.0;
        let factor_std = (bias_std / (p.rank as f64).sqrt()).sqrt();
        let mut rng = Rng::stream(p.seed, 0);
        let book_bias: Vec<f32> = (0..p.books)
            .map(|_| (bias_std * rng.normal()) as f32)
            .collect();
        let book_factors: Vec<f32> = (0..p.books * p.rank)
            .map(|_| (factor_std * rng.normal()) as f32)
            .collect();
        let book_weight = zipf_weights(p.books, p.popularity_exponent);
        let alias = Alias::new(&book_weight);
        let counts = allocate_counts(
            &zipf_weights(p.users, p.popularity_exponent),
            p.ratings,
            user_cap(p),
        );
        Generator {
            mu: (p.scale_min as f64 + p.scale_max as f64) / 2.0,
            bias_std,
            factor_std,
            scale: RatingScale::new(p.scale_min, p.scale_max),
            book_bias,
            book_factors,
            book_weight,
            alias,
            counts,
            p: p.clone(),
        }
    }

    /// Contiguous user ranges of about [`TASK_RATINGS`] ratings each.
    fn tasks(&self) -> Vec<(usize, usize)> {
        let mut tasks = Vec::new();
        let (mut start, mut acc) = (0usize, 0u64);
        for (u, &c) in self.counts.iter().enumerate() {
            acc += c as u64;
            if acc >= TASK_RATINGS {
                tasks.push((start, u + 1));
                start = u + 1;
                acc = 0;
            }
        }
        if start < self.counts.len() {
            tasks.push((start, self.counts.len()));
        }
        tasks
    }

    /// Draws `n` distinct books for one user into `s.books` (sorted ascending).
    fn draw_books(&self, n: usize, rng: &mut Rng, s: &mut Scratch) {
        let Scratch {
            books, keys, taken, ..
        } = s;
        books.clear();
        if n == self.p.books {
            books.extend(0..n as u32);
            return;
        }
        if taken.is_empty() {
            taken.resize(self.p.books.div_ceil(64), 0);
        }
        let is_taken = |t: &[u64], i: u32| t[i as usize / 64] >> (i % 64) & 1 == 1;
        let budget = 4 * n + 64;
        let mut draws = 0;
        while books.len() < n && draws < budget {
            let i = self.alias.sample(rng);
            draws += 1;
            if !is_taken(taken, i) {
                taken[i as usize / 64] |= 1 << (i % 64);
                books.push(i);
            }
        }
        let need = n - books.len();
        if need > 0 {
            // Repeats are frequent (a heavy user under a steep power law): continue the same
            // sequential sampling exactly with Efraimidis–Spirakis keys ln(U)/w over the
            // books not yet drawn, keeping the `need` largest.
            keys.clear();
            for (i, &w) in self.book_weight.iter().enumerate() {
                if !is_taken(taken, i as u32) {
                    let u = 1.0 - rng.next_f64();
                    keys.push((u.ln() / w, i as u32));
                }
            }
            keys.select_nth_unstable_by(need - 1, |a, b| b.0.total_cmp(&a.0));
            books.extend(keys[..need].iter().map(|k| k.1));
        }
        for &i in books.iter() {
            taken[i as usize / 64] = 0;
        }
        books.sort_unstable();
    }

    /// Generates the users `first..end`; formats CSV rows too if `csv`.
    fn chunk(&self, (first, end): (usize, usize), csv: bool) -> Chunk {
        let k = self.p.rank;
        let mut s = Scratch::default();
        let rows: usize = self.counts[first..end].iter().map(|&c| c as usize).sum();
        let mut out = Chunk {
            first_user: first,
            lens: Vec::with_capacity(end - first),
            books: Vec::with_capacity(rows),
            ratings: Vec::with_capacity(rows),
            sq_err: 0.0,
            csv: Vec::with_capacity(if csv { rows * 16 } else { 0 }),
        };
        let noise = self.p.noise_std as f64;
        let (lo, hi) = (self.scale.min as f64, self.scale.max as f64);
        let mut line = String::new();
        for u in first..end {
            let n = self.counts[u] as usize;
            out.lens.push(n as u32);
            if n == 0 {
                continue;
            }
            let mut rng = Rng::stream(self.p.seed, 1 + u as u64);
            let b_u = self.bias_std * rng.normal();
            s.user_factors.clear();
            s.user_factors
                .extend((0..k).map(|_| self.factor_std * rng.normal()));
            self.draw_books(n, &mut rng, &mut s);
            for &i in &s.books {
                let q = &self.book_factors[i as usize * k..(i as usize + 1) * k];
                let dot: f64 = s
                    .user_factors
                    .iter()
                    .zip(q)
                    .map(|(p, &q)| p * q as f64)
                    .sum();
                let truth = self.mu + b_u + self.book_bias[i as usize] as f64 + dot;
                let raw = truth + noise * rng.normal();
                let r = if self.p.integer_ratings {
                    raw.round().clamp(lo, hi)
                } else {
                    ((raw * 100.0).round() / 100.0).clamp(lo, hi)
                };
                let r = r as f32;
                let e = r as f64 - truth.clamp(lo, hi);
                out.sq_err += e * e;
                out.books.push(i);
                out.ratings.push(r);
                if csv {
                    line.clear();
                    use std::fmt::Write as _;
                    let _ = if self.p.integer_ratings {
                        writeln!(line, "{},b{},{}", u + 1, i + 1, r as i64)
                    } else {
                        writeln!(line, "{},b{},{}", u + 1, i + 1, r)
                    };
                    out.csv.extend_from_slice(line.as_bytes());
                }
            }
        }
        out
    }

    /// Runs all tasks in parallel windows, handing each finished chunk to `sink` in order.
    fn run(&self, csv: bool, mut sink: impl FnMut(Chunk) -> Result<()>) -> Result<()> {
        let tasks = self.tasks();
        for window in tasks.chunks(WINDOW_TASKS) {
            let chunks: Vec<Chunk> = window.par_iter().map(|&t| self.chunk(t, csv)).collect();
            for c in chunks {
                sink(c)?;
            }
        }
        Ok(())
    }
}

/// Accumulates the summary over chunks, in order.
struct Tally {
    sq_err: f64,
    users: usize,
    book_seen: Vec<bool>,
}

impl Tally {
    fn new(books: usize) -> Self {
        Tally {
            sq_err: 0.0,
            users: 0,
            book_seen: vec![false; books],
        }
    }

    fn add(&mut self, c: &Chunk) {
        self.sq_err += c.sq_err;
        self.users += c.lens.iter().filter(|&&n| n > 0).count();
        for &i in &c.books {
            self.book_seen[i as usize] = true;
        }
    }

    fn summary(&self, p: &SynthParams, start: Instant) -> SynthSummary {
        SynthSummary {
            ratings: p.ratings,
            users_with_ratings: self.users,
            books_with_ratings: self.book_seen.iter().filter(|&&b| b).count(),
            noise_std: p.noise_std,
            true_rmse_floor: (self.sq_err / p.ratings as f64).sqrt(),
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}

/// Streams a CSV `user_id,book_id,rating` (with that header) to `path`. Users are generated
/// in parallel windows of about a million ratings and written in order through a
/// `BufWriter`, so memory stays bounded (tens of MB at 20M ratings) whatever the size.
/// Reports progress in ratings.
pub fn write_synth_csv(
    params: &SynthParams,
    path: &Path,
    progress: &dyn Progress,
) -> Result<SynthSummary> {
    params.check()?;
    let start = Instant::now();
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io_err)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    w.write_all(b"user_id,book_id,rating\n").map_err(io_err)?;
    let gen = Generator::new(params);
    let mut tally = Tally::new(params.books);
    progress.start("synth ratings", params.ratings as u64);
    gen.run(true, |c| {
        tally.add(&c);
        w.write_all(&c.csv).map_err(io_err)?;
        progress.inc(c.books.len() as u64);
        Ok(())
    })?;
    w.flush().map_err(io_err)?;
    let summary = tally.summary(params, start);
    progress.finish(&format!(
        "{} ratings, {} users, {} books, rmse floor {:.3}",
        summary.ratings,
        summary.users_with_ratings,
        summary.books_with_ratings,
        summary.true_rmse_floor
    ));
    Ok(summary)
}

/// The same data as [`write_synth_csv`] in memory (for tests and benches), with vocabulary
/// indices assigned in file order, as loading the CSV would.
pub fn synth_interactions(params: &SynthParams) -> Result<(Interactions, SynthSummary)> {
    params.check()?;
    let start = Instant::now();
    let gen = Generator::new(params);
    let mut tally = Tally::new(params.books);
    let mut users = Vocab::new();
    let mut items = Vocab::new();
    // Book index → vocabulary index, assigned in first-seen order as a file loader would.
    let mut item_map = vec![u32::MAX; params.books];
    let mut user = Vec::with_capacity(params.ratings);
    let mut item = Vec::with_capacity(params.ratings);
    let mut rating = Vec::with_capacity(params.ratings);
    gen.run(false, |c| {
        tally.add(&c);
        let mut k = 0;
        for (du, &n) in c.lens.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let ui = users.intern(&(c.first_user + du + 1).to_string());
            for _ in 0..n {
                let b = c.books[k] as usize;
                if item_map[b] == u32::MAX {
                    item_map[b] = items.intern(&format!("b{}", b + 1));
                }
                user.push(ui);
                item.push(item_map[b]);
                rating.push(c.ratings[k]);
                k += 1;
            }
        }
        Ok(())
    })?;
    let inter = Interactions {
        users: Arc::new(users),
        items: Arc::new(items),
        user,
        item,
        rating,
        timestamp: None,
        implicit_user: Vec::new(),
        implicit_item: Vec::new(),
        scale: RatingScale::new(params.scale_min, params.scale_max),
        item_groups: None,
    };
    Ok((inter, tally.summary(params, start)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn allocation_is_exact_and_capped() {
        for (n, total, cap, s) in [
            (10, 55, 10, 1.0),
            (10, 100, 10, 2.0),
            (1000, 20_000, 50, 1.0),
            (1000, 500, 50, 1.0),
            (7, 7, 1, 0.0),
            (3, 1, 5, 3.0),
        ] {
            let c = allocate_counts(&zipf_weights(n, s), total, cap);
            assert_eq!(c.iter().map(|&x| x as usize).sum::<usize>(), total);
            assert!(c.iter().all(|&x| x as usize <= cap));
            if total >= n {
                assert!(c.iter().all(|&x| x >= 1));
            }
            assert!(c.windows(2).all(|w| w[0] + 1 >= w[1]), "{c:?}");
        }
        // Uniform weights split evenly.
        assert_eq!(allocate_counts(&[1.0; 4], 10, 9), vec![3, 3, 2, 2]);
    }

    #[test]
    fn alias_matches_weights() {
        let w = [5.0, 1.0, 0.0, 4.0];
        let a = Alias::new(&w);
        let mut rng = Rng::new(9);
        let mut hits = [0u32; 4];
        for _ in 0..100_000 {
            hits[a.sample(&mut rng) as usize] += 1;
        }
        assert_eq!(hits[2], 0);
        for (h, w) in hits.iter().zip(w) {
            let expect = 100_000.0 * w / 10.0;
            assert!((*h as f64 - expect).abs() < 1000.0, "{hits:?}");
        }
    }

    #[test]
    fn heavy_users_take_the_exact_path() {
        // A steep power law forces the Efraimidis–Spirakis fallback; the draws stay distinct
        // and still favour popular books.
        let p = SynthParams {
            users: 2,
            books: 1000,
            ratings: 1500,
            popularity_exponent: 3.0,
            ..SynthParams::default()
        };
        let g = Generator::new(&p);
        let mut s = Scratch::default();
        let mut rng = Rng::new(1);
        g.draw_books(900, &mut rng, &mut s);
        assert_eq!(s.books.len(), 900);
        assert!(s.books.windows(2).all(|w| w[0] < w[1]));
        assert!(s.books[..20].iter().copied().eq(0..20));
    }
}
