//! Criterion benches of the hot kernels: the SGD epoch over a block (in cache, over a
//! Book-Crossing-sized factor matrix, and streaming through a new book row per rating; each
//! kernel this CPU runs), the ALS half-sweep, the k×k Cholesky row solve and top-k selection.
//! `cargo bench -p bookrec-core --bench kernels -- --quick`

use bookrec_core::data::Csr;
use bookrec_core::kernels::cholesky::{
    cholesky_factor, cholesky_solve, ridge_solve, Design, RidgeScratch,
};
use bookrec_core::kernels::memory::advise_huge_pages;
use bookrec_core::kernels::sgd::{
    augmented_stride, sgd_block_with, BlockRating, SgdKernel, SgdRates,
};
use bookrec_core::kernels::topk::TopK;
use bookrec_core::models::als_half_sweep;
use bookrec_core::rng::Rng;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn ratings(n: usize, n_users: usize, n_items: usize, seed: u64) -> Vec<BlockRating> {
    let mut rng = Rng::new(seed);
    let mut v: Vec<BlockRating> = (0..n)
        .map(|_| BlockRating {
            u: rng.below(n_users as u64) as u32,
            i: rng.below(n_items as u64) as u32,
            r: 1.0 + rng.below(10) as f32,
        })
        .collect();
    v.sort_unstable_by_key(|b| (b.u, b.i));
    v
}

/// Random N(0, 0.1²) matrix, backed by huge pages where available, as the models' factors;
/// with `one_at`, that column is 1 (the constant of augmented SGD rows).
fn matrix(rows: usize, k: usize, seed: u64, one_at: Option<usize>) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut m = vec![0f32; rows * k];
    advise_huge_pages(&mut m);
    for row in m.chunks_exact_mut(k) {
        for x in row.iter_mut() {
            *x = 0.1 * rng.normal() as f32;
        }
        if let Some(c) = one_at {
            row[c] = 1.0;
        }
    }
    m
}

fn bench_sgd(c: &mut Criterion) {
    let k = augmented_stride(100); // 100 factors + 2 bias columns, padded to a multiple of 8
    let rates = SgdRates {
        lr: 0.005,
        reg: 0.02,
    };
    let mut group = c.benchmark_group("sgd_epoch");
    // (name, users, items): a cache-resident block; Book-Crossing's train-set size (book rows
    // at random); and as many book rows as ratings, visited in address order. The last one
    // separates the cost of random access from that of moving the rows at all: the gap between
    // it and the random case is all that numbering rows for locality could win.
    for (name, nu, ni, n) in [
        ("in_cache_block", 500, 1000, 20_000),
        ("bx_sized", 68_000, 150_000, 347_000),
        ("new_book_row_per_rating", 68_000, 347_000, 347_000),
    ] {
        let mut rs = ratings(n, nu, ni, 1);
        if ni == n {
            for (j, r) in rs.iter_mut().enumerate() {
                r.i = j as u32;
            }
        }
        let mut uf = matrix(nu, k, 2, Some(k - 1));
        let mut itf = matrix(ni, k, 3, Some(k - 2));
        group.throughput(Throughput::Elements(n as u64));
        let kernels = [SgdKernel::Portable, SgdKernel::detect()];
        let kernels = if kernels[0] == kernels[1] {
            &kernels[..1]
        } else {
            &kernels[..]
        };
        for &kernel in kernels {
            group.bench_function(format!("{name}/{kernel:?}"), |b| {
                b.iter(|| sgd_block_with(kernel, black_box(&rs), 7.6, k, &mut uf, &mut itf, rates))
            });
        }
    }
    group.finish();
}

fn bench_als(c: &mut Criterion) {
    let factors = 50;
    let k = 56;
    let (n_users, n_items, nnz) = (5_000usize, 10_000usize, 100_000usize);
    let mut rng = Rng::new(4);
    let (mut u, mut i, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..nnz {
        u.push(rng.below(n_users as u64) as u32);
        i.push(rng.below(n_items as u64) as u32);
        r.push(1.0 + rng.below(10) as f32);
    }
    let by_user = Csr::from_coo(n_users, &u, &i, &r);
    let item_f = matrix(n_items, k, 5, None);
    let item_b = vec![0f32; n_items];
    let mut user_f = vec![0f32; n_users * k];
    let user_b = vec![0f32; n_users];
    let mut group = c.benchmark_group("als");
    group.throughput(Throughput::Elements(nnz as u64));
    group.bench_function("half_sweep_5k_users_100k_ratings_k50", |b| {
        b.iter(|| {
            als_half_sweep(
                &by_user,
                7.6,
                &user_b,
                &item_b,
                &item_f,
                k,
                factors,
                0.1,
                &mut user_f,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("row_solve");
    for d in [21usize, 51, 101] {
        let m = matrix(d, d, 6, None);
        let mut a = vec![0f32; d * d];
        for x in 0..d {
            for y in 0..=x {
                a[x * d + y] = (0..d).map(|t| m[x * d + t] * m[y * d + t]).sum::<f32>()
                    + if x == y { 1.0 } else { 0.0 };
            }
        }
        group.bench_function(format!("cholesky_{d}x{d}"), |b| {
            b.iter(|| {
                let mut l = a.clone();
                let ok = cholesky_factor(&mut l, d);
                let mut rhs = vec![1f32; d];
                cholesky_solve(&l, d, &mut rhs);
                black_box((ok, rhs))
            })
        });
        let idx: Vec<u32> = (0..200).map(|x| x * 7 % n_items as u32).collect();
        let targets = vec![1f32; idx.len()];
        let design = Design {
            idx: &idx,
            mat: &item_f,
            stride: k,
            k: d.min(k) - 1,
            with_bias: true,
        };
        let mut s = RidgeScratch::default();
        let mut out = vec![0f32; design.dim()];
        group.bench_function(format!("ridge_200_rows_d{}", design.dim()), |b| {
            b.iter(|| ridge_solve(&design, black_box(&targets), 10.0, &mut s, &mut out))
        });
    }
    group.finish();
}

fn bench_topk(c: &mut Criterion) {
    let mut rng = Rng::new(7);
    let scores: Vec<f32> = (0..186_000).map(|_| rng.next_f32()).collect();
    c.bench_function("topk_10_of_186k", |b| {
        b.iter(|| {
            let mut t = TopK::new(10);
            for (i, &s) in scores.iter().enumerate() {
                t.push(i as u32, s);
            }
            black_box(t.into_sorted())
        })
    });
}

criterion_group!(benches, bench_sgd, bench_als, bench_topk);
criterion_main!(benches);
