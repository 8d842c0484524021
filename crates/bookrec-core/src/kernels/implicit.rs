//! The row solve of implicit-feedback ALS (Hu, Koren & Volinsky 2008).
//!
//! For one user (or book) with interactions j ∈ N, confidences c_j = 1 + w_j and preference 1
//! on them (0 on every other book), the least-squares row is
//!
//! x = (YᵀC Y + λI)⁻¹ YᵀC p = (G + Σ_j w_j y_j y_jᵀ)⁻¹ Σ_j (1 + w_j) y_j,  G = YᵀY + λI,
//!
//! where G is shared by all rows of a half-sweep, so a row costs O(|N|·d²) to assemble instead
//! of O(n_items·d²). [`solve_exact`] assembles and Cholesky-factors the d×d system;
//! [`solve_cg`] runs a few conjugate-gradient steps from the current x without forming it
//! (Takács, Pilászy & Tikk 2011; the `implicit` library's default), O(steps·(d² + |N|·d)).

use rayon::prelude::*;

use super::cholesky::{cholesky_factor, cholesky_solve};
use super::dense::{axpy, dot};

/// The rows of a factor matrix (row stride `stride`, first `d` columns used) named by `idx`,
/// with their weights w_j = c_j − 1.
#[derive(Clone, Copy, Debug)]
pub struct Weighted<'a> {
    pub idx: &'a [u32],
    pub w: &'a [f32],
    pub mat: &'a [f32],
    pub stride: usize,
    pub d: usize,
}

impl Weighted<'_> {
    #[inline]
    fn row(&self, j: usize) -> &[f32] {
        let r = self.idx[j] as usize * self.stride;
        &self.mat[r..r + self.d]
    }
}

/// G = YᵀY + λI (row-major d×d) over all rows of `mat` (row stride `stride`, first `d`
/// columns), summed in parallel in f64 chunks so that hundreds of thousands of rows do not lose
/// precision.
pub fn gram(mat: &[f32], stride: usize, d: usize, lambda: f32) -> Vec<f32> {
    const CHUNK: usize = 4096;
    if stride == 0 || d == 0 {
        return Vec::new();
    }
    let sum = mat
        .par_chunks(CHUNK * stride)
        .map(|rows| {
            let mut part = vec![0f32; d * d];
            for row in rows.chunks_exact(stride) {
                let y = &row[..d];
                for a in 0..d {
                    if y[a] != 0.0 {
                        axpy(y[a], &y[..=a], &mut part[a * d..a * d + a + 1]);
                    }
                }
            }
            part.into_iter().map(f64::from).collect::<Vec<f64>>()
        })
        .reduce(
            || vec![0f64; d * d],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let mut g = vec![0f32; d * d];
    for a in 0..d {
        for b in 0..=a {
            let v = sum[a * d + b] as f32 + if a == b { lambda } else { 0.0 };
            g[a * d + b] = v;
            g[b * d + a] = v;
        }
    }
    g
}

/// Assembles A = G + Σ_j w_j y_j y_jᵀ (lower triangle) into `a` and b = Σ_j (1 + w_j) y_j into
/// `b`.
pub fn assemble(g: &[f32], rows: &Weighted, a: &mut Vec<f32>, b: &mut Vec<f32>) {
    let d = rows.d;
    a.clear();
    a.extend_from_slice(&g[..d * d]);
    b.clear();
    b.resize(d, 0.0);
    for j in 0..rows.idx.len() {
        let (y, w) = (rows.row(j), rows.w[j]);
        axpy(1.0 + w, y, b);
        if w != 0.0 {
            for r in 0..d {
                let s = w * y[r];
                if s != 0.0 {
                    axpy(s, &y[..=r], &mut a[r * d..r * d + r + 1]);
                }
            }
        }
    }
}

/// Exact row solve: writes x = A⁻¹b into `x` (length d). Returns false (x zeroed) if A is not
/// positive definite, which cannot happen with λ > 0.
pub fn solve_exact(
    g: &[f32],
    rows: &Weighted,
    a: &mut Vec<f32>,
    b: &mut Vec<f32>,
    x: &mut [f32],
) -> bool {
    assemble(g, rows, a, b);
    if !cholesky_factor(a, rows.d) {
        x.fill(0.0);
        return false;
    }
    cholesky_solve(a, rows.d, b);
    x.copy_from_slice(b);
    true
}

/// Buffers for [`solve_cg`] (one per thread).
#[derive(Clone, Debug, Default)]
pub struct CgScratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

/// v ↦ Av = Gv + Σ_j w_j (y_jᵀv) y_j, into `out`.
fn apply(g: &[f32], rows: &Weighted, v: &[f32], out: &mut [f32]) {
    let d = rows.d;
    for (r, o) in out.iter_mut().enumerate() {
        *o = dot(&g[r * d..r * d + d], v);
    }
    for j in 0..rows.idx.len() {
        let w = rows.w[j];
        if w != 0.0 {
            let y = rows.row(j);
            axpy(w * dot(y, v), y, out);
        }
    }
}

/// `steps` conjugate-gradient steps on Ax = b starting from the current `x` (warm start: the
/// previous sweep's row), stopping early once the residual vanishes.
pub fn solve_cg(g: &[f32], rows: &Weighted, steps: usize, s: &mut CgScratch, x: &mut [f32]) {
    let d = rows.d;
    s.r.clear();
    s.r.resize(d, 0.0);
    s.ap.clear();
    s.ap.resize(d, 0.0);
    // r = b − Ax
    apply(g, rows, x, &mut s.ap);
    for j in 0..rows.idx.len() {
        axpy(1.0 + rows.w[j], rows.row(j), &mut s.r);
    }
    for (r, ax) in s.r.iter_mut().zip(&s.ap) {
        *r -= ax;
    }
    s.p.clear();
    s.p.extend_from_slice(&s.r);
    let mut rs_old = dot(&s.r, &s.r);
    for _ in 0..steps {
        if rs_old <= 1e-20 {
            break;
        }
        apply(g, rows, &s.p, &mut s.ap);
        let pap = dot(&s.p, &s.ap);
        // Also stops on NaN.
        if pap.is_nan() || pap <= 0.0 {
            break;
        }
        let step = rs_old / pap;
        axpy(step, &s.p, x);
        axpy(-step, &s.ap, &mut s.r);
        let rs_new = dot(&s.r, &s.r);
        let beta = rs_new / rs_old;
        for (p, r) in s.p.iter_mut().zip(&s.r) {
            *p = r + beta * *p;
        }
        rs_old = rs_new;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Y = [[1, 0], [0, 2]], λ = 1, one interaction with item 0 at confidence 3:
    /// G = diag(2, 5), A = diag(4, 5), b = (3, 0), x = (0.75, 0).
    #[test]
    fn hand_checked_row() {
        let mat = [1.0f32, 0.0, 0.0, 2.0];
        let g = gram(&mat, 2, 2, 1.0);
        assert_eq!(g, vec![2.0, 0.0, 0.0, 5.0]);
        let rows = Weighted {
            idx: &[0],
            w: &[2.0],
            mat: &mat,
            stride: 2,
            d: 2,
        };
        let (mut a, mut b, mut x) = (Vec::new(), Vec::new(), [9.0f32; 2]);
        assert!(solve_exact(&g, &rows, &mut a, &mut b, &mut x));
        assert!((x[0] - 0.75).abs() < 1e-6 && x[1].abs() < 1e-6, "{x:?}");
        // CG converges in d steps on a d-dimensional system, from any start.
        let mut y = [-3.0f32, 4.0];
        solve_cg(&g, &rows, 2, &mut CgScratch::default(), &mut y);
        assert!((y[0] - 0.75).abs() < 1e-5 && y[1].abs() < 1e-5, "{y:?}");
    }

    /// CG with enough steps agrees with the Cholesky solve on a denser random system.
    #[test]
    fn cg_matches_exact() {
        let mut rng = crate::rng::Rng::new(7);
        let (n, stride, d) = (40usize, 8usize, 6usize);
        let mat: Vec<f32> = (0..n * stride)
            .map(|k| {
                if k % stride < d {
                    rng.next_f32() - 0.5
                } else {
                    0.0
                }
            })
            .collect();
        let g = gram(&mat, stride, d, 0.1);
        let idx = [3u32, 9, 17, 25, 31];
        let w = [4.0f32, 0.5, 10.0, 0.0, 2.0];
        let rows = Weighted {
            idx: &idx,
            w: &w,
            mat: &mat,
            stride,
            d,
        };
        let (mut a, mut b, mut exact) = (Vec::new(), Vec::new(), vec![0f32; d]);
        assert!(solve_exact(&g, &rows, &mut a, &mut b, &mut exact));
        let mut cg = vec![0f32; d];
        solve_cg(&g, &rows, 30, &mut CgScratch::default(), &mut cg);
        for (e, c) in exact.iter().zip(&cg) {
            assert!((e - c).abs() < 1e-3, "{exact:?} vs {cg:?}");
        }
    }
}
