//! Prediction, top-N, similar books, fold-in and explanations: written once for every model,
//! dispatching on the [`Scorer`]; the maths of a new user over each kind of parameters sits
//! next to that model's code (`factor`, `ials`, `knn`, `ncf`).

use std::borrow::Cow;
use std::sync::Arc;

use rayon::prelude::*;

use super::{
    factor, ials, Factors, Fallback, FittedModel, IalsParams, ModelKind, ModelSpec, NcfScorer,
    NcfUser, Prediction, RecommendOptions, ScoredItem, Scorer, ServeCache,
};
use crate::data::{AlignedRatings, Interactions};
use crate::kernels::dense::{dot, norm};
use crate::kernels::topk::TopK;

/// What the scorer needs to know about one user: a known user's stored parameters (borrowed,
/// never cloned) or a new user's folded-in ones.
pub(crate) enum UserCtx<'a> {
    Factors {
        bias: f32,
        p: Cow<'a, [f32]>,
    },
    Knn {
        bias: f32,
        items: Cow<'a, [u32]>,
        ratings: Cow<'a, [f32]>,
    },
    Ncf(NcfUser),
}

/// A user's ratings restricted to books the model knows, sorted by book, one per book.
struct CleanRatings {
    items: Vec<u32>,
    ratings: Vec<f32>,
    /// Every valid book index the caller named (known or not), sorted: excluded from results.
    named: Vec<u32>,
}

impl FittedModel {
    /// Assembles a fitted model from its scorer and the training set it was fitted on.
    pub fn new(
        kind: ModelKind,
        params: serde_json::Value,
        train: &Interactions,
        scorer: Scorer,
    ) -> Self {
        FittedModel {
            kind,
            params,
            users: train.users.clone(),
            items: train.items.clone(),
            scale: train.scale,
            global_mean: train.global_mean(),
            seen: train.by_user(),
            item_popularity: train.item_counts(),
            scorer,
            cache: ServeCache::default(),
        }
    }

    /// True if `user` has training ratings.
    pub fn knows_user(&self, user: u32) -> bool {
        (user as usize) < self.seen.n_rows() && self.seen.row_len(user as usize) > 0
    }

    /// True if `item` has training ratings.
    pub fn knows_item(&self, item: u32) -> bool {
        self.item_popularity
            .get(item as usize)
            .is_some_and(|&c| c > 0)
    }

    /// The constant every score starts from: μ for rating models, 0 for preference scores
    /// ([`ModelKind::predicts_ratings`]).
    fn offset(&self) -> f32 {
        if self.kind.predicts_ratings() {
            self.global_mean
        } else {
            0.0
        }
    }

    /// A raw score as returned: clipped to the rating scale for rating models, as is for
    /// preference scores (clipping them would make every score the scale's minimum); a
    /// non-finite score becomes the offset.
    fn output(&self, raw: f32) -> f32 {
        let raw = if raw.is_finite() { raw } else { self.offset() };
        if self.kind.predicts_ratings() {
            self.scale.clip(raw)
        } else {
            raw
        }
    }

    /// ials parameters (fold-in weights) from the stored hyper-parameters.
    fn ials_params(&self) -> Option<IalsParams> {
        match serde_json::from_value::<ModelSpec>(self.params.clone()) {
            Ok(ModelSpec::Ials(p)) => Some(p),
            _ => None,
        }
    }

    /// ials: YᵀY + λI over the book factors (cached on first use).
    fn ials_gram(&self, f: &Factors) -> &[f32] {
        self.cache.gram.get_or_init(|| ials::fold_in_gram(f))
    }

    fn biases(&self) -> (&[f32], &[f32]) {
        match &self.scorer {
            Scorer::Factors(f) => (&f.user_bias, &f.item_bias),
            Scorer::Knn(k) => (&k.user_bias, &k.item_bias),
            Scorer::Ncf(n) => (&n.user_bias, &n.item_bias),
        }
    }

    fn user_bias(&self, user: u32) -> f32 {
        self.biases().0.get(user as usize).copied().unwrap_or(0.0)
    }

    fn item_bias(&self, item: u32) -> f32 {
        self.biases().1.get(item as usize).copied().unwrap_or(0.0)
    }

    /// The bias of a user without training ratings: their stored bias for models that learn
    /// one from side information ([`ModelKind::has_cold_biases`]), else 0.
    fn cold_user_bias(&self, user: Option<u32>) -> f32 {
        match user {
            Some(u) if self.kind.has_cold_biases() && !self.knows_user(u) => self.user_bias(u),
            _ => 0.0,
        }
    }

    /// The bias of a book without training ratings, as [`Self::cold_user_bias`].
    fn cold_item_bias(&self, item: Option<u32>) -> f32 {
        match item {
            Some(i) if self.kind.has_cold_biases() && !self.knows_item(i) => self.item_bias(i),
            _ => 0.0,
        }
    }

    /// The stored parameters of a known user.
    fn known_ctx(&self, user: u32) -> UserCtx<'_> {
        let bias = self.user_bias(user);
        match &self.scorer {
            Scorer::Factors(f) => UserCtx::Factors {
                bias,
                p: Cow::Borrowed(f.user_vec(user).unwrap_or_default()),
            },
            Scorer::Knn(_) => {
                let (items, ratings) = self.seen.row(user as usize);
                UserCtx::Knn {
                    bias,
                    items: Cow::Borrowed(items),
                    ratings: Cow::Borrowed(ratings),
                }
            }
            Scorer::Ncf(n) => UserCtx::Ncf(n.known_user(user, bias)),
        }
    }

    /// r̂ before clipping, for a known item.
    #[inline]
    fn raw_score(&self, ctx: &UserCtx, item: u32) -> f32 {
        let base = self.offset() + self.item_bias(item);
        match (ctx, &self.scorer) {
            (UserCtx::Factors { bias, p }, Scorer::Factors(f)) => {
                let inter = match f.item_vec(item) {
                    Some(q) if q.len() == p.len() => dot(p, q),
                    _ => 0.0,
                };
                base + bias + inter
            }
            (
                UserCtx::Knn {
                    bias,
                    items,
                    ratings,
                },
                Scorer::Knn(k),
            ) => base + bias + k.neighbourhood_term(self.global_mean, *bias, items, ratings, item),
            (UserCtx::Ncf(c), Scorer::Ncf(n)) => {
                base + c.bias + n.interaction_idx(c, item).unwrap_or(0.0)
            }
            _ => base,
        }
    }

    /// Predicts r̂(u,i) for indices in this model's vocabularies; `None` = unknown. Clipped to
    /// the scale; unknown users/books fall back to biases / μ (the one place this is decided):
    /// unknown user → μ + b_i, unknown book → μ + b_u, both → μ. "Unknown" means "no training
    /// ratings" (vocabularies are shared with the full data set, so an index alone says
    /// nothing); indices outside the vocabulary are unknown too. A ranking model (ials) returns
    /// its preference score unclipped, with 0 for unknowns (see [`ModelKind::predicts_ratings`]).
    /// Models with side-information biases ([`ModelKind::has_cold_biases`], `hybrid`) add the
    /// bias they learned for the unknown user or book (0 if it had no side information).
    pub fn predict_idx(&self, user: Option<u32>, item: Option<u32>) -> Prediction {
        let (cold_u, cold_i) = (self.cold_user_bias(user), self.cold_item_bias(item));
        let user = user.filter(|&u| self.knows_user(u));
        let item = item.filter(|&i| self.knows_item(i));
        let mu = self.offset();
        let (raw, fallback) = match (user, item) {
            (Some(u), Some(i)) => (self.raw_score(&self.known_ctx(u), i), Fallback::None),
            (None, Some(i)) => (mu + cold_u + self.item_bias(i), Fallback::UnknownUser),
            (Some(u), None) => (mu + self.user_bias(u) + cold_i, Fallback::UnknownItem),
            (None, None) => (mu + cold_u + cold_i, Fallback::UnknownBoth),
        };
        Prediction {
            value: self.output(raw),
            fallback,
        }
    }

    /// Predicts for raw ids.
    pub fn predict(&self, user_id: &str, item_id: &str) -> Prediction {
        self.predict_idx(self.users.get(user_id), self.items.get(item_id))
    }

    /// Predicts a whole aligned test set (in parallel, order preserved).
    pub fn predict_all(&self, test: &AlignedRatings) -> Vec<Prediction> {
        test.user
            .par_iter()
            .zip(test.item.par_iter())
            .with_min_len(1024)
            .map(|(&u, &i)| self.predict_idx(u, i))
            .collect()
    }

    /// Items with training ratings, most popular first (cached on first use).
    fn by_popularity(&self) -> &[u32] {
        self.cache.by_popularity.get_or_init(|| {
            let mut v: Vec<u32> = (0..self.item_popularity.len() as u32)
                .filter(|&i| self.item_popularity[i as usize] > 0)
                .collect();
            v.sort_by(|&a, &b| {
                self.item_popularity[b as usize]
                    .cmp(&self.item_popularity[a as usize])
                    .then(a.cmp(&b))
            });
            v
        })
    }

    /// The candidate books for `min_support`, in index order (= factor row order, so scoring
    /// streams through memory), built once per `min_support` value and cached.
    fn candidates(&self, min_support: u32) -> Arc<Vec<u32>> {
        const MAX_CACHED: usize = 16;
        let need = min_support.max(1);
        let build = || {
            Arc::new(
                (0..self.item_popularity.len() as u32)
                    .filter(|&i| self.item_popularity[i as usize] >= need)
                    .collect::<Vec<u32>>(),
            )
        };
        let Ok(mut cache) = self.cache.candidates.lock() else {
            return build();
        };
        if let Some((_, list)) = cache.iter().find(|(m, _)| *m == need) {
            return list.clone();
        }
        let list = build();
        if cache.len() < MAX_CACHED {
            cache.push((need, list.clone()));
        }
        list
    }

    /// The most popular books for `min_support`: a prefix of [`Self::by_popularity`].
    fn popular_prefix(&self, min_support: u32) -> &[u32] {
        let order = self.by_popularity();
        let need = min_support.max(1);
        let m = order.partition_point(|&i| self.item_popularity[i as usize] >= need);
        &order[..m]
    }

    /// Top-`n` of r̂ over the candidates, skipping the sorted `exclude` list. Scores are
    /// ranked unclipped (clipping would tie everything above the scale) and returned clipped.
    fn rank(
        &self,
        ctx: &UserCtx,
        exclude: &[u32],
        n: usize,
        opts: &RecommendOptions,
    ) -> Vec<ScoredItem> {
        let cands = self.candidates(opts.min_support);
        let mut top = TopK::new(n);
        let mut offer = |i: u32, s: f32| {
            if top.accepts(i, s) && exclude.binary_search(&i).is_err() {
                top.push(i, s);
            }
        };
        match (ctx, &self.scorer) {
            (
                UserCtx::Knn {
                    bias,
                    items,
                    ratings,
                },
                Scorer::Knn(k),
            ) => k.score_candidates(self.global_mean, *bias, items, ratings, &cands, &mut offer),
            (UserCtx::Ncf(c), Scorer::Ncf(nc)) => nc.score_candidates(c, &cands, &mut |i, y| {
                offer(i, self.global_mean + self.item_bias(i) + c.bias + y)
            }),
            _ => {
                for &i in cands.iter() {
                    offer(i, self.raw_score(ctx, i));
                }
            }
        }
        top.into_sorted()
            .into_iter()
            .map(|(item, s)| ScoredItem {
                item,
                score: self.output(s),
            })
            .collect()
    }

    /// Top-`n` books for `user`, best first, scored by predicted rating (clipped; a preference
    /// score for ials, see [`ModelKind::predicts_ratings`]). Only books
    /// with `opts.min_support` training ratings are candidates; the user's training books are
    /// excluded if `opts.exclude_seen`. A user without training ratings gets
    /// [`Self::popular`] order scored by the fallback prediction μ + b_i.
    pub fn recommend(&self, user: u32, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem> {
        if !self.knows_user(user) {
            return self.popular_fallback(n, opts);
        }
        let exclude = if opts.exclude_seen {
            self.seen.row(user as usize).0
        } else {
            &[]
        };
        self.rank(&self.known_ctx(user), exclude, n, opts)
    }

    fn popular_fallback(&self, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem> {
        self.popular(n, opts)
            .into_iter()
            .map(|s| ScoredItem {
                item: s.item,
                score: self.predict_idx(None, Some(s.item)).value,
            })
            .collect()
    }

    /// Keeps ratings of known books (finite values), sorted by book; a book named twice keeps
    /// its last rating.
    fn clean(&self, ratings: &[(u32, f32)]) -> CleanRatings {
        let mut named: Vec<u32> = ratings
            .iter()
            .map(|r| r.0)
            .filter(|&i| (i as usize) < self.item_popularity.len())
            .collect();
        named.sort_unstable();
        named.dedup();
        let mut pairs: Vec<(usize, u32, f32)> = ratings
            .iter()
            .enumerate()
            .filter(|(_, (i, r))| self.knows_item(*i) && r.is_finite())
            .map(|(pos, &(i, r))| (pos, i, r))
            .collect();
        pairs.sort_by_key(|&(pos, i, _)| (i, std::cmp::Reverse(pos)));
        pairs.dedup_by_key(|p| p.1);
        CleanRatings {
            items: pairs.iter().map(|p| p.1).collect(),
            ratings: pairs.iter().map(|p| p.2).collect(),
            named,
        }
    }

    /// `als`: the absolute L2 weight of the user bias, fitted before the factors (`reg_u`).
    /// `None` for other models and for `als` files written before the biases were a separate
    /// stage (their biases and factors were fitted jointly, and so is their fold-in).
    fn als_bias_reg(&self) -> Option<f32> {
        if self.kind != ModelKind::Als {
            return None;
        }
        let reg_u = self.params.get("reg_u")?.as_f64()? as f32;
        (reg_u.is_finite() && reg_u >= 0.0).then_some(reg_u)
    }

    /// Folds a new user's cleaned ratings into the model (no retraining).
    fn fold_in(&self, clean: &CleanRatings) -> UserCtx<'static> {
        match &self.scorer {
            Scorer::Factors(f) if !self.kind.predicts_ratings() => {
                let x = match self.ials_params() {
                    Some(p) => ials::fold_in(
                        &p,
                        f,
                        self.ials_gram(f),
                        self.scale,
                        &clean.items,
                        &clean.ratings,
                    ),
                    None => vec![0f32; f.k],
                };
                UserCtx::Factors {
                    bias: 0.0,
                    p: Cow::Owned(x),
                }
            }
            Scorer::Factors(f) => {
                let (bias, x) = factor::fold_in(
                    f,
                    self.global_mean,
                    self.als_bias_reg(),
                    &clean.items,
                    &clean.ratings,
                );
                UserCtx::Factors {
                    bias,
                    p: Cow::Owned(x),
                }
            }
            Scorer::Knn(k) => UserCtx::Knn {
                bias: k.fold_in_bias(self.global_mean, &clean.items, &clean.ratings),
                items: Cow::Owned(clean.items.clone()),
                ratings: Cow::Owned(clean.ratings.clone()),
            },
            Scorer::Ncf(n) => UserCtx::Ncf(n.fold_in(&self.ncf_books(n, clean).1)),
        }
    }

    /// The rated books an ncf model has embeddings for: their positions in `clean.items` and
    /// (embedding row, r − μ − b_i) pairs.
    fn ncf_books(&self, n: &NcfScorer, clean: &CleanRatings) -> (Vec<usize>, Vec<(usize, f32)>) {
        clean
            .items
            .iter()
            .zip(&clean.ratings)
            .enumerate()
            .filter_map(|(pos, (&i, &r))| {
                let row = n.item_row(i)?;
                Some((pos, (row, r - self.global_mean - self.item_bias(i))))
            })
            .unzip()
    }

    /// Top-`n` books for a new user given only their ratings `(book index, rating)` (fold-in:
    /// no retraining). ials solves its one-row implicit least-squares problem (see
    /// [`IalsParams`]; ratings within the scale count as explicit interactions, anything else,
    /// e.g. 0, as implicit ones). Other factor models solve the ridge regression
    /// [b_u, p_u] = (ZᵀZ + λI)⁻¹Zᵀ(r − μ − b_i) with rows z_i = [1, q_i] (see [`Factors`]);
    /// knn uses the ratings directly with b_u = Σ(r − μ − b_i)/(reg_u + n). Every book the
    /// ratings name is excluded; books the model does not know are ignored. With no usable
    /// ratings this is [`Self::popular`] order scored by μ + b_i.
    pub fn recommend_for_ratings(
        &self,
        ratings: &[(u32, f32)],
        n: usize,
        opts: &RecommendOptions,
    ) -> Vec<ScoredItem> {
        let clean = self.clean(ratings);
        if clean.items.is_empty() {
            return self
                .popular_fallback(n + clean.named.len(), opts)
                .into_iter()
                .filter(|s| clean.named.binary_search(&s.item).is_err())
                .take(n)
                .collect();
        }
        let ctx = self.fold_in(&clean);
        self.rank(&ctx, &clean.named, n, opts)
    }

    /// Predicts a book for a new user given only their ratings (fold-in, as
    /// [`Self::recommend_for_ratings`]); unknown book → μ + b_u.
    pub fn predict_for_ratings(&self, ratings: &[(u32, f32)], item: u32) -> Prediction {
        self.predict_items_for_ratings(ratings, &[item])
            .pop()
            .unwrap_or_else(|| self.predict_idx(None, Some(item)))
    }

    /// [`Self::predict_for_ratings`] for several books, folding the ratings in once (one
    /// solve, not one per book); one prediction per entry of `items`, in order.
    pub fn predict_items_for_ratings(
        &self,
        ratings: &[(u32, f32)],
        items: &[u32],
    ) -> Vec<Prediction> {
        let clean = self.clean(ratings);
        if clean.items.is_empty() {
            return items
                .iter()
                .map(|&i| self.predict_idx(None, Some(i)))
                .collect();
        }
        let ctx = self.fold_in(&clean);
        let bias = match &ctx {
            UserCtx::Factors { bias, .. } | UserCtx::Knn { bias, .. } => *bias,
            UserCtx::Ncf(c) => c.bias,
        };
        items
            .iter()
            .map(|&item| {
                let (raw, fallback) = if self.knows_item(item) {
                    (self.raw_score(&ctx, item), Fallback::None)
                } else {
                    let raw = self.offset() + bias + self.cold_item_bias(Some(item));
                    (raw, Fallback::UnknownItem)
                };
                Prediction {
                    value: self.output(raw),
                    fallback,
                }
            })
            .collect()
    }

    /// The `n` books most similar to `item`, most similar first, among books with at least
    /// [`RecommendOptions::default`]`.min_support` training ratings (see
    /// [`Self::similar_with`]).
    pub fn similar(&self, item: u32, n: usize) -> Vec<ScoredItem> {
        self.similar_with(item, n, &RecommendOptions::default())
    }

    /// The `n` books most similar to `item` among books with `opts.min_support` training
    /// ratings. Factor models: cosine of the item factors q_i (books with a zero vector are
    /// skipped). knn: the stored neighbour list (shrunk similarity). Bias-only models (mean,
    /// baseline) have no notion of similarity and return an empty list. Unknown books: empty.
    pub fn similar_with(&self, item: u32, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem> {
        if !self.knows_item(item) || n == 0 {
            return Vec::new();
        }
        let need = opts.min_support.max(1);
        let mut top = TopK::new(n);
        match &self.scorer {
            Scorer::Factors(f) if f.k > 0 => {
                let norms = self.item_norms(&f.item_factors, f.k);
                let vec_of = |i| Some((f.item_row(i)?, f.item_vec(i)?));
                self.cosine_top(item, need, norms, vec_of, &mut top);
            }
            Scorer::Factors(_) => return Vec::new(),
            // Cosine of the concatenated item embeddings [q_i ; q'_i].
            Scorer::Ncf(nc) => {
                let norms = self.item_norms(&nc.item_emb, 2 * nc.factors);
                let vec_of = |i| Some((nc.item_row(i)?, nc.item_vec(i)?));
                self.cosine_top(item, need, norms, vec_of, &mut top);
            }
            Scorer::Knn(k) => {
                let (js, ss) = k.neighbours.row(item as usize);
                for (&j, &s) in js.iter().zip(ss) {
                    if self
                        .item_popularity
                        .get(j as usize)
                        .is_some_and(|&c| c >= need)
                    {
                        top.push(j, s);
                    }
                }
            }
        }
        top.into_sorted()
            .into_iter()
            .map(|(item, score)| ScoredItem { item, score })
            .collect()
    }

    /// How similar books `a` and `b` are in the model's own item space, on the scale of
    /// [`Self::similar_with`]: factor models and ncf the cosine of the item vectors (0 when
    /// either is zero), knn the stored similarity (0 when neither is among the other's kept
    /// neighbours). `None` when the model has no notion of similarity (mean, baseline) or
    /// does not know a book.
    pub fn item_similarity(&self, a: u32, b: u32) -> Option<f32> {
        if !self.knows_item(a) || !self.knows_item(b) {
            return None;
        }
        let cosine = |x: &[f32], y: &[f32]| {
            let n = norm(x) * norm(y);
            if n > 0.0 {
                dot(x, y) / n
            } else {
                0.0
            }
        };
        match &self.scorer {
            Scorer::Factors(f) if f.k > 0 => Some(cosine(f.item_vec(a)?, f.item_vec(b)?)),
            Scorer::Factors(_) => None,
            Scorer::Ncf(nc) => Some(cosine(nc.item_vec(a)?, nc.item_vec(b)?)),
            Scorer::Knn(k) => {
                let stored = |x: u32, y: u32| {
                    let (js, ss) = k.neighbours.row(x as usize);
                    js.iter().position(|&j| j == y).map(|p| ss[p])
                };
                Some(stored(a, b).or_else(|| stored(b, a)).unwrap_or(0.0))
            }
        }
    }

    /// Offers every candidate book j ≠ `item` with cosine(v_item, v_j) to `top`, where
    /// `vec_of` gives a book's (row, vector) and `norms` the norm of each row (zero vectors are
    /// skipped).
    fn cosine_top<'a>(
        &self,
        item: u32,
        need: u32,
        norms: &[f32],
        vec_of: impl Fn(u32) -> Option<(usize, &'a [f32])>,
        top: &mut TopK,
    ) {
        let Some((r, q)) = vec_of(item) else {
            return;
        };
        let qn = norms[r];
        if qn <= 0.0 {
            return;
        }
        for &j in self.candidates(need).iter() {
            let Some((jr, qj)) = vec_of(j) else {
                continue;
            };
            let jn = norms[jr];
            if j == item || jn <= 0.0 {
                continue;
            }
            top.push(j, dot(q, qj) / (qn * jn));
        }
    }

    /// ‖row‖ of each row of `m` (stride `width`), cached on first use.
    fn item_norms(&self, m: &[f32], width: usize) -> &[f32] {
        self.cache
            .item_norms
            .get_or_init(|| m.par_chunks(width.max(1)).map(norm).collect())
    }

    /// The `n` most-rated books with at least `opts.min_support` training ratings, scored by
    /// their number of training ratings.
    pub fn popular(&self, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem> {
        self.popular_prefix(opts.min_support)
            .iter()
            .take(n)
            .map(|&i| ScoredItem {
                item: i,
                score: self.item_popularity[i as usize] as f32,
            })
            .collect()
    }

    /// The user's rated books that contribute most to the score of `item` ("because you rated
    /// X highly"), largest contribution first; only positive contributions. See
    /// [`Self::explain_for_ratings`]. Unknown user or book: empty.
    pub fn explain(&self, user: u32, item: u32, n: usize) -> Vec<ScoredItem> {
        if !self.knows_user(user) {
            return Vec::new();
        }
        let (items, ratings) = self.seen.row(user as usize);
        let pairs: Vec<(u32, f32)> = items.iter().copied().zip(ratings.iter().copied()).collect();
        self.explain_for_ratings(&pairs, item, n)
    }

    /// Decomposes the personal part of the predicted score of `item` for a user with
    /// `ratings` into one additive contribution per rated book, largest positive first. The
    /// personal part is the score minus μ + b_u + b_i: the reader's bias b_u is the same for
    /// every book, so it explains how generous the reader is, not why this book, and is left
    /// out. Factor models: with the fold-in solution x = [b_u, p_u] = A⁻¹Σ_j z_j t_j
    /// (A = ZᵀZ + λI, z_j = [1, q_j], t_j = r_j − μ − b_j), book j contributes
    /// (A⁻¹[0, q_i])·z_j · t_j to q_i·p_u — exact for the fold-in estimate, an explanation (not
    /// the SGD-trained vector) for known users; `als` (bias first, then factors on t − b_u):
    /// (w·q_j − Σ_l w·q_l/(reg_u + n)) · t_j with w = A⁻¹q_i, A = QᵀQ + λI. knn: the neighbour
    /// term s_ij(r_j − b_uj)/Σ|s| over the neighbours used. ials: c_j·(A⁻¹y_i)ᵀy_j with
    /// A = YᵀY + λI + Σ_j (c_j − 1)y_jy_jᵀ (Hu et al. 2008, §5), exact for the fold-in
    /// estimate. ncf (not additive): (t_j − t̄)·cos(e_i, e_j), see `NcfScorer::contributions`.
    /// Mean model: empty.
    pub fn explain_for_ratings(
        &self,
        ratings: &[(u32, f32)],
        item: u32,
        n: usize,
    ) -> Vec<ScoredItem> {
        if !self.knows_item(item) || n == 0 {
            return Vec::new();
        }
        let clean = self.clean(ratings);
        if clean.items.is_empty() {
            return Vec::new();
        }
        let contributions: Vec<f32> = match &self.scorer {
            Scorer::Factors(f) if !self.kind.predicts_ratings() => {
                let Some(p) = self.ials_params() else {
                    return Vec::new();
                };
                ials::contributions(
                    &p,
                    f,
                    self.ials_gram(f),
                    self.scale,
                    &clean.items,
                    &clean.ratings,
                    item,
                )
            }
            Scorer::Factors(f) => {
                let Some(c) = factor::contributions(
                    f,
                    self.global_mean,
                    self.als_bias_reg(),
                    &clean.items,
                    &clean.ratings,
                    item,
                ) else {
                    return Vec::new();
                };
                c
            }
            Scorer::Knn(k) => k.contributions(self.global_mean, &clean.items, &clean.ratings, item),
            Scorer::Ncf(nc) => {
                let (used, mut books) = self.ncf_books(nc, &clean);
                // Deviations from the reader's own mean deviation: a lenient reader's every
                // book is not a reason.
                let mean = books.iter().map(|b| b.1).sum::<f32>() / books.len().max(1) as f32;
                books.iter_mut().for_each(|b| b.1 -= mean);
                let mut c = vec![0f32; clean.items.len()];
                for (pos, v) in used.into_iter().zip(nc.contributions(item, &books)) {
                    c[pos] = v;
                }
                c
            }
        };
        let mut top = TopK::new(n);
        for (j, c) in contributions.into_iter().enumerate() {
            if c > 0.0 {
                top.push(clean.items[j], c);
            }
        }
        top.into_sorted()
            .into_iter()
            .map(|(item, score)| ScoredItem { item, score })
            .collect()
    }
}
