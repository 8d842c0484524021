//! Where a recommendation request's CPU goes, without HTTP: the engine's top-N alone, the
//! server's whole view (SQLite look-up of stored ratings + top-N + book views), and with
//! explanations. Single thread, median and p99 over users that the model knows.
//!
//!     cargo run --release -p bookrec-server --example serve_timing -- MODEL BOOKS.csv [USERS]

use std::path::Path;
use std::time::Instant;

use bookrec_server::views::RecRequest;
use bookrec_server::{AppState, Store};

fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99), v.iter().sum::<f64>() / v.len() as f64)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() >= 3,
        "usage: serve_timing MODEL BOOKS.csv [USERS]"
    );
    let n_users: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let state = AppState::load(
        Path::new(&args[1]),
        None,
        Some(Path::new(&args[2])),
        &dir.path().join("r.sqlite"),
        bookrec_server::Settings::default().min_support,
        None,
    )?;
    println!("load: {:.2} s", t.elapsed().as_secs_f64());
    let loaded = state.loaded();
    let store: std::sync::Arc<Store> = state.store();
    let opts = state.recommend_options();
    let req = |explain| RecRequest {
        n: 10,
        explain,
        rank_by: None,
        min_rating: None,
        include_uncatalogued: false,
    };
    let model = &loaded.model.fitted;
    // Every k-th known user, so light and heavy readers are both represented.
    let known: Vec<u32> = (0..model.users.len() as u32)
        .filter(|&u| model.knows_user(u))
        .collect();
    let step = (known.len() / n_users).max(1);
    let users: Vec<u32> = known.iter().step_by(step).take(n_users).copied().collect();
    // Warm the engine's caches.
    let _ = model.recommend(users[0], 10, &opts);

    let mut engine = Vec::new();
    let mut fast = Vec::new();
    let (mut hits, mut total) = (0usize, 0usize);
    let mut view = Vec::new();
    let mut explained = Vec::new();
    for &u in &users {
        let id = model.users.id(u).to_string();
        let t = Instant::now();
        std::hint::black_box(model.recommend(u, 10, &opts));
        engine.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let got = std::hint::black_box(loaded.model.recommend_known(u, 10, &opts));
        fast.push(t.elapsed().as_secs_f64() * 1e3);
        let want = model.recommend(u, 10, &opts);
        total += want.len();
        hits += want
            .iter()
            .filter(|w| got.iter().any(|g| g.item == w.item))
            .count();
        let t = Instant::now();
        let stored = store.ratings_for(&id)?;
        std::hint::black_box(loaded.recommendations(&id, &stored, &opts, req(false))?);
        view.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(loaded.recommendations(&id, &stored, &opts, req(true))?);
        explained.push(t.elapsed().as_secs_f64() * 1e3);
    }
    for (name, v) in [
        ("engine recommend (top-10)", engine),
        ("contiguous block (top-10)", fast),
        ("server view, explain=false", view),
        ("server view, explain=true", explained),
    ] {
        let (p50, p99, mean) = percentiles(v);
        println!(
            "{name:28} p50 {p50:7.3} ms   p99 {p99:7.3} ms   mean {mean:7.3} ms   ({} users)",
            users.len()
        );
    }
    println!(
        "contiguous block vs engine: recall@10 = {:.4} ({hits}/{total}); candidates: {}",
        hits as f64 / total.max(1) as f64,
        loaded.model.fast.as_ref().map_or(0, |f| f.len())
    );
    Ok(())
}
