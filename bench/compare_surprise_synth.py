#!/usr/bin/env python3
"""bookrec `svd` vs Surprise's `SVD` on MovieLens-shaped synthetic data, k-fold, side by side.

The data: ``bookrec synth --users 943 --books 1682 --ratings 100000 --rating-scale 1:5`` (the
shape of MovieLens 100k: integer ratings 1-5, power-law popularity, planted rank-10 structure
plus noise). Each fold's train and test rows are written to CSV files in a random order (as
Surprise's own KFold leaves them), both libraries read the same files, with their default
hyper-parameters (bookrec's `svd` defaults are Surprise's: 100 factors, 20 epochs, lr 0.005,
reg 0.02, init N(0, 0.1²)). Reported per fold and as the mean: held-out RMSE and MAE, and the
fit time alone (Surprise's ``algo.fit``; bookrec's ``fit_seconds``), plus the whole
``bookrec evaluate`` command (process start, loading, fit, predict).

Usage:  python3 bench/compare_surprise_synth.py [--bookrec PATH] [--folds 5] [--seed 0]
            [--noise 1.0] [-p KEY=VALUE ...] [--json OUT.json]
Needs: pandas, numpy, scikit-surprise, a release build of bookrec.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bookrec", default=os.path.join(ROOT, "target", "release", "bookrec"))
    ap.add_argument("--users", type=int, default=943)
    ap.add_argument("--books", type=int, default=1682)
    ap.add_argument("--ratings", type=int, default=100_000)
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0, help="seed of the data, the folds and both models")
    ap.add_argument("-p", "--param", action="append", default=[], help="bookrec svd override, e.g. -p blocks=1")
    ap.add_argument("--no-surprise", action="store_true", help="bookrec only (e.g. to try variants quickly)")
    ap.add_argument("--json", help="write all figures to this JSON file")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="bookrec-synth-vs-surprise-")
    data = os.path.join(tmp, "synth.csv")
    run([args.bookrec, "synth", "--users", str(args.users), "--books", str(args.books), "--ratings",
         str(args.ratings), "--rating-scale", "1:5", "--noise", str(args.noise), "--seed", str(args.seed),
         "--out", data])
    df = pd.read_csv(data, dtype=str).iloc[:, :3]
    df.columns = ["user", "item", "rating"]
    df["rating"] = df["rating"].astype(float)
    print(f"{len(df)} ratings, {df.user.nunique()} users, {df.item.nunique()} books, "
          f"scale {df.rating.min():g}-{df.rating.max():g}; files in {tmp}; load average {os.getloadavg()[0]:.2f}")

    if not args.no_surprise:
        import surprise
        reader = surprise.Reader(rating_scale=(1, 5))
    perm = np.random.default_rng(args.seed).permutation(len(df))
    folds = np.array_split(perm, args.folds)
    rows = []
    for f, test_idx in enumerate(folds):
        train_idx = np.concatenate([folds[g] for g in range(args.folds) if g != f])
        train_df, test_df = df.iloc[train_idx], df.iloc[test_idx]
        train_path, test_path = os.path.join(tmp, f"train{f}.csv"), os.path.join(tmp, f"test{f}.csv")
        train_df.to_csv(train_path, index=False)
        test_df.to_csv(test_path, index=False)
        cmd = [args.bookrec, "evaluate", "--train", train_path, "--test", test_path, "--model", "svd",
               "-k", "0", "--json", "--seed", str(args.seed + f)]
        for p in args.param:
            cmd += ["-p", p]
        t = time.perf_counter()
        b = json.loads(run(cmd).stdout)
        b_cmd = time.perf_counter() - t
        row = {"fold": f + 1, "bookrec_rmse": b["rmse"], "bookrec_mae": b["mae"],
               "bookrec_fit_s": b["fit_seconds"], "bookrec_command_s": b_cmd}
        if not args.no_surprise:
            trainset = surprise.Dataset.load_from_df(train_df, reader).build_full_trainset()
            algo = surprise.SVD(random_state=args.seed + f)
            t = time.perf_counter()
            algo.fit(trainset)
            s_fit = time.perf_counter() - t
            preds = algo.test(list(zip(test_df.user, test_df.item, test_df.rating)))
            row.update(surprise_rmse=surprise.accuracy.rmse(preds, verbose=False),
                       surprise_mae=surprise.accuracy.mae(preds, verbose=False), surprise_fit_s=s_fit)
        rows.append(row)
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "fold"}
    print("mean  " + "  ".join(f"{k} {v:.4f}" for k, v in mean.items()))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "args": vars(args),
                       "loadavg": os.getloadavg(), "folds": rows, "mean": mean}, fh, indent=2)


if __name__ == "__main__":
    main()
