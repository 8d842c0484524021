//! Stochastic gradient descent for biased matrix factorisation (Surprise's SVD update rule),
//! over one block of ratings.
//!
//! Two implementations of the same loop, chosen once per fit by [`SgdKernel::detect`]: a
//! portable one (fixed-width chunks that LLVM vectorises for the build target — SSE2 on
//! baseline x86-64, no FMA) and, on x86-64 CPUs with AVX2 and FMA, explicit AVX2/FMA intrinsics
//! with software prefetch. They compute the same updates but round differently (FMA rounds
//! once, and the dot product sums in another order), so their results agree to float
//! precision, not bit for bit; each one alone is deterministic.

// The AVX2 kernel needs `unsafe` for the target-feature call and for the loads and stores
// through pointers; every unsafe block states why it is sound.
#![allow(unsafe_code)]

use super::dense::dot;
use super::LANES;

/// Which implementation of the update loop runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgdKernel {
    /// Fixed-width chunks vectorised by LLVM for the build target.
    Portable,
    /// AVX2 + FMA intrinsics with software prefetch (x86-64, detected at run time).
    Avx2Fma,
}

impl SgdKernel {
    /// The fastest kernel this CPU supports.
    pub fn detect() -> SgdKernel {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return SgdKernel::Avx2Fma;
        }
        SgdKernel::Portable
    }
}

/// One training rating inside a block; `u` and `i` are relative to the block's first user and
/// first item row, so a block only ever touches its own slices of the factor matrices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockRating {
    pub u: u32,
    pub i: u32,
    pub r: f32,
}

/// Learning rate and L2 weight (one of each for all parameters, as Surprise's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdRates {
    pub lr: f32,
    pub reg: f32,
}

/// Row stride of the augmented factor rows ([`sgd_step`]) for `factors` latent factors:
/// room for the factors and the two bias columns, padded to a multiple of [`LANES`].
pub fn augmented_stride(factors: usize) -> usize {
    super::padded(factors + 2)
}

/// One SGD update on rating `r`, on augmented rows of stride `k` (≥ 2):
/// p = (p_u, 0…, b_u, 1) and q = (q_i, 0…, 1, b_i), so that r̂ = μ + pᵀq = μ + b_u + b_i + q_iᵀp_u.
/// With e = r − r̂, the plain factor step p ← p + lr(e·q − reg·p), q ← q + lr(e·p − reg·q)
/// (both from the old values) then gives exactly Surprise's bias updates in the bias columns
/// (b_u += lr(e·1 − reg·b_u), likewise b_i); the constant 1s are put back after the step.
/// Keeping the biases inside the rows saves one cache miss per update (a separate bias array
/// is one more line per rating on sparse data). Zero padding stays zero. Returns e.
#[inline]
pub fn sgd_step(r: f32, mu: f32, p: &mut [f32], q: &mut [f32], rates: SgdRates) -> f32 {
    let SgdRates { lr, reg } = rates;
    let e = r - (mu + dot(p, q));
    // p + lr(e·q − reg·p) = (1 − lr·reg)·p + (lr·e)·q: the same step in 3 operations, not 4.
    let (le, keep) = (lr * e, 1.0 - lr * reg);
    for (pc, qc) in p.chunks_exact_mut(LANES).zip(q.chunks_exact_mut(LANES)) {
        for l in 0..LANES {
            let (pf, qf) = (pc[l], qc[l]);
            pc[l] = keep * pf + le * qf;
            qc[l] = keep * qf + le * pf;
        }
    }
    let done = p.len() / LANES * LANES;
    for (pf, qf) in p[done..].iter_mut().zip(q[done..].iter_mut()) {
        let (a, b) = (*pf, *qf);
        *pf = keep * a + le * b;
        *qf = keep * b + le * a;
    }
    let k = p.len();
    p[k - 1] = 1.0;
    q[k - 2] = 1.0;
    e
}

/// Ratings per prefetch batch in the portable kernel.
const BATCH: usize = 16;

/// One pass of [`sgd_step`] over `ratings` in order. `user_f`/`item_f` hold the block's
/// augmented rows (see [`sgd_step`]) with row stride `k` ≥ 2. Returns Σe² (before each update).
///
/// On sparse data (Book-Crossing: ~2 ratings per book) almost every book row is a cache miss,
/// and the CPU's window only overlaps about one update's misses. So the rows of ratings a few
/// places ahead are prefetched — the misses overlap instead of queuing (measured ~3× faster per
/// update on the Book-Crossing-sized bench). Prefetches do not change any result.
pub fn sgd_block(
    ratings: &[BlockRating],
    mu: f32,
    k: usize,
    user_f: &mut [f32],
    item_f: &mut [f32],
    rates: SgdRates,
) -> f64 {
    sgd_block_with(SgdKernel::detect(), ratings, mu, k, user_f, item_f, rates)
}

/// [`sgd_block`] with a given kernel. [`SgdKernel::Avx2Fma`] needs `k` to be a multiple of
/// [`LANES`] and a CPU with AVX2 and FMA; otherwise the portable kernel runs.
pub fn sgd_block_with(
    kernel: SgdKernel,
    ratings: &[BlockRating],
    mu: f32,
    k: usize,
    user_f: &mut [f32],
    item_f: &mut [f32],
    rates: SgdRates,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if kernel == SgdKernel::Avx2Fma
        && k % LANES == 0
        && k > 0
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        return unsafe { avx2::sgd_block(ratings, mu, k, user_f, item_f, rates) };
    }
    let _ = kernel;
    sgd_block_portable(ratings, mu, k, user_f, item_f, rates)
}

/// The portable kernel of [`sgd_block`].
fn sgd_block_portable(
    ratings: &[BlockRating],
    mu: f32,
    k: usize,
    user_f: &mut [f32],
    item_f: &mut [f32],
    rates: SgdRates,
) -> f64 {
    let mut sse = 0f64;
    let mut touch = 0f32;
    for (b, batch) in ratings.chunks(BATCH).enumerate() {
        if let Some(next) = ratings.get((b + 1) * BATCH..((b + 2) * BATCH).min(ratings.len())) {
            for br in next {
                let row = &item_f[br.i as usize * k..(br.i as usize + 1) * k];
                for line in row.iter().step_by(16) {
                    touch += *line;
                }
            }
        }
        for br in batch {
            let (u, i) = (br.u as usize, br.i as usize);
            let p = &mut user_f[u * k..(u + 1) * k];
            let q = &mut item_f[i * k..(i + 1) * k];
            let e = sgd_step(br.r, mu, p, q, rates);
            sse += (e * e) as f64;
        }
    }
    std::hint::black_box(touch);
    sse
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BlockRating, SgdRates};
    use std::arch::x86_64::*;

    /// How many ratings ahead the rows are prefetched: enough to cover a miss (~100 ns) at a
    /// few ns per update, few enough that the lines are still in L1/L2 on use (on the
    /// Book-Crossing fit, 16 measured ~4% faster than 8 and 4; prefetching only the first
    /// line of a row, or into L2 only, was slower).
    const AHEAD: usize = 16;

    /// Prefetches the `k` floats of `row` (every 64-byte line it spans) into L1.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn prefetch_row(row: &[f32]) {
        for x in row.iter().step_by(16).chain(row.last()) {
            _mm_prefetch::<_MM_HINT_T0>((x as *const f32).cast::<i8>());
        }
    }

    /// Horizontal sum of 8 lanes in a fixed order.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let y = _mm_add_ps(x, _mm_movehl_ps(x, x));
        _mm_cvtss_f32(_mm_add_ss(y, _mm_shuffle_ps::<1>(y, y)))
    }

    /// 8 floats from a chunk of exactly 8.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn load(c: &[f32]) -> __m256 {
        debug_assert_eq!(c.len(), 8);
        // SAFETY: callers pass chunks of exactly 8 floats (`chunks_exact(8)`).
        unsafe { _mm256_loadu_ps(c.as_ptr()) }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn store(c: &mut [f32], v: __m256) {
        debug_assert_eq!(c.len(), 8);
        // SAFETY: callers pass chunks of exactly 8 floats (`chunks_exact_mut(8)`).
        unsafe { _mm256_storeu_ps(c.as_mut_ptr(), v) }
    }

    /// `p·q` for slices whose length is a multiple of 8, with 4 independent accumulators so
    /// the FMA latency chain is a quarter as long.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn dot(p: &[f32], q: &[f32]) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 4];
        let (p4, q4) = (p.chunks_exact(32), q.chunks_exact(32));
        let (pr, qr) = (p4.remainder(), q4.remainder());
        for (pc, qc) in p4.zip(q4) {
            for (a, (x, y)) in acc
                .iter_mut()
                .zip(pc.chunks_exact(8).zip(qc.chunks_exact(8)))
            {
                *a = _mm256_fmadd_ps(load(x), load(y), *a);
            }
        }
        for (a, (x, y)) in acc
            .iter_mut()
            .zip(pr.chunks_exact(8).zip(qr.chunks_exact(8)))
        {
            *a = _mm256_fmadd_ps(load(x), load(y), *a);
        }
        hsum(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ))
    }

    /// [`super::sgd_step`] for `k` a non-zero multiple of 8, with FMA. The constant 1s (the
    /// last two lanes of the last chunk) are restored by a blend in registers, not by scalar
    /// stores, so the next update's vector loads of these rows forward from the stores.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn step(r: f32, mu: f32, p: &mut [f32], q: &mut [f32], rates: SgdRates) -> f32 {
        let SgdRates { lr, reg } = rates;
        let e = r - (mu + dot(p, q));
        let (le, keep) = (_mm256_set1_ps(lr * e), _mm256_set1_ps(1.0 - lr * reg));
        let ones = _mm256_set1_ps(1.0);
        let last = p.len() / 8 - 1;
        for (c, (pc, qc)) in p.chunks_exact_mut(8).zip(q.chunks_exact_mut(8)).enumerate() {
            let (pv, qv) = (load(pc), load(qc));
            let mut np = _mm256_fmadd_ps(le, qv, _mm256_mul_ps(keep, pv));
            let mut nq = _mm256_fmadd_ps(le, pv, _mm256_mul_ps(keep, qv));
            if c == last {
                np = _mm256_blend_ps::<0b1000_0000>(np, ones);
                nq = _mm256_blend_ps::<0b0100_0000>(nq, ones);
            }
            store(pc, np);
            store(qc, nq);
        }
        e
    }

    /// [`super::sgd_block`] with AVX2/FMA; `k` must be a non-zero multiple of 8. Indexing
    /// stays bounds-checked (one predictable compare per row; the loop waits on memory).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sgd_block(
        ratings: &[BlockRating],
        mu: f32,
        k: usize,
        user_f: &mut [f32],
        item_f: &mut [f32],
        rates: SgdRates,
    ) -> f64 {
        let mut sse = 0f64;
        for (j, br) in ratings.iter().enumerate() {
            if let Some(next) = ratings.get(j + AHEAD) {
                let i = next.i as usize;
                if let Some(row) = item_f.get(i * k..(i + 1) * k) {
                    prefetch_row(row);
                }
                // Ratings are in user order: only a new user's row needs fetching.
                if next.u != ratings[j + AHEAD - 1].u {
                    let u = next.u as usize;
                    if let Some(row) = user_f.get(u * k..(u + 1) * k) {
                        prefetch_row(row);
                    }
                }
            }
            let (u, i) = (br.u as usize, br.i as usize);
            let p = &mut user_f[u * k..(u + 1) * k];
            let q = &mut item_f[i * k..(i + 1) * k];
            let e = step(br.r, mu, p, q, rates);
            sse += (e * e) as f64;
        }
        sse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Augmented rows (see [`sgd_step`]) of stride `k` from factor rows and biases.
    fn augment(f: &[f32], bias: &[f32], factors: usize, k: usize, user: bool) -> Vec<f32> {
        let mut out = vec![0f32; bias.len() * k];
        for (r, row) in out.chunks_exact_mut(k).enumerate() {
            row[..factors].copy_from_slice(&f[r * factors..(r + 1) * factors]);
            let (b, one) = if user { (k - 2, k - 1) } else { (k - 1, k - 2) };
            row[b] = bias[r];
            row[one] = 1.0;
        }
        out
    }

    /// One step on a 2×2 problem, computed by hand: μ = 3, r = 5, all biases 0,
    /// p = (0.1, 0.2), q = (0.3, −0.1), lr = 0.1, reg = 0.5.
    /// q·p = 0.03 − 0.02 = 0.01, e = 5 − 3.01 = 1.99;
    /// b_u = b_i = 0.1·1.99 = 0.199;
    /// p₀ = 0.1 + 0.1(1.99·0.3 − 0.5·0.1) = 0.1547, p₁ = 0.2 + 0.1(1.99·(−0.1) − 0.5·0.2) = 0.1701;
    /// q₀ = 0.3 + 0.1(1.99·0.1 − 0.5·0.3) = 0.3049, q₁ = −0.1 + 0.1(1.99·0.2 + 0.05) = −0.0552.
    #[test]
    fn one_step_by_hand() {
        let k = augmented_stride(2);
        assert_eq!(k, 8);
        let mut uf = augment(&[0.0, 0.0, 0.1, 0.2], &[0.0, 0.0], 2, k, true);
        let mut itf = augment(&[0.3, -0.1, 0.0, 0.0], &[0.0, 0.0], 2, k, false);
        let ratings = [BlockRating { u: 1, i: 0, r: 5.0 }];
        let rates = SgdRates { lr: 0.1, reg: 0.5 };
        for kernel in [SgdKernel::Portable, SgdKernel::detect()] {
            let (mut uf, mut itf) = (uf.clone(), itf.clone());
            let sse = sgd_block_with(kernel, &ratings, 3.0, k, &mut uf, &mut itf, rates);
            let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
            assert!((sse - 1.99f64 * 1.99).abs() < 1e-5);
            let (p, q) = (&uf[k..], &itf[..k]);
            assert!(
                close(p[k - 2], 0.199) && close(q[k - 1], 0.199),
                "{p:?} {q:?}"
            );
            assert!(close(p[0], 0.1547) && close(p[1], 0.1701), "{p:?}");
            assert!(close(q[0], 0.3049) && close(q[1], -0.0552), "{q:?}");
            // Constants stay 1, padding 0, the other rows untouched.
            assert!(p[k - 1] == 1.0 && q[k - 2] == 1.0);
            assert!(p[2..k - 2].iter().chain(&q[2..k - 2]).all(|&x| x == 0.0));
            assert_eq!(&uf[..k], &augment(&[0.0, 0.0], &[0.0], 2, k, true)[..]);
        }
        sgd_block(&ratings, 3.0, k, &mut uf, &mut itf, rates);
        assert!((uf[k + k - 2] - 0.199).abs() < 1e-6);
    }

    /// Many steps on augmented rows equal the textbook updates with separate biases
    /// (computed here in f64).
    #[test]
    fn augmented_rows_match_separate_biases() {
        let rates = SgdRates {
            lr: 0.05,
            reg: 0.02,
        };
        let (lr, reg) = (0.05f64, 0.02f64);
        let factors = 3;
        let k = augmented_stride(factors);
        let p0: Vec<f32> = (0..3).map(|x| 0.1 * x as f32).collect();
        let q0: Vec<f32> = (0..3).map(|x| 0.2 - 0.05 * x as f32).collect();
        let mut p = augment(&p0, &[0.3], factors, k, true);
        let mut q = augment(&q0, &[-0.2], factors, k, false);
        let mut rp: Vec<f64> = p0.iter().map(|&x| x as f64).collect();
        let mut rq: Vec<f64> = q0.iter().map(|&x| x as f64).collect();
        let (mut bu, mut bi) = (0.3f64, -0.2f64);
        for step in 0..8 {
            let r = if step % 2 == 0 { 4.0 } else { 2.0 };
            let e = sgd_step(r, 3.0, &mut p, &mut q, rates) as f64;
            let re =
                r as f64 - (3.0 + bu + bi + rp.iter().zip(&rq).map(|(a, b)| a * b).sum::<f64>());
            assert!((e - re).abs() < 1e-5, "{e} vs {re}");
            bu += lr * (re - reg * bu);
            bi += lr * (re - reg * bi);
            for f in 0..factors {
                let (a, b) = (rp[f], rq[f]);
                rp[f] += lr * (re * b - reg * a);
                rq[f] += lr * (re * a - reg * b);
            }
        }
        for f in 0..factors {
            assert!((p[f] as f64 - rp[f]).abs() < 1e-5 && (q[f] as f64 - rq[f]).abs() < 1e-5);
        }
        assert!((p[k - 2] as f64 - bu).abs() < 1e-5 && (q[k - 1] as f64 - bi).abs() < 1e-5);
        assert!(p[k - 1] == 1.0 && q[k - 2] == 1.0);
        assert!(p[factors..k - 2]
            .iter()
            .chain(&q[factors..k - 2])
            .all(|&x| x == 0.0));
    }

    /// Both kernels run the same updates: over many epochs on a random problem their rows and
    /// training error agree to float precision (FMA rounds differently, so not bit-equal).
    #[test]
    fn kernels_agree() {
        let (nu, ni, factors, n) = (40usize, 60usize, 22usize, 900usize);
        let k = augmented_stride(factors);
        let mut rng = crate::rng::Rng::new(9);
        let mut rs: Vec<BlockRating> = (0..n)
            .map(|_| BlockRating {
                u: rng.below(nu as u64) as u32,
                i: rng.below(ni as u64) as u32,
                r: 1.0 + rng.below(10) as f32,
            })
            .collect();
        rs.sort_unstable_by_key(|b| (b.u, b.i));
        let mut init = |rows: usize, user: bool| {
            let f: Vec<f32> = (0..rows * factors)
                .map(|_| 0.1 * rng.normal() as f32)
                .collect();
            augment(&f, &vec![0.0; rows], factors, k, user)
        };
        let (uf, itf) = (init(nu, true), init(ni, false));
        let rates = SgdRates {
            lr: 0.01,
            reg: 0.02,
        };
        let run = |kernel| {
            let (mut uf, mut itf) = (uf.clone(), itf.clone());
            let mut sse = 0.0;
            for _ in 0..20 {
                sse = sgd_block_with(kernel, &rs, 5.5, k, &mut uf, &mut itf, rates);
            }
            (sse, uf, itf)
        };
        let a = run(SgdKernel::Portable);
        let b = run(SgdKernel::detect());
        assert!((a.0 - b.0).abs() < 1e-4 * a.0, "{} vs {}", a.0, b.0);
        let close = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(s, t)| (s - t).abs() < 1e-4);
        assert!(close(&a.1, &b.1) && close(&a.2, &b.2));
        // The biases moved, the constants did not.
        assert!(b.1.chunks_exact(k).any(|row| row[k - 2].abs() > 1e-3));
        assert!(b.1.chunks_exact(k).all(|row| row[k - 1] == 1.0));
        assert!(b.2.chunks_exact(k).all(|row| row[k - 2] == 1.0));
    }
}
