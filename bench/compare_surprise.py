#!/usr/bin/env python3
"""bookrec vs Surprise on the same Book-Crossing explicit train/test split, in one run.

What it measures (all on this machine, side by side, so machine load affects both alike; the
load average is recorded with the figures):
  * load: pandas' bare ``read_csv`` of BX-Book-Ratings.csv (no cleaning) vs ``bookrec inspect``
    (parse + full cleaning report), wall-clock of the whole command (process start included),
    alternated ``--load-repeats`` times; the medians are reported;
  * accuracy and fit time of each model pair on a seeded 80/20 split of the explicit (1-10)
    ratings, for each seed of ``--seeds``: the split is made here, written to two CSV files, and
    both libraries read the same files; fit time is the model fit alone on both sides
    (``algo.fit(trainset)`` vs bookrec's ``fit_seconds``: no process start, loading or
    evaluation), the median of ``--fit-repeats`` alternated fits per side, each right after a
    warm-up fit of the same side (below); the warm-up ("cold") figures are reported too;
  * peak memory (max RSS) of ``bookrec evaluate`` for svd, via /usr/bin/time -v.

Why the warm-up: on a VM whose balloon device reports free pages to the host (this one:
virtio-balloon with free page reporting, 2 MiB blocks), memory that has been free for about
two seconds is handed back to the host, and the next process to touch it waits for the host to
fault it in again. A fresh bookrec process started after Surprise's multi-second fit therefore
pays ~0.05-0.1 s more for the same fit (its ~90 MB of factors) than one started right after
another bookrec run, while Surprise's repeated in-process fits reuse the memory the previous fit
has just freed. Timing each side right after an untimed fit of its own gives both the same
(warm) memory; the cold figures show the other case.

Usage:  python3 bench/compare_surprise.py [--data DIR] [--bookrec PATH] [--seeds 0,1,2]
         [--svdpp] [--keep-order] [--load-repeats 3] [--fit-repeats 3] [--json OUT.json]

Row order matters to Surprise: its inner ids follow the order of the rows it is given, and on
a split written in the file's order (sorted by user, ``--keep-order``) its SVD fits about twice
as fast as on the same rows shuffled (the default: a random permutation, as Surprise's own
train_test_split leaves them), because consecutive updates then touch nearby factor rows.
Needs: pandas, numpy, scikit-surprise (pip install scikit-surprise), a release build of bookrec
(`cargo build --release -p bookrec-cli`).
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (bookrec model, bookrec -p overrides, Surprise class name, Surprise kwargs) compared pairwise.
PAIRS = [
    ("baseline", [], "BaselineOnly", {}),
    ("svd", [], "SVD", {"random_state": 0}),
]
SVDPP = ("svdpp", [], "SVDpp", {"random_state": 0})


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p


def compare_on_split(args, surprise, df, seed):
    """Fits every model pair on the seeded 80/20 split of the explicit ratings ``df``."""
    results = {"loadavg": os.getloadavg()}
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(df))
    n_test = int(round(0.2 * len(df)))
    if args.keep_order:
        # Same rows, in the file's order (sorted by user): Surprise's inner ids then follow the
        # file, and its fit gets the memory locality of a file sorted by user.
        test_df, train_df = df.iloc[np.sort(perm[:n_test])], df.iloc[np.sort(perm[n_test:])]
    else:
        test_df, train_df = df.iloc[perm[:n_test]], df.iloc[perm[n_test:]]
    tmp = tempfile.mkdtemp(prefix="bookrec-vs-surprise-")
    train_path, test_path = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
    train_df.to_csv(train_path, index=False)
    test_df.to_csv(test_path, index=False)
    print(f"split {len(train_df)} train / {len(test_df)} test explicit ratings (seed {seed}), files in {tmp}")
    results["split"] = {"n_train": len(train_df), "n_test": len(test_df), "seed": seed,
                        "row_order": "file" if args.keep_order else "shuffled"}

    reader = surprise.Reader(rating_scale=(1, 10))
    trainset = surprise.Dataset.load_from_df(train_df[["user", "item", "rating"]], reader).build_full_trainset()
    testset = list(zip(test_df.user, test_df.item, test_df.rating.astype(float)))

    pairs = PAIRS + ([SVDPP] if args.svdpp else [])
    rows = []
    for ours, params, theirs, kwargs in pairs:
        cmd = [args.bookrec, "evaluate", "--train", train_path, "--test", test_path,
               "--model", ours, "-k", "0", "--json", "--seed", str(seed)]
        for p in params:
            cmd += ["-p", p]

        def surprise_fit():
            algo = getattr(surprise, theirs)(**kwargs) if kwargs else getattr(surprise, theirs)()
            t = time.perf_counter()
            algo.fit(trainset)
            return algo, time.perf_counter() - t

        # Warm-up (see the module doc): each timed fit comes right after an untimed fit of the
        # same side, whose memory it reuses. Surprise's repeats do that by themselves (the
        # previous model is freed as the next is made), so it needs one warm-up fit; every
        # bookrec process starts with memory that sat free during Surprise's fit, so each
        # timed run follows a warm-up run. The warm-up ("cold") times are reported as well.
        algo, s_cold = surprise_fit()
        # Each side fits --fit-repeats times, alternating, so a burst of load hits both alike;
        # the medians are compared (same seeds, so every repeat gives the same model).
        s_fits, b_fits, b_cold = [], [], []
        for _ in range(max(1, args.fit_repeats)):
            algo, s = surprise_fit()
            s_fits.append(s)
            b_cold.append(json.loads(run(cmd).stdout)["fit_seconds"])
            b = json.loads(run(cmd).stdout)
            b_fits.append(b["fit_seconds"])
        s_fit, b_fit = float(np.median(s_fits)), float(np.median(b_fits))
        b_fit_cold = float(np.median(b_cold))
        b["fit_seconds"] = b_fit
        preds = algo.test(testset)
        s_rmse = surprise.accuracy.rmse(preds, verbose=False)
        s_mae = surprise.accuracy.mae(preds, verbose=False)

        row = {
            "bookrec_model": ours, "surprise_model": theirs,
            "bookrec_rmse": b["rmse"], "surprise_rmse": s_rmse,
            "bookrec_mae": b["mae"], "surprise_mae": s_mae,
            "bookrec_fit_s": b["fit_seconds"], "surprise_fit_s": s_fit,
            "speedup": s_fit / b["fit_seconds"] if b["fit_seconds"] > 0 else float("inf"),
            "bookrec_fit_runs_s": b_fits, "surprise_fit_runs_s": s_fits,
            "bookrec_cold_fit_s": b_fit_cold, "surprise_cold_fit_s": s_cold,
            "speedup_cold": s_cold / b_fit_cold if b_fit_cold > 0 else float("inf"),
            "bookrec_cold_fit_runs_s": b_cold,
        }
        rows.append(row)
        print(f"{ours:>9} vs {theirs:<12} rmse {b['rmse']:.4f} vs {s_rmse:.4f}   mae {b['mae']:.4f} vs {s_mae:.4f}   "
              f"fit {b['fit_seconds']:.3f}s vs {s_fit:.3f}s   speed-up {row['speedup']:.1f}x   "
              f"(cold {b_fit_cold:.3f}s vs {s_cold:.3f}s: {row['speedup_cold']:.1f}x)")
    results["models"] = rows
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "book-crossing"))
    ap.add_argument("--bookrec", default=os.path.join(ROOT, "target", "release", "bookrec"))
    ap.add_argument("--seeds", default="0", help="comma-separated split seeds, e.g. 0,1,2")
    ap.add_argument("--load-repeats", type=int, default=3)
    ap.add_argument("--fit-repeats", type=int, default=3,
                    help="fits per model and side (alternated); medians are compared")
    ap.add_argument("--svdpp", action="store_true", help="also compare SVD++ (Surprise takes ~1 min)")
    ap.add_argument("--keep-order", action="store_true",
                    help="write each split's rows in the file's order instead of the shuffled order")
    ap.add_argument("--json", help="write all figures to this JSON file")
    args = ap.parse_args()

    import surprise  # noqa: imported late so --help works without it

    ratings_csv = os.path.join(args.data, "BX-Book-Ratings.csv")
    results = {"machine": platform.node(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "loadavg_start": os.getloadavg()}
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs")

    # 1. load: pandas bare read vs bookrec parse + clean, alternated
    pandas_runs, bookrec_runs = [], []
    for _ in range(max(1, args.load_repeats)):
        t = time.perf_counter()
        df = pd.read_csv(ratings_csv, sep=";", encoding="latin-1")
        pandas_runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        run([args.bookrec, "inspect", "--ratings", ratings_csv, "--json"])
        bookrec_runs.append(time.perf_counter() - t)
    pandas_s, bookrec_load_s = float(np.median(pandas_runs)), float(np.median(bookrec_runs))
    results["load"] = {"pandas_read_csv_s": pandas_s, "bookrec_inspect_s": bookrec_load_s,
                       "pandas_runs_s": pandas_runs, "bookrec_runs_s": bookrec_runs}
    print(f"load  pandas read_csv (no cleaning) {pandas_s:.3f}s   bookrec inspect (parse+clean) {bookrec_load_s:.3f}s"
          f"   (medians of {len(pandas_runs)})")
    df.columns = ["user", "item", "rating"]
    df = df[df.rating > 0]
    results["runs"] = [compare_on_split(args, surprise, df, seed) for seed in map(int, args.seeds.split(","))]

    # 2. peak memory of load + train svd (the whole bookrec process)
    p = subprocess.run(["/usr/bin/time", "-v", args.bookrec, "evaluate", "--ratings", ratings_csv,
                        "--model", "svd", "-k", "0", "--json"], capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    if p.returncode == 0 and m:
        results["bookrec_svd_peak_rss_mb"] = int(m.group(1)) / 1024
        print(f"peak RSS of `bookrec evaluate --model svd` on the raw BX file: {int(m.group(1)) / 1024:.0f} MB")

    results["loadavg_end"] = os.getloadavg()
    print(f"load average {os.getloadavg()[0]:.2f} (1 min)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
