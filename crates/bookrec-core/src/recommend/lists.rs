//! The rules every list of books obeys (pages, API, CLI, Python; known, new and unknown
//! readers; similar books), in one place.
//!
//! A list holds works ([`Works`]), each shown as its representative edition (the one readers
//! know best, never an obscure book-club edition when readers know the paperback) at the
//! place of its best-ranked edition, with that edition's score: a work ranks as high as any
//! of its editions. A candidate edition is admitted ([`WorkFilter::admit`]) only when
//! - its work's representative has a catalogue entry, when a catalogue was given, unless
//!   uncatalogued books are asked for (`--include-uncatalogued`,
//!   `?include_uncatalogued=true`, `include_uncatalogued=True`): a book shown as
//!   "Book 8826703132 · unknown author" means nothing to a reader, and
//! - its work is not one the reader already has (any edition they rated or interacted with)
//!   nor one already listed; for similar books, the book's own work is "had".
//!
//! Lists are still filled to `n`: [`WorkFilter::top`] fetches the ranking deeper until `n`
//! books pass or the ranking ends.
//!
//! An unknown reader's popular list ranks works by a damped (Bayesian) mean of their ratings
//! ([`WorkLists::popular`]), not by how often they were rated.

use rustc_hash::FxHashSet;

use crate::data::{Catalog, Works};
use crate::models::{FittedModel, RecommendOptions, ScoredItem};

/// How the popular list damps a work's mean rating towards the mean of all ratings.
///
/// score(w) = (Σ_{r ∈ R_w} r + m·μ) / (|R_w| + m), with R_w the explicit ratings of any edition
/// of w, μ the mean of all explicit ratings and m = `prior_weight`: a work rated 9 by two
/// readers scores close to μ, one rated 9 by two hundred close to 9. Works with fewer than
/// `min_count` ratings come after all others (they fill the list only when nothing else can).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PopularRule {
    pub prior_weight: f32,
    pub min_count: u32,
}

impl Default for PopularRule {
    /// m = 10 prior ratings and at least 10 ratings: on Book-Crossing this keeps every work
    /// rated below 6/10 on average out of the top 10 (README, "Works").
    fn default() -> Self {
        PopularRule {
            prior_weight: 10.0,
            min_count: 10,
        }
    }
}

/// The works of one model's books and its popular list, built once per model and catalogue.
#[derive(Clone, Debug)]
pub struct WorkLists {
    pub works: Works,
    /// Representative editions of all works with explicit ratings, best first, scored by
    /// the damped mean of [`PopularRule`].
    popular: Vec<ScoredItem>,
    /// Training ratings of each book (the model's counts; for `min_support`).
    counts: Vec<u32>,
}

impl WorkLists {
    /// Works of `model`'s books from `catalog` (empty: ISBN forms only, nothing counts as
    /// uncatalogued) and the popular list by [`PopularRule::default`].
    pub fn new(model: &FittedModel, catalog: &Catalog) -> Self {
        Self::with_rule(model, catalog, PopularRule::default())
    }

    pub fn with_rule(model: &FittedModel, catalog: &Catalog, rule: PopularRule) -> Self {
        let counts = model.item_popularity.clone();
        let works = Works::build(catalog, &model.items, &counts);
        let n_works = works.n_works();
        let (mut sum, mut count) = (vec![0f64; n_works], vec![0u32; n_works]);
        // Explicit ratings only: ranking models keep implicit interactions (below the scale)
        // in `seen` too, and they say nothing about liking.
        for u in 0..model.seen.n_rows() {
            let (items, values) = model.seen.row(u);
            for (&i, &r) in items.iter().zip(values) {
                if let (Some(w), true) = (works.work_of(i), model.scale.contains(r)) {
                    sum[w as usize] += f64::from(r);
                    count[w as usize] += 1;
                }
            }
        }
        let total: u64 = count.iter().map(|&c| u64::from(c)).sum();
        let mu = if total == 0 {
            0.0
        } else {
            sum.iter().sum::<f64>() / total as f64
        };
        let m = f64::from(rule.prior_weight.max(0.0));
        let mut ranked: Vec<(bool, f64, u32)> = (0..n_works)
            .filter(|&w| count[w] > 0)
            .map(|w| {
                let damped = (sum[w] + m * mu) / (f64::from(count[w]) + m);
                (
                    count[w] >= rule.min_count,
                    damped,
                    works.representative(w as u32),
                )
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        WorkLists {
            popular: ranked
                .into_iter()
                .map(|(_, score, item)| ScoredItem {
                    item,
                    score: score as f32,
                })
                .collect(),
            works,
            counts,
        }
    }

    /// A filter for one list: `had` are the reader's books (rated or interacted; for similar
    /// books, the book itself), in the model's indices.
    pub fn filter(&self, had: &[u32], include_uncatalogued: bool) -> WorkFilter<'_> {
        WorkFilter {
            works: &self.works,
            include_uncatalogued,
            taken: had.iter().filter_map(|&i| self.works.work_of(i)).collect(),
        }
    }

    /// (books, works) lists can hold (see [`Works::listable`]).
    pub fn listable(&self, include_uncatalogued: bool) -> (usize, usize) {
        self.works.listable(&self.counts, include_uncatalogued)
    }

    /// The top-`n` popular works that `filter` admits and whose edition has at least
    /// `opts.min_support` training ratings, scored by the damped mean of [`PopularRule`].
    pub fn popular(
        &self,
        n: usize,
        opts: &RecommendOptions,
        mut filter: WorkFilter<'_>,
    ) -> Vec<ScoredItem> {
        let need = opts.min_support.max(1);
        self.popular
            .iter()
            .filter(|s| self.counts.get(s.item as usize).is_some_and(|&c| c >= need))
            .filter_map(|s| filter.listed(s))
            .take(n)
            .collect()
    }
}

/// A reason ("because you rated X highly") must carry at least this share of the positive
/// contributions to the personal part of the book's score: one of twenty books that each
/// raise it a little is not a reason, and none is shown rather than a weak one. The share is
/// low because the similarity minimum below does the sorting: a reader with fifty books of
/// one kind spreads the score over all of them (Book-Crossing reader 276847's German novels
/// carry 5–10% each), and the strongest of them is still the reason. At the former 10% share
/// without a similarity minimum, 455 of the 600 top-10 items of 60 Book-Crossing readers (svd)
/// named a reason, and they read as arbitrary.
pub const MIN_REASON_SHARE: f32 = 0.05;

/// A reason must also be similar to the recommended book in the model's own item space
/// ([`crate::models::FittedModel::item_similarity`]: the cosine of the item vectors for factor
/// models, the stored neighbour similarity for knn) by at least this much, so that it reads as
/// "readers who liked X like this". Measured on Book-Crossing (top-10 of 60 readers, the other
/// rules applied, README "Works"): ials reasons between 0.2 and 0.4 are often loose (*The
/// Lovely Bones* "because you rated *Harry Potter*"), those above read as real; svd's factors
/// carry little topical signal there (median cosine of a contributing book 0.02), its reasons
/// at 0.2 all read as arbitrary, and none reach 0.4. On the demo data every svd and ials
/// reason at 0.4 shares the book's planted genre; at 0.2, 12 of svd's 31 did not.
pub const MIN_REASON_SIMILARITY: f32 = 0.4;

impl WorkLists {
    /// The reader's works that most raise a book's score, strongest first, at most `n`:
    /// `contributions` are the model's per-rated-book contributions to that score (all of
    /// them, e.g. `FittedModel::explain_for_ratings` with n = the number of ratings; only
    /// positive ones count), `ratings` the reader's ratings, `high` the lowest rating that is
    /// "rated highly", `min_support` the fewest training ratings a named edition needs (the
    /// serving minimum for a recommendable book: the vector of a book two readers rated is
    /// mostly the regulariser's, and its similarity to anything is noise) and
    /// `similarity(rated)` how similar a rated edition is to the book (`None`: the model
    /// cannot tell, and nothing is a reason). Editions of one work pool their contributions
    /// and are named by the edition that contributes most; a work is a reason only if that
    /// edition is catalogued (has a title to name it by; any book without a catalogue), was
    /// rated at least `high`, has `min_support` training ratings, is at least
    /// [`MIN_REASON_SIMILARITY`] similar to the book, and the work carries at least
    /// [`MIN_REASON_SHARE`] of all positive contributions. A book that lowers the score is
    /// never named. Returns (edition, the reader's rating of it).
    pub fn reasons(
        &self,
        contributions: &[ScoredItem],
        ratings: &[(u32, f32)],
        high: f32,
        min_support: u32,
        similarity: impl Fn(u32) -> Option<f32>,
        n: usize,
    ) -> Vec<(u32, f32)> {
        let positive = || contributions.iter().filter(|c| c.score > 0.0);
        let total: f32 = positive().map(|c| c.score).sum();
        if total <= 0.0 || !total.is_finite() {
            return Vec::new();
        }
        // work → (pooled contribution, edition contributing most, its contribution)
        let mut by_work: rustc_hash::FxHashMap<u32, (f32, u32, f32)> = Default::default();
        for c in positive() {
            let work = self.works.work_of(c.item).unwrap_or(u32::MAX - c.item);
            let e = by_work.entry(work).or_insert((0.0, c.item, c.score));
            e.0 += c.score;
            if c.score > e.2 {
                (e.1, e.2) = (c.item, c.score);
            }
        }
        let rating_of = |item: u32| ratings.iter().find(|r| r.0 == item).map(|r| r.1);
        let mut out: Vec<(f32, u32, f32)> = by_work
            .into_values()
            .filter(|&(pooled, _, _)| pooled >= MIN_REASON_SHARE * total)
            .filter_map(|(pooled, item, _)| {
                // Named by title: a book the catalogue does not describe is no reason to a
                // reader ("because you rated Book 3426029553").
                if !self.works.is_catalogued(item) {
                    return None;
                }
                let r = rating_of(item).filter(|&r| r >= high)?;
                self.counts
                    .get(item as usize)
                    .filter(|&&c| c >= min_support)?;
                similarity(item).filter(|&s| s >= MIN_REASON_SIMILARITY)?;
                Some((pooled, item, r))
            })
            .collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out.into_iter().take(n).map(|(_, i, r)| (i, r)).collect()
    }
}

/// Decides, candidate by candidate, what one list may hold (see the module documentation).
#[derive(Clone, Debug)]
pub struct WorkFilter<'a> {
    works: &'a Works,
    include_uncatalogued: bool,
    /// Works the reader has, and works listed so far.
    taken: FxHashSet<u32>,
}

impl WorkFilter<'_> {
    /// The edition to show for candidate `item` — its work's representative — if the work
    /// may be listed next (it then counts as listed); `None` if not.
    pub fn admit(&mut self, item: u32) -> Option<u32> {
        let Some(work) = self.works.work_of(item) else {
            // A book outside the vocabulary the works were built on: nothing to check it by.
            return Some(item);
        };
        let shown = self.works.representative(work);
        let listable = self.include_uncatalogued || self.works.is_catalogued(shown);
        (listable && self.taken.insert(work)).then_some(shown)
    }

    /// `candidate` as listed: its work's representative with the candidate's score.
    fn listed(&mut self, candidate: &ScoredItem) -> Option<ScoredItem> {
        self.admit(candidate.item).map(|item| ScoredItem {
            item,
            score: candidate.score,
        })
    }

    /// Up to `n` admitted books of a ranking, in its order. `fetch(m)` gives the ranking's top
    /// `m` (fewer when it ends); the ranking is fetched 4× deeper each time until `n` books
    /// pass or it ends. The first fetch is already 2n + 10 deep: on Book-Crossing most
    /// rankings hold uncatalogued books and other editions near the top.
    pub fn top(
        &self,
        n: usize,
        mut fetch: impl FnMut(usize) -> Vec<ScoredItem>,
    ) -> Vec<ScoredItem> {
        if n == 0 {
            return Vec::new();
        }
        let mut depth = n.saturating_mul(2).saturating_add(10);
        loop {
            let listed = fetch(depth);
            let ended = listed.len() < depth;
            let mut filter = self.clone();
            let kept: Vec<ScoredItem> = listed
                .into_iter()
                .filter_map(|s| filter.listed(&s))
                .take(n)
                .collect();
            if kept.len() == n || ended {
                return kept;
            }
            depth = depth.saturating_mul(4);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::{Book, Interactions, Vocab};

    fn book(id: &str, title: &str) -> Book {
        Book {
            id: id.into(),
            title: title.into(),
            author: "A. Writer".into(),
            year: None,
            publisher: None,
            genre: None,
            image_url: Some(format!("http://img/{id}")),
        }
    }

    /// Items 0–5: 0 and 1 editions of one work (1 more rated), 2 uncatalogued, 3, 4, 5 works.
    fn works() -> Works {
        let catalog = Catalog::from_books(vec![
            book("a", "One (Paperback)"),
            book("b", "One: a novel"),
            book("d", "Three"),
            book("e", "Four"),
            book("f", "Five"),
        ]);
        let mut items = Vocab::new();
        for id in ["a", "b", "c", "d", "e", "f"] {
            items.intern(id);
        }
        Works::build(&catalog, &items, &[3, 5, 9, 1, 1, 1])
    }

    fn ranking(order: &[u32]) -> impl FnMut(usize) -> Vec<ScoredItem> + '_ {
        |m| {
            order
                .iter()
                .take(m)
                .map(|&item| ScoredItem { item, score: 0.0 })
                .collect()
        }
    }

    #[test]
    fn one_representative_per_work_catalogued_and_not_had() {
        let works = works();
        let filter = |had: &[u32], inc| WorkFilter {
            works: &works,
            include_uncatalogued: inc,
            taken: had.iter().map(|&i| works.work_of(i).unwrap()).collect(),
        };
        let items = |v: Vec<ScoredItem>| v.iter().map(|s| s.item).collect::<Vec<_>>();
        let order = [2, 0, 1, 3, 4, 5];
        assert_eq!(items(filter(&[], false).top(3, ranking(&order))), [1, 3, 4]);
        assert_eq!(items(filter(&[], true).top(3, ranking(&order))), [2, 1, 3]);
        // The reader rated the other edition: the work is theirs already.
        assert_eq!(
            items(filter(&[0], false).top(9, ranking(&order))),
            [3, 4, 5]
        );
        assert!(filter(&[], false).top(0, ranking(&order)).is_empty());
    }

    /// A work ranks at its best edition's place and score, shown as its representative: the
    /// less-rated edition 0 ranked first puts edition 1 first with 0's score; an uncatalogued
    /// ISBN-13 form would do the same for its catalogued ISBN-10.
    #[test]
    fn a_work_ranks_at_its_best_edition_shown_as_its_representative() {
        let works = works();
        let filter = WorkFilter {
            works: &works,
            include_uncatalogued: false,
            taken: FxHashSet::default(),
        };
        let ranked = [(0, 9.0), (3, 8.0), (1, 7.0), (4, 6.0)];
        let got = filter.top(3, |m| {
            ranked
                .iter()
                .take(m)
                .map(|&(item, score)| ScoredItem { item, score })
                .collect()
        });
        let got: Vec<(u32, f32)> = got.iter().map(|s| (s.item, s.score)).collect();
        assert_eq!(got, [(1, 9.0), (3, 8.0), (4, 6.0)]);
    }

    /// A reason carries a real share of the positive contributions, is similar to the book,
    /// is rated by enough readers (20 here), was rated highly by this one and raises the
    /// score; editions pool and are named by the larger one.
    #[test]
    fn reasons_are_strong_similar_and_raise_the_score() {
        let lists = WorkLists {
            popular: Vec::new(),
            works: works(),
            counts: vec![30, 50, 90, 20, 20, 20],
        };
        let c = |pairs: &[(u32, f32)]| -> Vec<ScoredItem> {
            pairs
                .iter()
                .map(|&(item, score)| ScoredItem { item, score })
                .collect()
        };
        let rated: Vec<(u32, f32)> = (0..6).map(|i| (i, 9.0)).collect();
        // Editions 0 + 1 pool 3.0 of 6.2 (named by 0); 3 is strong but dissimilar; 4 is
        // similar but weak (0.2 of 6.2, under MIN_REASON_SHARE); 5 is the most similar but
        // lowers the score.
        let contributions = c(&[(0, 2.0), (1, 1.0), (3, 3.0), (4, 0.2), (5, -4.0)]);
        let sim = |i: u32| Some([0.5, 0.5, 0.0, 0.05, 0.9, 1.0][i as usize]);
        assert_eq!(
            lists.reasons(&contributions, &rated, 7.0, 20, sim, 2),
            [(0, 9.0)]
        );
        // Similar enough, 3 is named too, strongest first; at most n.
        let sim_all = |_| Some(MIN_REASON_SIMILARITY);
        assert_eq!(
            lists.reasons(&contributions, &rated, 7.0, 20, sim_all, 2),
            [(0, 9.0), (3, 9.0)]
        );
        assert_eq!(
            lists.reasons(&contributions, &rated, 7.0, 20, sim_all, 1),
            [(0, 9.0)]
        );
        // Not rated highly; a model with no notion of similarity; too few training ratings;
        // only a weak contribution from a rated book (the strong one is from a book the
        // reader did not rate, an implicit interaction): no reason.
        let low: Vec<(u32, f32)> = rated.iter().map(|&(i, _)| (i, 6.0)).collect();
        assert!(lists
            .reasons(&contributions, &low, 7.0, 20, sim_all, 2)
            .is_empty());
        assert!(lists
            .reasons(&contributions, &rated, 7.0, 20, |_| None, 2)
            .is_empty());
        let rare = WorkLists {
            counts: vec![30, 50, 90, 19, 20, 20],
            ..lists.clone()
        };
        assert_eq!(
            rare.reasons(&contributions, &rated, 7.0, 20, sim_all, 2),
            [(0, 9.0)]
        );
        let unrated: Vec<(u32, f32)> = rated.iter().copied().filter(|&(i, _)| i != 2).collect();
        // A strong, similar, well-rated book missing from the catalogue (2) is not named.
        assert!(lists
            .reasons(&c(&[(2, 3.0)]), &rated, 7.0, 0, sim_all, 2)
            .is_empty());
        let weak = c(&[(0, 0.04), (2, 0.96)]);
        assert!(lists
            .reasons(&weak, &unrated, 7.0, 20, sim_all, 2)
            .is_empty());
        assert!(lists
            .reasons(&c(&[(5, -1.0)]), &rated, 7.0, 20, sim_all, 2)
            .is_empty());
    }

    /// The ranking is fetched deeper until n books pass.
    #[test]
    fn lists_are_filled_from_further_down() {
        let mut catalog = vec![];
        let mut items = Vocab::new();
        for i in 0..200 {
            items.intern(&format!("b{i}"));
            if i % 7 == 0 {
                catalog.push(book(&format!("b{i}"), &format!("Title {i}")));
            }
        }
        let works = Works::build(&Catalog::from_books(catalog), &items, &[1; 200]);
        let f = WorkFilter {
            works: &works,
            include_uncatalogued: false,
            taken: FxHashSet::default(),
        };
        let order: Vec<u32> = (0..200).collect();
        let mut depths = vec![];
        let got = f.top(10, |m| {
            depths.push(m);
            ranking(&order)(m)
        });
        assert_eq!(
            got.iter().map(|s| s.item).collect::<Vec<_>>(),
            (0..10).map(|k| 7 * k).collect::<Vec<_>>()
        );
        assert_eq!(depths, [30, 120]);
    }

    /// A work rated 9 by few readers ranks below one rated 8.5 by many; a work rated low by
    /// many is last; the editions' ratings are pooled.
    #[test]
    fn popular_works_by_damped_mean() {
        let mut triplets = Vec::new();
        for u in 0..40 {
            triplets.push((format!("u{u}"), "low", 2.0));
            triplets.push((format!("u{u}"), if u % 2 == 0 { "a" } else { "b" }, 8.5));
        }
        for u in 0..3 {
            triplets.push((format!("v{u}"), "rare", 10.0));
        }
        let data = Interactions::from_triplets(
            triplets.iter().map(|(u, i, r)| (u.as_str(), *i, *r)),
            Some(crate::data::RatingScale::new(1.0, 10.0)),
        );
        let model = crate::models::ModelSpec::default_for(crate::models::ModelKind::Baseline)
            .fit(&data, &crate::progress::NoProgress)
            .unwrap();
        let catalog = Catalog::from_books(vec![
            book("a", "Loved"),
            book("b", "Loved (Book Club)"),
            book("low", "Disliked"),
            book("rare", "Rare"),
        ]);
        let lists = WorkLists::new(&model, &catalog);
        let opts = RecommendOptions {
            min_support: 1,
            exclude_seen: true,
        };
        let got: Vec<&str> = lists
            .popular(3, &opts, lists.filter(&[], false))
            .iter()
            .map(|s| model.items.id(s.item))
            .collect();
        // a and b tie at 20 ratings each; the lower index represents the work.
        assert_eq!(got, ["a", "low", "rare"]);
        assert_eq!(lists.listable(false), (4, 3));
    }
}
