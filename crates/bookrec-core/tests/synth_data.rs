//! The synthetic generator: exact counts, no duplicate pairs, determinism, power law, a noise
//! floor equal to the planted noise, streaming output identical to the in-memory data.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Mutex;

use bookrec_core::datasets::synth::{synth_interactions, write_synth_csv, SynthParams};
use bookrec_core::progress::{NoProgress, Progress};
use bookrec_core::Error;

fn small(seed: u64) -> SynthParams {
    SynthParams {
        users: 3_000,
        books: 2_000,
        ratings: 120_000,
        seed,
        ..SynthParams::default()
    }
}

#[test]
fn counts_are_exact_and_pairs_distinct() {
    for p in [
        small(1),
        // Dense corner: every pair.
        SynthParams {
            users: 40,
            books: 30,
            ratings: 1200,
            ..small(2)
        },
        // Fewer ratings than users, steep power law.
        SynthParams {
            users: 5_000,
            books: 300,
            ratings: 2_000,
            popularity_exponent: 2.5,
            ..small(3)
        },
    ] {
        let (data, summary) = synth_interactions(&p).unwrap();
        assert_eq!(data.len(), p.ratings);
        assert_eq!(summary.ratings, p.ratings);
        let pairs: HashSet<(u32, u32)> = data
            .user
            .iter()
            .copied()
            .zip(data.item.iter().copied())
            .collect();
        assert_eq!(pairs.len(), p.ratings, "duplicate pairs");
        assert_eq!(summary.users_with_ratings, data.n_users());
        assert_eq!(summary.books_with_ratings, data.n_items());
        assert!(data.n_users() <= p.users && data.n_items() <= p.books);
        if p.ratings >= p.users {
            assert_eq!(data.n_users(), p.users, "every user rates at least once");
        }
        assert!(data
            .rating
            .iter()
            .all(|&r| (1.0..=10.0).contains(&r) && r.fract() == 0.0));
    }
}

#[test]
fn noise_floor_matches_planted_noise() {
    for noise in [0.5f32, 1.0, 1.5] {
        let p = SynthParams {
            noise_std: noise,
            integer_ratings: false,
            ..small(4)
        };
        let (data, s) = synth_interactions(&p).unwrap();
        let rel = (s.true_rmse_floor - noise as f64).abs() / noise as f64;
        // Clipping at the scale ends shaves a little off.
        assert!(rel < 0.04, "noise {noise}: floor {}", s.true_rmse_floor);
        // The planted signal is real: predicting the global mean does much worse.
        let mean = data.global_mean() as f64;
        let rmse_mean = (data
            .rating
            .iter()
            .map(|&r| (r as f64 - mean).powi(2))
            .sum::<f64>()
            / data.len() as f64)
            .sqrt();
        let signal = (rmse_mean.powi(2) - s.true_rmse_floor.powi(2)).sqrt();
        assert!((1.2..1.9).contains(&signal), "signal std {signal}");
        assert!(data
            .rating
            .iter()
            .all(|&r| ((r * 100.0).round() - r * 100.0).abs() < 1e-3));
    }
    // Integer ratings add the rounding error, ≈ √(σ² + 1/12).
    let (_, s) = synth_interactions(&small(4)).unwrap();
    let expect = (1.0f64 + 1.0 / 12.0).sqrt();
    assert!(
        (s.true_rmse_floor - expect).abs() < 0.04,
        "{}",
        s.true_rmse_floor
    );
    // Without noise only rounding remains.
    let (_, s) = synth_interactions(&SynthParams {
        noise_std: 0.0,
        ..small(4)
    })
    .unwrap();
    assert!(
        (s.true_rmse_floor - (1.0f64 / 12.0).sqrt()).abs() < 0.02,
        "{}",
        s.true_rmse_floor
    );
}

#[test]
fn deterministic_and_seed_dependent() {
    let (a, sa) = synth_interactions(&small(5)).unwrap();
    let (b, sb) = synth_interactions(&small(5)).unwrap();
    assert_eq!((&a.user, &a.item, &a.rating), (&b.user, &b.item, &b.rating));
    assert_eq!(sa.true_rmse_floor, sb.true_rmse_floor);
    let (c, _) = synth_interactions(&small(6)).unwrap();
    assert_ne!(a.rating, c.rating);
}

fn top_share(counts: &[u32], n_total_books: usize) -> f64 {
    let mut c = counts.to_vec();
    c.sort_unstable_by(|a, b| b.cmp(a));
    let top = (n_total_books / 100).max(1);
    c.iter().take(top).map(|&x| x as f64).sum::<f64>() / c.iter().map(|&x| x as f64).sum::<f64>()
}

#[test]
fn popularity_follows_a_power_law() {
    let p = SynthParams {
        users: 20_000,
        books: 10_000,
        ratings: 200_000,
        ..small(7)
    };
    let (data, _) = synth_interactions(&p).unwrap();
    let share = top_share(&data.item_counts(), p.books);
    assert!(share > 0.3, "top 1% of books get {share}");
    let user_share = top_share(&data.user_counts(), p.users);
    assert!(user_share > 0.2, "top 1% of users give {user_share}");

    let (flat, _) = synth_interactions(&SynthParams {
        popularity_exponent: 0.0,
        ..p
    })
    .unwrap();
    let share = top_share(&flat.item_counts(), p.books);
    assert!(share < 0.02, "uniform: top 1% of books get {share}");
}

#[derive(Default)]
struct Recorder {
    total: Mutex<u64>,
    done: Mutex<u64>,
    finished: Mutex<Option<String>>,
}

impl Progress for Recorder {
    fn start(&self, _stage: &str, total: u64) {
        *self.total.lock().unwrap() = total;
    }
    fn inc(&self, n: u64) {
        *self.done.lock().unwrap() += n;
    }
    fn finish(&self, summary: &str) {
        *self.finished.lock().unwrap() = Some(summary.to_string());
    }
}

#[test]
fn csv_equals_in_memory_data() {
    let p = SynthParams {
        integer_ratings: false,
        ..small(8)
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.csv");
    let rec = Recorder::default();
    let s = write_synth_csv(&p, &path, &rec).unwrap();
    assert_eq!(*rec.total.lock().unwrap(), p.ratings as u64);
    assert_eq!(*rec.done.lock().unwrap(), p.ratings as u64);
    assert!(rec.finished.lock().unwrap().is_some());

    let (data, m) = synth_interactions(&p).unwrap();
    assert_eq!(s.true_rmse_floor, m.true_rmse_floor);
    assert_eq!(s.books_with_ratings, m.books_with_ratings);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user_id,book_id,rating"));
    let mut n = 0;
    for (k, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0], data.users.id(data.user[k]));
        assert_eq!(f[1], data.items.id(data.item[k]));
        assert_eq!(f[2].parse::<f32>().unwrap(), data.rating[k]);
        n += 1;
    }
    assert_eq!(n, p.ratings);
}

#[test]
fn bad_parameters_are_rejected() {
    let ok = small(1);
    assert!(ok.check().is_ok());
    let cases: Vec<(&str, SynthParams)> = vec![
        (
            "users",
            SynthParams {
                users: 0,
                ..ok.clone()
            },
        ),
        (
            "books",
            SynthParams {
                books: 0,
                ..ok.clone()
            },
        ),
        (
            "ratings",
            SynthParams {
                ratings: 0,
                ..ok.clone()
            },
        ),
        (
            "ratings",
            SynthParams {
                users: 10,
                books: 10,
                ratings: 101,
                ..ok.clone()
            },
        ),
        (
            "rank",
            SynthParams {
                rank: 0,
                ..ok.clone()
            },
        ),
        (
            "rank",
            SynthParams {
                rank: 1025,
                ..ok.clone()
            },
        ),
        (
            "users",
            SynthParams {
                users: 1 << 30,
                ..ok.clone()
            },
        ),
        (
            "books",
            SynthParams {
                books: 1 << 28,
                rank: 10,
                ..ok.clone()
            },
        ),
        (
            "noise_std",
            SynthParams {
                noise_std: -1.0,
                ..ok.clone()
            },
        ),
        (
            "noise_std",
            SynthParams {
                noise_std: f32::NAN,
                ..ok.clone()
            },
        ),
        (
            "popularity_exponent",
            SynthParams {
                popularity_exponent: -0.5,
                ..ok.clone()
            },
        ),
        (
            "scale",
            SynthParams {
                scale_min: 5.0,
                scale_max: 5.0,
                ..ok.clone()
            },
        ),
        (
            "scale",
            SynthParams {
                scale_min: 0.5,
                ..ok.clone()
            },
        ),
    ];
    for (name, p) in cases {
        match synth_interactions(&p) {
            Err(Error::Param { name: n, .. }) => assert_eq!(n, name),
            other => panic!(
                "{name}: expected a parameter error, got {:?}",
                other.map(|x| x.1)
            ),
        }
    }
    // Half-point scales are fine for non-integer ratings.
    let half = SynthParams {
        scale_min: 0.5,
        scale_max: 5.0,
        integer_ratings: false,
        ..ok.clone()
    };
    assert!(half.check().is_ok());
    let dir = tempfile::tempdir().unwrap();
    let err = write_synth_csv(&ok, &dir.path().join("no/such/dir/x.csv"), &NoProgress);
    assert!(matches!(err, Err(Error::Io { .. })));
}

#[test]
fn independent_of_thread_count() {
    let p = small(9);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| synth_interactions(&p).unwrap().0)
    };
    let (one, three) = (run(1), run(3));
    assert_eq!(
        (&one.user, &one.item, &one.rating),
        (&three.user, &three.item, &three.rating)
    );
}
