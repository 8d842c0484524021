//! Neural collaborative filtering: NeuMF (He et al. 2017) for explicit ratings.
//!
//! Each user and book has a bias and two embeddings of size d (`factors`): a GMF one (p_u, q_i)
//! and an MLP one (p'_u, q'_i). The prediction is a residual around the biases:
//!
//! ```text
//! g      = p_u ⊙ q_i                                   (GMF branch, d values)
//! h_0    = [p'_u ; q'_i]                               (2d values)
//! h_l    = ReLU(W_l h_(l-1) + c_l),  l = 1..L          (MLP branch, sizes `layers`)
//! r̂(u,i) = μ + b_u + b_i + wᵀ[g ; h_L] + c_out         (fusion layer)
//! ```
//!
//! Training (module `train`, cargo feature `ncf`, candle autograd on the CPU) minimises
//! (1/B) Σ_batch [(r̂ − r)² + reg·(b_u² + ‖p_u‖² + ‖p'_u‖² + b_i² + ‖q_i‖² + ‖q'_i‖²)] with
//! Adam: the dense layers with AdamW (decoupled `weight_decay`), the embedding tables with a
//! sparse ("lazy") Adam that only moves the rows of the batch, as PyTorch's `SparseAdam`,
//! so that one step costs O(batch), not O(users + books). Dropout (inverted) follows each
//! hidden ReLU during training. A validation split carved from the training ratings picks the
//! epoch: training stops after `patience` epochs without a better validation RMSE and the best
//! epoch's weights are kept.
//!
//! Serving needs no tensor library: [`NcfScorer`] holds plain `Vec<f32>` weights and the
//! forward pass below. The user's part of the first MLP layer, W_1[:, :d] p'_u + c_1, is
//! computed once per user ([`NcfScorer::user_part`]) and reused for every candidate book.

use serde::{Deserialize, Serialize};

use super::{
    check_at_least_one, check_non_negative, check_positive, compact_rows, ParamSet, Scorer,
};
use crate::data::Interactions;
use crate::kernels::dense::dot;
use crate::progress::Progress;
use crate::{Error, Result};

#[cfg(feature = "ncf")]
mod train;

/// Parameters of `ncf`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NcfParams {
    /// Embedding size d of each branch (GMF and MLP, users and books).
    pub factors: usize,
    /// Sizes of the MLP's hidden layers (at least one), e.g. `[32, 16]`.
    pub layers: Vec<usize>,
    /// Dropout probability after each hidden ReLU during training.
    pub dropout: f32,
    /// Maximum number of epochs (early stopping usually ends sooner).
    pub epochs: usize,
    /// Ratings per mini-batch.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// AdamW decoupled weight decay of the dense layers (per step, times lr).
    pub weight_decay: f32,
    /// L2 weight of the embeddings and biases of the batch's users and books, per rating.
    pub reg: f32,
    /// Fraction of the training ratings held out for early stopping (0 = none: run all
    /// epochs). Only ratings whose user and book keep another training rating are held out.
    pub val_fraction: f32,
    /// Epochs without a better validation RMSE before stopping.
    pub patience: usize,
    /// Embeddings start as N(0, init_std²).
    pub init_std: f32,
    /// Adam steps of fold-in for a new reader (network frozen).
    pub fold_in_steps: usize,
    pub seed: u64,
}

impl Default for NcfParams {
    fn default() -> Self {
        NcfParams {
            factors: 32,
            layers: vec![32, 16],
            dropout: 0.0,
            epochs: 20,
            batch_size: 1024,
            lr: 0.01,
            weight_decay: 0.0,
            reg: 0.05,
            val_fraction: 0.05,
            patience: 2,
            init_std: 0.1,
            fold_in_steps: 60,
            seed: 42,
        }
    }
}

/// Largest accepted embedding / layer width: bigger is a typo, not a model.
const MAX_WIDTH: usize = 4096;

impl ParamSet for NcfParams {
    const KEYS: &'static [&'static str] = &[
        "factors",
        "layers",
        "dropout",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "reg",
        "val_fraction",
        "patience",
        "init_std",
        "fold_in_steps",
        "seed",
    ];

    fn check(&self) -> Result<()> {
        check_at_least_one("factors", self.factors)?;
        if self.factors > MAX_WIDTH {
            return Err(Error::param(
                "factors",
                self.factors,
                "must be at most 4096",
            ));
        }
        if self.layers.is_empty() || self.layers.len() > 8 {
            return Err(Error::param(
                "layers",
                format!("{:?}", self.layers),
                "must list 1 to 8 hidden layer sizes, e.g. [32,16]",
            ));
        }
        if let Some(&w) = self.layers.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
            return Err(Error::param(
                "layers",
                format!("{:?}", self.layers),
                format!("layer size {w} must be between 1 and 4096"),
            ));
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return Err(Error::param("dropout", self.dropout, "must be in [0, 1)"));
        }
        check_at_least_one("epochs", self.epochs)?;
        check_at_least_one("batch_size", self.batch_size)?;
        check_positive("lr", self.lr)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        check_non_negative("reg", self.reg)?;
        if !(self.val_fraction.is_finite() && (0.0..=0.5).contains(&self.val_fraction)) {
            return Err(Error::param(
                "val_fraction",
                self.val_fraction,
                "must be in [0, 0.5]",
            ));
        }
        check_at_least_one("patience", self.patience)?;
        check_non_negative("init_std", self.init_std)?;
        Ok(())
    }
}

/// A fully connected layer y = W x + c, W row-major (`n_out` rows of `n_in`), as candle's
/// `Linear` stores it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

impl Dense {
    fn fits(&self) -> bool {
        self.w.len() == self.n_in * self.n_out && self.b.len() == self.n_out
    }

    /// out = W[:, cols] x (+ c when `with_bias`), over the input columns `cols.start..` of
    /// length `x.len()`.
    fn apply_cols(&self, col0: usize, x: &[f32], with_bias: bool, out: &mut [f32]) {
        for (o, (row, &c)) in out
            .iter_mut()
            .zip(self.w.chunks_exact(self.n_in).zip(&self.b))
        {
            let s = dot(&row[col0..col0 + x.len()], x);
            *o = if with_bias { s + c } else { s };
        }
    }
}

/// The learned parameters of `ncf` (see the module docs for the equation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NcfScorer {
    /// Embedding size d.
    pub factors: usize,
    /// b_u over the user vocabulary (0 for users without training ratings).
    pub user_bias: Vec<f32>,
    /// b_i over the book vocabulary.
    pub item_bias: Vec<f32>,
    /// Rows of 2d values [p_u ; p'_u], for users with training ratings.
    pub user_emb: Vec<f32>,
    /// Rows of 2d values [q_i ; q'_i], for books with training ratings.
    pub item_emb: Vec<f32>,
    /// Row of each user in `user_emb` (`u32::MAX` = none), as [`super::Factors::user_rows`].
    pub user_rows: Vec<u32>,
    pub item_rows: Vec<u32>,
    /// The MLP's hidden layers; the first takes the 2d inputs [p'_u ; q'_i].
    pub mlp: Vec<Dense>,
    /// Fusion layer: 1 output over [g ; h_L].
    pub out: Dense,
    /// Fold-in: Adam steps, learning rate and L2 weight (see [`NcfScorer::fold_in`]).
    pub fold_in_steps: u32,
    pub fold_in_lr: f32,
    pub fold_in_reg: f32,
}

/// What the forward pass needs from one user: b_u, p_u and W_1[:, :d] p'_u + c_1.
#[derive(Clone, Debug, PartialEq)]
pub struct NcfUser {
    pub bias: f32,
    pub gmf: Vec<f32>,
    pub first: Vec<f32>,
}

/// Scratch for one forward pass (two hidden-layer buffers), reused across books.
#[derive(Default)]
pub(crate) struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    first: Vec<f32>,
}

impl NcfScorer {
    fn row(rows: &[u32], idx: u32, m: &[f32], width: usize) -> Option<usize> {
        match rows.get(idx as usize) {
            Some(&r) if r != u32::MAX && (r as usize + 1) * width <= m.len() => Some(r as usize),
            _ => None,
        }
    }

    /// Row of book `i` in `item_emb`, if it has one.
    pub fn item_row(&self, i: u32) -> Option<usize> {
        Self::row(&self.item_rows, i, &self.item_emb, 2 * self.factors)
    }

    /// [q_i ; q'_i] (2d values), if the book has embeddings.
    pub fn item_vec(&self, i: u32) -> Option<&[f32]> {
        let w = 2 * self.factors;
        self.item_row(i).map(|r| &self.item_emb[r * w..(r + 1) * w])
    }

    /// [p_u ; p'_u] (2d values), if the user has embeddings.
    pub fn user_vec(&self, u: u32) -> Option<&[f32]> {
        let w = 2 * self.factors;
        Self::row(&self.user_rows, u, &self.user_emb, w).map(|r| &self.user_emb[r * w..(r + 1) * w])
    }

    /// Layer sizes chain: [2d → layers… → (d + last) → 1]; used to refuse corrupt files.
    pub fn shapes_fit(&self) -> bool {
        let d = self.factors;
        let mut n_in = 2 * d;
        for l in &self.mlp {
            if l.n_in != n_in || !l.fits() {
                return false;
            }
            n_in = l.n_out;
        }
        d > 0
            && !self.mlp.is_empty()
            && self.out.n_in == d + n_in
            && self.out.n_out == 1
            && self.out.fits()
            && self.user_emb.len() % (2 * d) == 0
            && self.item_emb.len() % (2 * d) == 0
    }

    /// The per-user part of the forward pass from b_u and [p_u ; p'_u].
    pub fn user_part(&self, bias: f32, emb: &[f32]) -> NcfUser {
        let d = self.factors;
        let mut first = vec![0f32; self.mlp.first().map_or(0, |l| l.n_out)];
        if let Some(l) = self.mlp.first() {
            l.apply_cols(0, &emb[d..2 * d], true, &mut first);
        }
        NcfUser {
            bias,
            gmf: emb[..d].to_vec(),
            first,
        }
    }

    /// The user part of a known user (zero embeddings if the user has none).
    pub fn known_user(&self, u: u32, bias: f32) -> NcfUser {
        match self.user_vec(u) {
            Some(e) => self.user_part(bias, e),
            None => self.user_part(bias, &vec![0f32; 2 * self.factors]),
        }
    }

    /// The book's part of the first layer, W_1[:, d:] q'_i.
    fn item_first(&self, q: &[f32], out: &mut Vec<f32>) {
        let d = self.factors;
        if let Some(l) = self.mlp.first() {
            out.resize(l.n_out, 0.0);
            l.apply_cols(d, &q[d..2 * d], false, out);
        }
    }

    /// wᵀ[g ; h_L] + c_out given the user's part and the book's first-layer part `item_first`
    /// (h_1 = ReLU(user.first + item_first)). `pre` receives each layer's pre-activation when
    /// given (for the backward pass of fold-in).
    fn forward_rest(
        &self,
        user: &NcfUser,
        q: &[f32],
        item_first: &[f32],
        s: &mut Scratch,
        mut pre: Option<&mut Vec<Vec<f32>>>,
    ) -> f32 {
        let d = self.factors;
        let (a, b) = (&mut s.a, &mut s.b);
        a.clear();
        a.extend(user.first.iter().zip(item_first).map(|(x, y)| x + y));
        if let Some(p) = pre.as_deref_mut() {
            p[0].clone_from(a);
        }
        a.iter_mut().for_each(|x| *x = x.max(0.0));
        for (l, layer) in self.mlp.iter().enumerate().skip(1) {
            b.resize(layer.n_out, 0.0);
            layer.apply_cols(0, a, true, b);
            if let Some(p) = pre.as_deref_mut() {
                p[l].clone_from(b);
            }
            b.iter_mut().for_each(|x| *x = x.max(0.0));
            std::mem::swap(a, b);
        }
        let w = &self.out.w;
        let g: f32 = user
            .gmf
            .iter()
            .zip(&q[..d])
            .zip(&w[..d])
            .map(|((p, q), w)| p * q * w)
            .sum();
        g + dot(&w[d..], a) + self.out.b[0]
    }

    /// wᵀ[g ; h_L] + c_out for the user and the book with embeddings [q_i ; q'_i].
    pub(crate) fn interaction(&self, user: &NcfUser, q: &[f32], s: &mut Scratch) -> f32 {
        let mut first = std::mem::take(&mut s.first);
        self.item_first(q, &mut first);
        let y = self.forward_rest(user, q, &first, s, None);
        s.first = first;
        y
    }

    /// Offers each candidate book with embeddings and its network output (the part of r̂
    /// after μ + b_u + b_i) to `offer`, reusing one scratch buffer.
    pub(crate) fn score_candidates(
        &self,
        user: &NcfUser,
        cands: &[u32],
        offer: &mut dyn FnMut(u32, f32),
    ) {
        let mut s = Scratch::default();
        for &i in cands {
            if let Some(q) = self.item_vec(i) {
                offer(i, self.interaction(user, q, &mut s));
            }
        }
    }

    /// The network output of a user and a book by index (the part of r̂ after μ + b_u + b_i);
    /// `None` if either has no embeddings.
    pub fn interaction_idx(&self, user: &NcfUser, item: u32) -> Option<f32> {
        let q = self.item_vec(item)?;
        Some(self.interaction(user, q, &mut Scratch::default()))
    }

    /// Fold-in of a new reader: b_u and [p_u ; p'_u] start at zero and take `fold_in_steps`
    /// Adam steps (lr `fold_in_lr`, β = 0.9/0.999) on
    /// (1/n) Σ_j (r̂_j − r_j)² + `fold_in_reg`·(b_u² + ‖p_u‖² + ‖p'_u‖²)
    /// with the network and the books frozen; the gradient is the forward pass's own backward
    /// pass written out here (checked against finite differences in the tests). `books` are
    /// (embedding row of [q_i ; q'_i], r_j − μ − b_j) pairs.
    pub fn fold_in(&self, books: &[(usize, f32)]) -> NcfUser {
        let w = 2 * self.factors;
        let mut x = vec![0f32; 1 + w];
        if books.is_empty() {
            return self.user_part(0.0, &x[1..]);
        }
        let firsts: Vec<Vec<f32>> = books
            .iter()
            .map(|&(r, _)| {
                let mut f = Vec::new();
                self.item_first(&self.item_emb[r * w..(r + 1) * w], &mut f);
                f
            })
            .collect();
        let (mut m, mut v, mut g) = (vec![0f32; 1 + w], vec![0f32; 1 + w], vec![0f32; 1 + w]);
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let mut ws = FoldWork::new(self);
        for t in 1..=self.fold_in_steps {
            self.fold_in_grad(&x, books, &firsts, &mut ws, &mut g);
            let (c1, c2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
            for j in 0..x.len() {
                m[j] = b1 * m[j] + (1.0 - b1) * g[j];
                v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j];
                x[j] -= self.fold_in_lr * (m[j] / c1) / ((v[j] / c2).sqrt() + eps);
            }
        }
        self.user_part(x[0], &x[1..])
    }

    /// Loss and gradient of the fold-in objective at x = [b_u, p_u, p'_u] (into `grad`).
    fn fold_in_grad(
        &self,
        x: &[f32],
        books: &[(usize, f32)],
        firsts: &[Vec<f32>],
        ws: &mut FoldWork,
        grad: &mut [f32],
    ) -> f32 {
        let d = self.factors;
        let w = 2 * d;
        let n = books.len() as f32;
        let user = self.user_part(x[0], &x[1..]);
        grad.iter_mut()
            .zip(x)
            .for_each(|(g, &xv)| *g = 2.0 * self.fold_in_reg * xv);
        let mut loss: f32 = self.fold_in_reg * x.iter().map(|v| v * v).sum::<f32>();
        for (&(r, t), first) in books.iter().zip(firsts) {
            let q = &self.item_emb[r * w..(r + 1) * w];
            let y = x[0] + self.forward_rest(&user, q, first, &mut ws.s, Some(&mut ws.pre));
            let e = y - t;
            loss += e * e / n;
            let dy = 2.0 * e / n;
            grad[0] += dy;
            for k in 0..d {
                grad[1 + k] += dy * self.out.w[k] * q[k];
            }
            // Back through the MLP: δ at h_L, then layer by layer to h_0's user half.
            ws.delta.clear();
            ws.delta.extend(self.out.w[d..].iter().map(|wv| dy * wv));
            for (l, layer) in self.mlp.iter().enumerate().rev() {
                for (dl, &z) in ws.delta.iter_mut().zip(&ws.pre[l]) {
                    if z <= 0.0 {
                        *dl = 0.0;
                    }
                }
                let (cols, into) = if l == 0 {
                    (d, &mut grad[1 + d..1 + w])
                } else {
                    ws.next.clear();
                    ws.next.resize(layer.n_in, 0.0);
                    (layer.n_in, &mut ws.next[..])
                };
                for (row, &dl) in layer.w.chunks_exact(layer.n_in).zip(&ws.delta) {
                    if dl != 0.0 {
                        for (o, &wv) in into.iter_mut().zip(&row[..cols]) {
                            *o += dl * wv;
                        }
                    }
                }
                if l > 0 {
                    std::mem::swap(&mut ws.delta, &mut ws.next);
                }
            }
        }
        loss
    }

    /// An explanation of the score of a book for a reader from their rated books: book j
    /// contributes t_j·cos(e_i, e_j), e = [q ; q'] (the network does not decompose
    /// additively; this says which liked books resemble the recommended one). `books` are
    /// (embedding row, t_j) pairs, t_j how much the reader liked book j (the caller's
    /// choice: r_j − μ − b_j less the reader's mean of it).
    pub fn contributions(&self, item: u32, books: &[(usize, f32)]) -> Vec<f32> {
        let Some(qi) = self.item_vec(item) else {
            return vec![0.0; books.len()];
        };
        let w = 2 * self.factors;
        let ni = crate::kernels::dense::norm(qi);
        books
            .iter()
            .map(|&(r, t)| {
                let qj = &self.item_emb[r * w..(r + 1) * w];
                let nj = crate::kernels::dense::norm(qj);
                if ni > 0.0 && nj > 0.0 {
                    t * dot(qi, qj) / (ni * nj)
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Buffers of the fold-in backward pass.
struct FoldWork {
    s: Scratch,
    pre: Vec<Vec<f32>>,
    delta: Vec<f32>,
    next: Vec<f32>,
}

impl FoldWork {
    fn new(m: &NcfScorer) -> Self {
        FoldWork {
            s: Scratch::default(),
            pre: m.mlp.iter().map(|l| vec![0.0; l.n_out]).collect(),
            delta: Vec::new(),
            next: Vec::new(),
        }
    }
}

/// Compact rows of the training set's users and books (see [`super::Factors::user_rows`]).
pub(crate) struct Rows {
    pub user_rows: Vec<u32>,
    pub item_rows: Vec<u32>,
    pub n_users: usize,
    pub n_items: usize,
}

impl Rows {
    pub fn new(train: &Interactions) -> Self {
        let (user_rows, users) = compact_rows(&train.user_counts());
        let (item_rows, items) = compact_rows(&train.item_counts());
        Rows {
            user_rows,
            item_rows,
            n_users: users.len(),
            n_items: items.len(),
        }
    }
}

pub(crate) fn fit(p: &NcfParams, train: &Interactions, progress: &dyn Progress) -> Result<Scorer> {
    #[cfg(feature = "ncf")]
    {
        train::fit(p, train, progress).map(Scorer::Ncf)
    }
    #[cfg(not(feature = "ncf"))]
    {
        let _ = (p, train, progress);
        Err(Error::Invalid(
            "cannot fit ncf: this build of bookrec has no ncf training (cargo feature `ncf`)"
                .into(),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::rng::Rng;

    /// A random scorer with `n_items` books and the given layer sizes.
    pub(crate) fn random_scorer(
        d: usize,
        layers: &[usize],
        n_items: usize,
        seed: u64,
    ) -> NcfScorer {
        let mut rng = Rng::new(seed);
        let mut v =
            |n: usize, s: f32| -> Vec<f32> { (0..n).map(|_| s * rng.normal() as f32).collect() };
        let mut mlp = Vec::new();
        let mut n_in = 2 * d;
        for &n_out in layers {
            mlp.push(Dense {
                n_in,
                n_out,
                w: v(n_in * n_out, 0.4),
                b: v(n_out, 0.2),
            });
            n_in = n_out;
        }
        NcfScorer {
            factors: d,
            user_bias: vec![0.0],
            item_bias: v(n_items, 0.3),
            user_emb: v(2 * d, 0.5),
            item_emb: v(2 * d * n_items, 0.5),
            user_rows: vec![0],
            item_rows: (0..n_items as u32).collect(),
            mlp,
            out: Dense {
                n_in: d + n_in,
                n_out: 1,
                w: v(d + n_in, 0.5),
                b: vec![0.1],
            },
            fold_in_steps: 200,
            fold_in_lr: 0.05,
            fold_in_reg: 0.01,
        }
    }

    #[test]
    fn fold_in_gradient_matches_finite_differences() {
        let m = random_scorer(3, &[5, 4], 6, 1);
        let books: Vec<(usize, f32)> = (0..6).map(|r| (r, 0.5 * r as f32 - 1.0)).collect();
        let w = 6;
        let firsts: Vec<Vec<f32>> = books
            .iter()
            .map(|&(r, _)| {
                let mut f = Vec::new();
                m.item_first(&m.item_emb[r * w..(r + 1) * w], &mut f);
                f
            })
            .collect();
        let mut rng = Rng::new(7);
        let x: Vec<f32> = (0..7).map(|_| 0.5 * rng.normal() as f32).collect();
        let mut ws = FoldWork::new(&m);
        let mut g = vec![0f32; 7];
        m.fold_in_grad(&x, &books, &firsts, &mut ws, &mut g);
        let h = 1e-3f32;
        for j in 0..7 {
            let mut xp = x.clone();
            xp[j] += h;
            let mut xm = x.clone();
            xm[j] -= h;
            let mut scratch = vec![0f32; 7];
            let lp = m.fold_in_grad(&xp, &books, &firsts, &mut ws, &mut scratch);
            let lm = m.fold_in_grad(&xm, &books, &firsts, &mut ws, &mut scratch);
            let num = (lp - lm) / (2.0 * h);
            assert!(
                (num - g[j]).abs() < 2e-2 * (1.0 + num.abs()),
                "coordinate {j}: numeric {num} vs analytic {}",
                g[j]
            );
        }
    }

    #[test]
    fn fold_in_fits_the_readers_ratings() {
        let m = random_scorer(4, &[8], 10, 3);
        // Targets the network can reach: those of a hidden user.
        let hidden = m.user_part(0.7, &m.user_emb[..8].iter().map(|x| -x).collect::<Vec<_>>());
        let books: Vec<(usize, f32)> = (0..10)
            .map(|r| (r, 0.7 + m.interaction_idx(&hidden, r as u32).unwrap()))
            .collect();
        let mse = |u: &NcfUser| {
            books
                .iter()
                .map(|&(r, t)| (u.bias + m.interaction_idx(u, r as u32).unwrap() - t).powi(2))
                .sum::<f32>()
                / 10.0
        };
        let zero = m.user_part(0.0, &[0.0; 8]);
        let folded = m.fold_in(&books);
        assert!(
            mse(&folded) < 0.2 * mse(&zero),
            "{} vs {}",
            mse(&folded),
            mse(&zero)
        );
    }

    #[test]
    fn params_are_checked() {
        NcfParams::default().check().unwrap();
        let bad = [
            NcfParams {
                factors: 0,
                ..Default::default()
            },
            NcfParams {
                layers: vec![],
                ..Default::default()
            },
            NcfParams {
                layers: vec![8, 0],
                ..Default::default()
            },
            NcfParams {
                dropout: 1.0,
                ..Default::default()
            },
            NcfParams {
                lr: 0.0,
                ..Default::default()
            },
            NcfParams {
                val_fraction: 0.9,
                ..Default::default()
            },
            NcfParams {
                batch_size: 0,
                ..Default::default()
            },
            NcfParams {
                reg: f32::NAN,
                ..Default::default()
            },
        ];
        let names = [
            "factors",
            "layers",
            "layers",
            "dropout",
            "lr",
            "val_fraction",
            "batch_size",
            "reg",
        ];
        for (p, want) in bad.iter().zip(names) {
            match p.check() {
                Err(Error::Param { name, .. }) => assert_eq!(name, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[test]
    fn shapes_are_checked() {
        let m = random_scorer(3, &[5, 4], 6, 2);
        assert!(m.shapes_fit());
        let mut bad = m.clone();
        bad.mlp[1].n_in = 4;
        assert!(!bad.shapes_fit());
        let mut bad = m;
        bad.out.w.pop();
        assert!(!bad.shapes_fit());
    }
}
