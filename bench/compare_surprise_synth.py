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
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from surprise_common import bookrec_svd, fmt_row, kfold_indices, run, surprise_svd, write_split  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


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

    rows = []
    for f, (train_idx, test_idx) in enumerate(kfold_indices(len(df), args.folds, args.seed)):
        train_path, test_path, train_df, test_df = write_split(df, train_idx, test_idx, tmp, f"fold{f}")
        row = {"fold": f + 1}
        row.update(bookrec_svd(args.bookrec, train_path, test_path, args.seed + f, args.param))
        if not args.no_surprise:
            row.update(surprise_svd(train_df, test_df, args.seed + f, (1, 5)))
        rows.append(row)
        print(fmt_row(row))
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "fold"}
    print("mean  " + "  ".join(f"{k} {v:.4f}" for k, v in mean.items()))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "args": vars(args),
                       "loadavg": os.getloadavg(), "folds": rows, "mean": mean}, fh, indent=2)


if __name__ == "__main__":
    main()
