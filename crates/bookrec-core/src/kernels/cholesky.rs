//! Small dense symmetric positive-definite solves (k×k, k ≈ 10–200) without LAPACK, and the
//! ridge-regression row solve that ALS and fold-in are built on.

use super::dense::{axpy, dot};

/// Factors the SPD matrix `a` (row-major n×n; only the lower triangle is read) in place into
/// its Cholesky factor L (lower triangle, A = LLᵀ). Row-oriented so every inner loop is a dot
/// product of contiguous row prefixes. Returns false if `a` is not positive definite.
pub fn cholesky_factor(a: &mut [f32], n: usize) -> bool {
    debug_assert!(a.len() >= n * n);
    for i in 0..n {
        for j in 0..=i {
            let (upper, lower) = a.split_at_mut(i * n);
            let row_i = &mut lower[..n];
            let s = if j == i {
                row_i[i] - dot(&row_i[..j], &row_i[..j])
            } else {
                let row_j = &upper[j * n..j * n + n];
                (row_i[j] - dot(&row_i[..j], &row_j[..j])) / row_j[j]
            };
            if j == i {
                if s.is_nan() || s <= 0.0 || !s.is_finite() {
                    return false;
                }
                row_i[i] = s.sqrt();
            } else {
                row_i[j] = s;
            }
        }
    }
    true
}

/// Solves LLᵀx = b in place (`b` becomes x), with L from [`cholesky_factor`].
pub fn cholesky_solve(l: &[f32], n: usize, b: &mut [f32]) {
    // Forward: L y = b.
    for i in 0..n {
        let s = b[i] - dot(&l[i * n..i * n + i], &b[..i]);
        b[i] = s / l[i * n + i];
    }
    // Backward: Lᵀ x = y (column access of L; n is small).
    for i in (0..n).rev() {
        let mut s = b[i];
        for j in i + 1..n {
            s -= l[j * n + i] * b[j];
        }
        b[i] = s / l[i * n + i];
    }
}

/// Reusable buffers for [`ridge_solve`] (one per thread; no allocation per row once warm).
#[derive(Clone, Debug, Default)]
pub struct RidgeScratch {
    a: Vec<f32>,
    rhs: Vec<f32>,
}

/// The rows z_j of a ridge problem: `z_j = [1, m[idx_j]]` (`with_bias`) or `m[idx_j]`, where
/// `m` is a row-major matrix with row stride `stride`, of which the first `k` columns are used.
#[derive(Clone, Copy, Debug)]
pub struct Design<'a> {
    pub idx: &'a [u32],
    pub mat: &'a [f32],
    pub stride: usize,
    pub k: usize,
    pub with_bias: bool,
}

impl Design<'_> {
    /// Dimension of x.
    pub fn dim(&self) -> usize {
        self.k + usize::from(self.with_bias)
    }

    /// The k used columns of row j of the design (without the bias column).
    #[inline]
    pub fn row(&self, j: usize) -> &[f32] {
        let r = self.idx[j] as usize * self.stride;
        &self.mat[r..r + self.k]
    }

    /// z_a·z_b.
    #[inline]
    fn inner(&self, a: usize, b: usize) -> f32 {
        dot(self.row(a), self.row(b)) + if self.with_bias { 1.0 } else { 0.0 }
    }
}

/// Solves the ridge regression x = argmin Σ_j (t_j − z_jᵀx)² + λ‖x‖², i.e.
/// x = (ZᵀZ + λI)⁻¹Zᵀt, writing x (length `design.dim()`, bias first) into `out`.
///
/// With fewer rows than dimensions (most users and books in sparse data) it solves the
/// equivalent dual system x = Zᵀ(ZZᵀ + λI)⁻¹t, which costs O(n²k + n³) instead of O(k³).
/// Returns false (and zeroes `out`) if the system is singular (λ = 0 and too few rows).
pub fn ridge_solve(
    design: &Design,
    targets: &[f32],
    lambda: f32,
    scratch: &mut RidgeScratch,
    out: &mut [f32],
) -> bool {
    let n = design.idx.len();
    let d = design.dim();
    debug_assert_eq!(targets.len(), n);
    debug_assert_eq!(out.len(), d);
    out.fill(0.0);
    if n == 0 {
        return true;
    }
    let off = usize::from(design.with_bias);
    if n < d {
        // Dual: (ZZᵀ + λI) α = t, x = Σ α_j z_j.
        scratch.a.clear();
        scratch.a.resize(n * n, 0.0);
        for a in 0..n {
            for b in 0..=a {
                scratch.a[a * n + b] = design.inner(a, b) + if a == b { lambda } else { 0.0 };
            }
        }
        scratch.rhs.clear();
        scratch.rhs.extend_from_slice(targets);
        if !cholesky_factor(&mut scratch.a, n) {
            return false;
        }
        cholesky_solve(&scratch.a, n, &mut scratch.rhs);
        for (j, &alpha) in scratch.rhs.iter().enumerate() {
            if design.with_bias {
                out[0] += alpha;
            }
            axpy(alpha, design.row(j), &mut out[off..]);
        }
        return true;
    }
    // Primal: (ZᵀZ + λI) x = Zᵀt.
    if !gram_factor(design, lambda, &mut scratch.a) {
        return false;
    }
    scratch.rhs.clear();
    scratch.rhs.resize(d, 0.0);
    for (j, &t) in targets.iter().enumerate() {
        if design.with_bias {
            scratch.rhs[0] += t;
        }
        axpy(t, design.row(j), &mut scratch.rhs[off..]);
    }
    cholesky_solve(&scratch.a, d, &mut scratch.rhs);
    out.copy_from_slice(&scratch.rhs);
    true
}

/// Builds A = ZᵀZ + λI (d×d, lower triangle accumulated row by row) into `a` and factors it
/// with [`cholesky_factor`]. Returns false if A is not positive definite.
pub fn gram_factor(design: &Design, lambda: f32, a: &mut Vec<f32>) -> bool {
    let d = design.dim();
    let off = usize::from(design.with_bias);
    a.clear();
    a.resize(d * d, 0.0);
    for j in 0..design.idx.len() {
        let q = design.row(j);
        if design.with_bias {
            a[0] += 1.0;
        }
        for (f, &qf) in q.iter().enumerate() {
            let row = (f + off) * d;
            if design.with_bias {
                a[row] += qf;
            }
            axpy(qf, &q[..=f], &mut a[row + off..row + off + f + 1]);
        }
    }
    for f in 0..d {
        a[f * d + f] += lambda;
    }
    cholesky_factor(a, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_by_hand() {
        // A = [[4, 2], [2, 3]] = LLᵀ with L = [[2, 0], [1, √2]]; A x = (2, 5) has x = (−0.5, 2).
        let mut a = [4.0f32, 2.0, 2.0, 3.0];
        assert!(cholesky_factor(&mut a, 2));
        assert_eq!(a[0], 2.0);
        assert_eq!(a[2], 1.0);
        assert!((a[3] - 2f32.sqrt()).abs() < 1e-6);
        let mut b = [2.0f32, 5.0];
        cholesky_solve(&a, 2, &mut b);
        assert!(
            (b[0] + 0.5).abs() < 1e-6 && (b[1] - 2.0).abs() < 1e-6,
            "{b:?}"
        );
        let mut not_pd = [1.0f32, 2.0, 2.0, 1.0];
        assert!(!cholesky_factor(&mut not_pd, 2));
    }

    /// The primal and dual paths agree with each other and with the normal equations.
    #[test]
    fn ridge_primal_equals_dual() {
        let k = 5;
        let mut rng = crate::rng::Rng::new(1);
        let mat: Vec<f32> = (0..8 * 8).map(|_| rng.normal() as f32).collect();
        let targets = [1.0f32, -2.0, 0.5];
        let idx = [0u32, 3, 6];
        let design = Design {
            idx: &idx,
            mat: &mat,
            stride: 8,
            k,
            with_bias: true,
        };
        let mut dual = vec![0f32; 6];
        let mut s = RidgeScratch::default();
        assert!(ridge_solve(&design, &targets, 0.3, &mut s, &mut dual));
        // Force the primal path by repeating the rows (doubling Σzzᵀ and Σzt) with 2λ: same x.
        let idx2 = [0u32, 3, 6, 0, 3, 6];
        let t2 = [1.0f32, -2.0, 0.5, 1.0, -2.0, 0.5];
        let d2 = Design {
            idx: &idx2,
            ..design
        };
        let mut primal = vec![0f32; 6];
        assert!(ridge_solve(&d2, &t2, 0.6, &mut s, &mut primal));
        for f in 0..6 {
            assert!((dual[f] - primal[f]).abs() < 1e-4, "{dual:?} {primal:?}");
        }
    }
}
