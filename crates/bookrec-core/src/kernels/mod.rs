//! The hot loops only: pure functions over slices, no allocation inside, benchmarked with
//! criterion (`benches/kernels.rs`).
//!
//! Factor rows are stored with a stride padded to a multiple of [`LANES`] (see [`padded`]); the
//! padding is zero and stays zero under every update here, so it never changes a result, and
//! the loops can run over fixed-width `chunks_exact(LANES)` that LLVM vectorises without
//! target-specific code. The build stays portable (no `-C target-cpu`); the SGD kernel alone
//! also has an AVX2/FMA variant with software prefetch, chosen at run time when the CPU has it
//! (`sgd::SgdKernel::detect`), with the portable loop kept as the fallback.

pub mod cholesky;
pub mod dense;
pub mod implicit;
pub mod memory;
pub mod sgd;
pub mod topk;

/// Width of the fixed chunks the vector loops run over.
pub const LANES: usize = 8;

/// `k` rounded up to a multiple of [`LANES`] (0 stays 0).
pub fn padded(k: usize) -> usize {
    k.div_ceil(LANES) * LANES
}
