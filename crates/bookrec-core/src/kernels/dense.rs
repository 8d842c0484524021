//! Dense vector primitives over fixed-width chunks (vectorised by LLVM).

use super::LANES;

/// Dot product `a·b`. Slices must have equal length; a tail shorter than [`LANES`] is handled.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = reduce(&acc);
    for (x, y) in ta.iter().zip(tb) {
        s += x * y;
    }
    s
}

/// Horizontal sum of one chunk, in a fixed order (results do not depend on the machine).
#[inline]
fn reduce(acc: &[f32; LANES]) -> f32 {
    let mut h = [0f32; LANES / 2];
    for l in 0..LANES / 2 {
        h[l] = acc[l] + acc[l + LANES / 2];
    }
    (h[0] + h[2]) + (h[1] + h[3])
}

/// `y += a·x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), y.len());
    for (yc, xc) in y.chunks_exact_mut(LANES).zip(x.chunks_exact(LANES)) {
        for l in 0..LANES {
            yc[l] += a * xc[l];
        }
    }
    let done = y.len() / LANES * LANES;
    for (yv, xv) in y[done..].iter_mut().zip(&x[done..]) {
        *yv += a * xv;
    }
}

/// Euclidean norm.
#[inline]
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_with_tail() {
        let a: Vec<f32> = (0..21).map(|x| x as f32 * 0.5).collect();
        let b: Vec<f32> = (0..21).map(|x| 1.0 - x as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
        let mut y = b.clone();
        axpy(2.0, &a, &mut y);
        for k in 0..21 {
            assert_eq!(y[k], b[k] + 2.0 * a[k]);
        }
    }
}
