//! Progress reporting hook. The core never draws bars itself: the CLI plugs in indicatif, the
//! server and Python bindings plug in nothing ([`NoProgress`]).

/// Receives progress of long steps (loading, epochs, folds). Must be cheap to call.
pub trait Progress: Sync {
    /// A new stage starts, e.g. ("svd epochs", 20). `total` 0 = unknown length.
    fn start(&self, stage: &str, total: u64);
    /// `n` more units of the current stage are done.
    fn inc(&self, n: u64);
    /// A short status of the current stage, e.g. "epoch 3: validation rmse 1.62" (optional).
    fn message(&self, _msg: &str) {}
    /// The current stage is done; `summary` is a short human-readable result, e.g. "rmse 1.62".
    fn finish(&self, summary: &str);
}

/// Discards all progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _stage: &str, _total: u64) {}
    fn inc(&self, _n: u64) {}
    fn finish(&self, _summary: &str) {}
}
