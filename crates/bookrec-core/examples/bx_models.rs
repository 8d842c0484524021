//! Fits models on the Book-Crossing explicit ratings (80/20 random split) and prints RMSE and
//! fit time — the measurement behind the models report. A throwaway parser (the real loader
//! lives in `bookrec_core::data`); writes the split to `$BX_SPLIT_DIR` (if set) so Surprise can
//! be run on exactly the same rows.
//!
//! `cargo run --release -p bookrec-core --example bx_models -- svd [key=value ...]`

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use bookrec_core::data::{Interactions, RatingScale, Vocab};
use bookrec_core::models::{ModelKind, ModelSpec};
use bookrec_core::progress::NoProgress;
use bookrec_core::rng::Rng;

fn load(path: &str) -> Interactions {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text: String = bytes.iter().map(|&b| b as char).collect(); // latin-1
    let (mut users, mut items) = (Vocab::new(), Vocab::new());
    let (mut u, mut i, mut r) = (Vec::new(), Vec::new(), Vec::new());
    let (mut iu, mut ii) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line
            .trim_end_matches('\r')
            .split(';')
            .map(|s| s.trim_matches('"'))
            .collect();
        if f.len() != 3 {
            continue;
        }
        let Ok(rating) = f[2].parse::<f32>() else {
            continue;
        };
        let (uu, it) = (users.intern(f[0]), items.intern(f[1]));
        if rating == 0.0 {
            iu.push(uu);
            ii.push(it);
        } else {
            u.push(uu);
            i.push(it);
            r.push(rating);
        }
    }
    Interactions {
        users: Arc::new(users),
        items: Arc::new(items),
        user: u,
        item: i,
        rating: r,
        timestamp: None,
        implicit_user: iu,
        implicit_item: ii,
        scale: RatingScale::new(1.0, 10.0),
        item_groups: None,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind =
        ModelKind::parse(args.first().map(String::as_str).unwrap_or("svd")).expect("model name");
    let mut overrides = serde_json::Map::new();
    for kv in &args[1..] {
        let (k, v) = kv.split_once('=').expect("key=value");
        overrides.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let spec = ModelSpec::from_params(kind, &overrides).unwrap_or_else(|e| panic!("{e}"));
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/book-crossing/BX-Book-Ratings.csv"
    );
    let t = Instant::now();
    let all = load(path);
    let load_s = t.elapsed().as_secs_f64();
    let mut rows: Vec<usize> = (0..all.len()).collect();
    Rng::new(2024).shuffle(&mut rows);
    let n_train = all.len() * 4 / 5;
    let (tr, te) = rows.split_at(n_train);
    let (mut tr, mut te) = (tr.to_vec(), te.to_vec());
    tr.sort_unstable();
    te.sort_unstable();
    let mut train = all.subset(&tr, true);
    if std::env::var("BX_NO_IMPLICIT").is_ok() {
        train.implicit_user.clear();
        train.implicit_item.clear();
    }
    let test = all.subset(&te, false);
    if let Ok(dir) = std::env::var("BX_SPLIT_DIR") {
        for (name, set) in [("train.csv", &train), ("test.csv", &test)] {
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(format!("{dir}/{name}")).expect("create"),
            );
            for k in 0..set.len() {
                writeln!(
                    w,
                    "{}\t{}\t{}",
                    set.users.id(set.user[k]),
                    set.items.id(set.item[k]),
                    set.rating[k]
                )
                .expect("write");
            }
        }
    }
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let model = spec
        .fit(&train, &NoProgress)
        .unwrap_or_else(|e| panic!("{e}"));
    let fit_s = t.elapsed().as_secs_f64();
    let fit_cpu_s = cpu_seconds() - cpu0;
    let aligned = model_align(&train, &test);
    let t = Instant::now();
    let preds = model.predict_all(&aligned);
    let pred_s = t.elapsed().as_secs_f64();
    let (mut se, mut ae) = (0f64, 0f64);
    for (p, &r) in preds.iter().zip(&test.rating) {
        let d = (p.value - r) as f64;
        se += d * d;
        ae += d.abs();
    }
    let n = preds.len() as f64;
    let users: Vec<u32> = (0..train.n_users() as u32)
        .filter(|&u| model.knows_user(u))
        .take(2000)
        .collect();
    let mut serve = String::new();
    // BX_SERVE=1: also time recommend() for 2000 known users.
    let serve_supports: &[u32] = if std::env::var("BX_SERVE").is_ok() {
        &[5, 1]
    } else {
        &[]
    };
    for &min_support in serve_supports {
        let opts = bookrec_core::models::RecommendOptions {
            min_support,
            exclude_seen: true,
        };
        let t = Instant::now();
        let mut n_out = 0;
        for &u in &users {
            n_out += model.recommend(u, 10, &opts).len();
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / users.len() as f64;
        serve.push_str(&format!(" recommend_us(min_support={min_support})={us:.0}"));
        assert!(n_out > 0);
    }
    if !serve.is_empty() {
        println!("serving:{serve}");
    }
    println!(
        "{} n_train={} n_test={} load_s={load_s:.3} fit_s={fit_s:.3} fit_cpu_s={fit_cpu_s:.3} predict_s={pred_s:.3} rmse={:.4} mae={:.4} params={}",
        kind.name(),
        train.len(),
        test.len(),
        (se / n).sqrt(),
        ae / n,
        spec.params_json()
    );
}

fn model_align(train: &Interactions, test: &Interactions) -> bookrec_core::data::AlignedRatings {
    train.align(test)
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`; 0 elsewhere),
/// to compare fits on a machine shared with other jobs.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(rest) = stat.rsplit(')').next() else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |k: usize| f.get(k).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
