//! Training of `ncf` with candle (CPU autograd); see the parent module for the model.
//!
//! The embedding tables live in plain Rust memory, not in candle: each mini-batch gathers its
//! users' and books' rows ([b ; p ; p'], 1 + 2d values) into two small leaf tensors, candle
//! computes the loss and its gradient with respect to those rows and to the dense layers, the
//! dense layers take an AdamW step in candle and the gathered rows' gradients are summed per
//! row and applied by a sparse Adam here. A step therefore touches O(batch) rows, where a
//! dense embedding optimiser would sweep all ~250k Book-Crossing rows every step.
//!
//! Determinism: initial weights, the validation split, the batch order and dropout masks
//! come from [`crate::rng::Rng`] with the seed; the gradient sums run in batch order. candle's
//! CPU matmul (gemm) splits work over threads by output block without splitting the sums, so
//! a fit is reproducible for a given seed (the tests check same-seed equality, also on one
//! thread).

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::{Dense, NcfParams, NcfScorer, Rows};
use crate::data::Interactions;
use crate::progress::Progress;
use crate::rng::Rng;
use crate::{Error, Result};

fn candle_err(e: candle_core::Error) -> Error {
    Error::Invalid(format!("ncf training failed: {e}"))
}

/// An embedding table of rows [b ; p ; p'] with sparse-Adam state.
struct Table {
    width: usize,
    data: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    grad: Vec<f32>,
    touched: Vec<u32>,
    is_touched: Vec<bool>,
}

impl Table {
    /// `n` rows: bias 0, embeddings N(0, std²).
    fn new(n: usize, d: usize, std: f32, rng: &mut Rng) -> Self {
        let width = 1 + 2 * d;
        let mut data = vec![0f32; n * width];
        for row in data.chunks_exact_mut(width) {
            for x in &mut row[1..] {
                *x = std * rng.normal() as f32;
            }
        }
        Table {
            width,
            m: vec![0.0; data.len()],
            v: vec![0.0; data.len()],
            grad: vec![0.0; data.len()],
            data,
            touched: Vec::new(),
            is_touched: vec![false; n],
        }
    }

    fn row(&self, r: u32) -> &[f32] {
        let w = self.width;
        &self.data[r as usize * w..(r as usize + 1) * w]
    }

    fn gather(&self, rows: &[u32], out: &mut Vec<f32>) {
        out.clear();
        for &r in rows {
            out.extend_from_slice(self.row(r));
        }
    }

    /// Adds the gradient of each gathered row to its table row.
    fn accumulate(&mut self, rows: &[u32], grad: &[f32]) {
        let w = self.width;
        for (&r, g) in rows.iter().zip(grad.chunks_exact(w)) {
            let r = r as usize;
            if !self.is_touched[r] {
                self.is_touched[r] = true;
                self.touched.push(r as u32);
            }
            for (a, &x) in self.grad[r * w..(r + 1) * w].iter_mut().zip(g) {
                *a += x;
            }
        }
    }

    /// One Adam step (bias-corrected with the global step `t`) on the rows touched since the
    /// last step; other rows and their moments stay as they are ("lazy" Adam).
    fn adam_step(&mut self, lr: f32, t: i32) {
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        let w = self.width;
        for &r in &self.touched {
            let r = r as usize;
            let span = r * w..(r + 1) * w;
            for (((x, m), v), g) in self.data[span.clone()]
                .iter_mut()
                .zip(&mut self.m[span.clone()])
                .zip(&mut self.v[span.clone()])
                .zip(&mut self.grad[span])
            {
                *m = b1 * *m + (1.0 - b1) * *g;
                *v = b2 * *v + (1.0 - b2) * *g * *g;
                *x -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                *g = 0.0;
            }
            self.is_touched[r] = false;
        }
        self.touched.clear();
    }
}

/// A dense layer as candle variables (weight `n_out × n_in`, bias `n_out`).
pub(super) struct Layer {
    pub w: Var,
    pub b: Var,
}

impl Layer {
    /// PyTorch's `Linear` initialisation: U(−1/√n_in, 1/√n_in) for weights and biases.
    fn new(n_in: usize, n_out: usize, rng: &mut Rng, dev: &Device) -> Result<Self> {
        let s = 1.0 / (n_in as f32).sqrt();
        let mut u =
            |n: usize| -> Vec<f32> { (0..n).map(|_| s * (2.0 * rng.next_f32() - 1.0)).collect() };
        let w = Var::from_vec(u(n_in * n_out), (n_out, n_in), dev).map_err(candle_err)?;
        let b = Var::from_vec(u(n_out), n_out, dev).map_err(candle_err)?;
        Ok(Layer { w, b })
    }

    #[cfg(test)]
    pub(super) fn from_dense(l: &Dense, dev: &Device) -> Result<Self> {
        Ok(Layer {
            w: Var::from_vec(l.w.clone(), (l.n_out, l.n_in), dev).map_err(candle_err)?,
            b: Var::from_vec(l.b.clone(), l.n_out, dev).map_err(candle_err)?,
        })
    }

    fn to_dense(&self) -> Result<Dense> {
        let (n_out, n_in) = self.w.dims2().map_err(candle_err)?;
        let flat = |t: &Tensor| -> Result<Vec<f32>> {
            t.flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(candle_err)
        };
        Ok(Dense {
            n_in,
            n_out,
            w: flat(self.w.as_tensor())?,
            b: flat(self.b.as_tensor())?,
        })
    }
}

/// The network (dense layers) in candle.
pub(super) struct Net {
    pub d: usize,
    pub mlp: Vec<Layer>,
    pub out: Layer,
}

impl Net {
    fn vars(&self) -> Vec<Var> {
        let mut v = Vec::new();
        for l in self.mlp.iter().chain(std::iter::once(&self.out)) {
            v.push(l.w.clone());
            v.push(l.b.clone());
        }
        v
    }

    /// The residual r̂ − μ = b_u + b_i + wᵀ[p ⊙ q ; h_L] + c_out for a batch of gathered user
    /// rows `u` and book rows `i` (B × (1 + 2d) each); `masks` are the inverted-dropout masks
    /// (one B × n_out tensor per hidden layer) during training. Returns B values.
    pub(super) fn forward(
        &self,
        u: &Tensor,
        i: &Tensor,
        masks: Option<&[Tensor]>,
    ) -> candle_core::Result<Tensor> {
        let d = self.d;
        let g = (u.narrow(1, 1, d)? * i.narrow(1, 1, d)?)?;
        let mut h = Tensor::cat(&[u.narrow(1, 1 + d, d)?, i.narrow(1, 1 + d, d)?], 1)?;
        for (l, layer) in self.mlp.iter().enumerate() {
            h = h
                .matmul(&layer.w.as_tensor().t()?)?
                .broadcast_add(layer.b.as_tensor())?
                .relu()?;
            if let Some(m) = masks {
                h = (h * &m[l])?;
            }
        }
        let z = Tensor::cat(&[g, h], 1)?;
        let y = z
            .matmul(&self.out.w.as_tensor().t()?)?
            .broadcast_add(self.out.b.as_tensor())?;
        (y + u.narrow(1, 0, 1)? + i.narrow(1, 0, 1)?)?.squeeze(1)
    }
}

/// Splits rating positions into (train, validation): a shuffled pass moves a rating to
/// validation while its user and its book keep at least one other training rating, until
/// `fraction` of the ratings are held out (fewer when the data are too sparse).
fn carve_validation(
    users: &[u32],
    items: &[u32],
    n_users: usize,
    n_items: usize,
    fraction: f32,
    rng: &mut Rng,
) -> (Vec<usize>, Vec<usize>) {
    let n = users.len();
    let want = (n as f64 * fraction as f64).floor() as usize;
    let mut order: Vec<usize> = (0..n).collect();
    if want == 0 {
        return (order, Vec::new());
    }
    rng.shuffle(&mut order);
    let mut uc = vec![0u32; n_users];
    let mut ic = vec![0u32; n_items];
    for (&u, &i) in users.iter().zip(items) {
        uc[u as usize] += 1;
        ic[i as usize] += 1;
    }
    let mut val = Vec::with_capacity(want);
    let mut keep = Vec::with_capacity(n - want);
    for &k in &order {
        let (u, i) = (users[k] as usize, items[k] as usize);
        if val.len() < want && uc[u] > 1 && ic[i] > 1 {
            uc[u] -= 1;
            ic[i] -= 1;
            val.push(k);
        } else {
            keep.push(k);
        }
    }
    keep.sort_unstable();
    val.sort_unstable();
    (keep, val)
}

/// The serving form of the current weights (biases still per compact row).
fn snapshot(net: &Net, users: &Table, items: &Table, p: &NcfParams) -> Result<NcfScorer> {
    let split = |t: &Table| -> (Vec<f32>, Vec<f32>) {
        let mut bias = Vec::with_capacity(t.data.len() / t.width);
        let mut emb = Vec::with_capacity(t.data.len());
        for row in t.data.chunks_exact(t.width) {
            bias.push(row[0]);
            emb.extend_from_slice(&row[1..]);
        }
        (bias, emb)
    };
    let (user_bias, user_emb) = split(users);
    let (item_bias, item_emb) = split(items);
    Ok(NcfScorer {
        factors: net.d,
        user_bias,
        item_bias,
        user_emb,
        item_emb,
        user_rows: Vec::new(),
        item_rows: Vec::new(),
        mlp: net
            .mlp
            .iter()
            .map(Layer::to_dense)
            .collect::<Result<Vec<_>>>()?,
        out: net.out.to_dense()?,
        fold_in_steps: p.fold_in_steps as u32,
        fold_in_lr: FOLD_IN_LR,
        fold_in_reg: p.reg,
    })
}

/// Adam learning rate of fold-in: large enough that `fold_in_steps` ≈ 60 steps converge from
/// zero on embeddings of scale ~0.1–1.
const FOLD_IN_LR: f32 = 0.05;

/// RMSE of a snapshot (compact rows, biases per row) on rating positions `idx`.
fn rmse(s: &NcfScorer, u: &[u32], i: &[u32], resid: &[f32], idx: &[usize]) -> f64 {
    let w = 2 * s.factors;
    let mut scratch = super::Scratch::default();
    let mut se = 0f64;
    for &k in idx {
        let (ur, ir) = (u[k] as usize, i[k] as usize);
        let user = s.user_part(s.user_bias[ur], &s.user_emb[ur * w..(ur + 1) * w]);
        let q = &s.item_emb[ir * w..(ir + 1) * w];
        let y = user.bias + s.item_bias[ir] + s.interaction(&user, q, &mut scratch);
        se += ((y - resid[k]) as f64).powi(2);
    }
    (se / idx.len().max(1) as f64).sqrt()
}

/// Starts b_u and b_i at the regularised baseline estimates (the `baseline` model's ALS with
/// its defaults): with one or two ratings per book, as on Book-Crossing, a book's row meets
/// one Adam step per epoch and its bias would barely leave zero; from the baseline the network
/// only has to learn the residual.
fn init_biases(train: &Interactions, rows: &Rows, users: &mut Table, items: &mut Table) {
    let base = super::super::baseline::fit(
        &super::super::BaselineParams::default(),
        train,
        &crate::progress::NoProgress,
    );
    let super::Scorer::Factors(f) = base else {
        return;
    };
    for (map, bias, table) in [
        (&rows.user_rows, &f.user_bias, users),
        (&rows.item_rows, &f.item_bias, items),
    ] {
        let w = table.width;
        for (&r, &b) in map.iter().zip(bias.iter()) {
            if r != u32::MAX {
                table.data[r as usize * w] = b;
            }
        }
    }
}

/// Random initial network for embedding size `d` and hidden `layers`.
pub(super) fn init_net(d: usize, layers: &[usize], rng: &mut Rng, dev: &Device) -> Result<Net> {
    let mut mlp = Vec::with_capacity(layers.len());
    let mut n_in = 2 * d;
    for &n_out in layers {
        mlp.push(Layer::new(n_in, n_out, rng, dev)?);
        n_in = n_out;
    }
    let out = Layer::new(d + n_in, 1, rng, dev)?;
    Ok(Net { d, mlp, out })
}

pub(super) fn fit(
    p: &NcfParams,
    train: &Interactions,
    progress: &dyn Progress,
) -> Result<NcfScorer> {
    let dev = Device::Cpu;
    let d = p.factors;
    let mu = train.global_mean();
    let rows = Rows::new(train);
    let u: Vec<u32> = train
        .user
        .iter()
        .map(|&x| rows.user_rows[x as usize])
        .collect();
    let i: Vec<u32> = train
        .item
        .iter()
        .map(|&x| rows.item_rows[x as usize])
        .collect();
    let resid: Vec<f32> = train.rating.iter().map(|r| r - mu).collect();

    let mut rng = Rng::new(p.seed);
    let mut users = Table::new(rows.n_users, d, p.init_std, &mut rng);
    let mut items = Table::new(rows.n_items, d, p.init_std, &mut rng);
    init_biases(train, &rows, &mut users, &mut items);
    let net = init_net(d, &p.layers, &mut rng, &dev)?;
    let (fit_idx, val_idx) = carve_validation(
        &u,
        &i,
        rows.n_users,
        rows.n_items,
        p.val_fraction,
        &mut Rng::stream(p.seed, 1),
    );
    let mut opt = AdamW::new(
        net.vars(),
        ParamsAdamW {
            lr: p.lr as f64,
            weight_decay: p.weight_decay as f64,
            ..ParamsAdamW::default()
        },
    )
    .map_err(candle_err)?;

    let bsz = p.batch_size.min(fit_idx.len()).max(1);
    let keep = 1.0 - p.dropout;
    let mut order = fit_idx.clone();
    let (mut ub, mut ib) = (Vec::new(), Vec::new());
    let (mut bu, mut bi, mut bt) = (Vec::new(), Vec::new(), Vec::new());
    let mut step = 0i32;
    let mut best: Option<(f64, NcfScorer)> = None;
    let mut since_best = 0usize;
    let mut last = String::new();
    if !val_idx.is_empty() {
        // The starting point (baseline biases) is a candidate too: never end worse than it.
        let snap = snapshot(&net, &users, &items, p)?;
        best = Some((rmse(&snap, &u, &i, &resid, &val_idx), snap));
    }
    progress.start("ncf epochs", p.epochs as u64);
    for epoch in 0..p.epochs {
        Rng::stream(p.seed, 100 + epoch as u64).shuffle(&mut order);
        let mut mask_rng = Rng::stream(p.seed, 1_000_000 + epoch as u64);
        let mut train_se = 0f64;
        for batch in order.chunks(bsz) {
            let b = batch.len();
            bu.clear();
            bi.clear();
            bt.clear();
            for &k in batch {
                bu.push(u[k]);
                bi.push(i[k]);
                bt.push(resid[k]);
            }
            users.gather(&bu, &mut ub);
            items.gather(&bi, &mut ib);
            let w = users.width;
            let uv = Var::from_vec(std::mem::take(&mut ub), (b, w), &dev).map_err(candle_err)?;
            let iv = Var::from_vec(std::mem::take(&mut ib), (b, w), &dev).map_err(candle_err)?;
            let target = Tensor::from_slice(&bt, b, &dev).map_err(candle_err)?;
            let masks = if p.dropout > 0.0 {
                let mut m = Vec::with_capacity(p.layers.len());
                for &n_out in &p.layers {
                    let vals: Vec<f32> = (0..b * n_out)
                        .map(|_| {
                            if mask_rng.next_f32() < keep {
                                1.0 / keep
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    m.push(Tensor::from_vec(vals, (b, n_out), &dev).map_err(candle_err)?);
                }
                Some(m)
            } else {
                None
            };
            let (grads, se) = (|| -> candle_core::Result<_> {
                let y = net.forward(uv.as_tensor(), iv.as_tensor(), masks.as_deref())?;
                let err = (y - &target)?;
                let se = err.sqr()?.sum_all()?;
                let penalty =
                    (uv.as_tensor().sqr()?.sum_all()? + iv.as_tensor().sqr()?.sum_all()?)?;
                let loss = ((&se + (penalty * p.reg as f64)?)? / b as f64)?;
                let grads = loss.backward()?;
                Ok((grads, se.to_scalar::<f32>()?))
            })()
            .map_err(candle_err)?;
            train_se += se as f64;
            opt.step(&grads).map_err(candle_err)?;
            step += 1;
            for (var, table, rows) in [(&uv, &mut users, &bu), (&iv, &mut items, &bi)] {
                if let Some(g) = grads.get(var.as_tensor()) {
                    let g = g
                        .flatten_all()
                        .and_then(|t| t.to_vec1::<f32>())
                        .map_err(candle_err)?;
                    table.accumulate(rows, &g);
                }
                table.adam_step(p.lr, step);
            }
        }
        let train_rmse = (train_se / order.len().max(1) as f64).sqrt();
        let snap = snapshot(&net, &users, &items, p)?;
        if val_idx.is_empty() {
            last = format!("epoch {}: train rmse {train_rmse:.4}", epoch + 1);
            best = Some((train_rmse, snap));
            progress.message(&last);
            progress.inc(1);
            continue;
        }
        let val = rmse(&snap, &u, &i, &resid, &val_idx);
        last = format!(
            "epoch {}: validation rmse {val:.4} (train {train_rmse:.4})",
            epoch + 1
        );
        progress.message(&last);
        progress.inc(1);
        if best.as_ref().is_none_or(|(b, _)| val < *b) {
            best = Some((val, snap));
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= p.patience {
                break;
            }
        }
    }
    let Some((score, mut s)) = best else {
        return Err(Error::Invalid("cannot fit ncf: no epoch ran".into()));
    };
    progress.finish(&if val_idx.is_empty() {
        last
    } else {
        format!(
            "best validation rmse {score:.4} ({} held out); {last}",
            val_idx.len()
        )
    });
    s.user_bias = spread(&rows.user_rows, &s.user_bias);
    s.item_bias = spread(&rows.item_rows, &s.item_bias);
    s.user_rows = rows.user_rows;
    s.item_rows = rows.item_rows;
    Ok(s)
}

/// A per-row vector spread back over the vocabulary (0 where there is no row).
fn spread(rows: &[u32], compact: &[f32]) -> Vec<f32> {
    rows.iter()
        .map(|&r| compact.get(r as usize).copied().unwrap_or(0.0))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::models::ncf::tests::random_scorer;
    use crate::progress::NoProgress;

    /// The plain-Rust serving forward pass equals candle's on the same weights.
    #[test]
    fn plain_forward_matches_candle() {
        let dev = Device::Cpu;
        let s = random_scorer(5, &[7, 3], 9, 4);
        let net = Net {
            d: 5,
            mlp: s
                .mlp
                .iter()
                .map(|l| Layer::from_dense(l, &dev).unwrap())
                .collect(),
            out: Layer::from_dense(&s.out, &dev).unwrap(),
        };
        let w = 10;
        let ubias = 0.3f32;
        let mut urow = vec![ubias];
        urow.extend_from_slice(&s.user_emb[..w]);
        let (mut uu, mut ii) = (Vec::new(), Vec::new());
        for r in 0..9 {
            uu.extend_from_slice(&urow);
            ii.push(s.item_bias[r]);
            ii.extend_from_slice(&s.item_emb[r * w..(r + 1) * w]);
        }
        let ut = Tensor::from_vec(uu, (9, 11), &dev).unwrap();
        let it = Tensor::from_vec(ii, (9, 11), &dev).unwrap();
        let y = net
            .forward(&ut, &it, None)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let user = s.user_part(ubias, &s.user_emb[..w]);
        for (r, &yc) in y.iter().enumerate() {
            let plain = ubias + s.item_bias[r] + s.interaction_idx(&user, r as u32).unwrap();
            assert!(
                (plain - yc).abs() < 1e-4,
                "book {r}: plain {plain} vs candle {yc}"
            );
        }
    }

    #[test]
    fn validation_keeps_every_user_and_book_in_training() {
        let users: Vec<u32> = (0..200).map(|k| k % 10).collect();
        let items: Vec<u32> = (0..200).map(|k| (k * 7) % 37).collect();
        let (keep, val) = carve_validation(&users, &items, 10, 37, 0.3, &mut Rng::new(1));
        assert_eq!(keep.len() + val.len(), 200);
        assert!(!val.is_empty());
        for u in 0..10 {
            assert!(keep.iter().any(|&k| users[k] == u));
        }
        for i in 0..37 {
            if items.contains(&i) {
                assert!(keep.iter().any(|&k| items[k] == i));
            }
        }
    }

    /// Training lowers the training loss on a tiny problem.
    #[test]
    fn loss_decreases_on_a_tiny_problem() {
        let mut rng = Rng::new(5);
        let mut t = Vec::new();
        for u in 0..30 {
            for b in 0..20 {
                if rng.next_f32() < 0.5 {
                    let r = if (u + b) % 2 == 0 { 9.0 } else { 2.0 };
                    t.push((format!("u{u}"), format!("b{b}"), r));
                }
            }
        }
        let train = Interactions::from_triplets(t, None);
        let mu = train.global_mean();
        let fit_rmse = |epochs: usize| {
            let p = NcfParams {
                factors: 8,
                layers: vec![8],
                epochs,
                batch_size: 32,
                lr: 0.01,
                reg: 0.0,
                val_fraction: 0.0,
                ..Default::default()
            };
            let mut s = fit(&p, &train, &NoProgress).unwrap();
            s.fold_in_steps = 0;
            let se: f32 = (0..train.len())
                .map(|k| {
                    let user = s.known_user(train.user[k], s.user_bias[train.user[k] as usize]);
                    let y = mu
                        + user.bias
                        + s.item_bias[train.item[k] as usize]
                        + s.interaction_idx(&user, train.item[k]).unwrap();
                    (y - train.rating[k]).powi(2)
                })
                .sum();
            (se / train.len() as f32).sqrt()
        };
        let (e1, e5, e30) = (fit_rmse(1), fit_rmse(5), fit_rmse(30));
        assert!(e5 < e1 && e30 < 0.5 * e1, "{e1} {e5} {e30}");
    }
}
