"""Shared pieces of the bookrec-vs-Surprise benchmarks (compare_surprise_synth.py,
compare_surprise_movielens.py): write a split's files, fit and score bookrec `svd` and
Surprise's `SVD` on them, and summarise repeated runs as mean ± standard error.

Both libraries read the same two CSV files (header `user,item,rating`, rows in the order given,
which the callers shuffle as Surprise's own splitters do); both use their default
hyper-parameters unless told otherwise (bookrec's `svd` defaults are Surprise's).
"""
import json
import math
import os
import subprocess
import sys
import time

import numpy as np


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p


def kfold_indices(n, folds, seed):
    """(train, test) index arrays of `folds` folds over a seeded permutation of range(n)."""
    parts = np.array_split(np.random.default_rng(seed).permutation(n), folds)
    return [(np.concatenate([parts[g] for g in range(folds) if g != f]), parts[f]) for f in range(folds)]


def holdout_indices(n, test_fraction, seed):
    """One (train, test) split: a seeded permutation, the first `test_fraction` held out."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return perm[n_test:], perm[:n_test]


def write_split(df, train_idx, test_idx, directory, name):
    """Writes df's rows train_idx / test_idx (in that order) to two CSV files; returns the
    paths and the two frames."""
    train_df, test_df = df.iloc[train_idx], df.iloc[test_idx]
    train_path = os.path.join(directory, f"{name}_train.csv")
    test_path = os.path.join(directory, f"{name}_test.csv")
    train_df.to_csv(train_path, index=False)
    test_df.to_csv(test_path, index=False)
    return train_path, test_path, train_df, test_df


def bookrec_svd(bookrec, train_path, test_path, seed, params=(), rating_scale=None, nice=None):
    """`bookrec evaluate --model svd` on the two files: RMSE, MAE, fit_seconds and the whole
    command's wall time (process start, loading, fit, predict)."""
    cmd = [bookrec, "evaluate", "--train", train_path, "--test", test_path, "--model", "svd",
           "-k", "0", "--json", "--seed", str(seed)]
    if rating_scale is not None:
        cmd += ["--rating-scale", f"{rating_scale[0]:g}:{rating_scale[1]:g}"]
    for p in params:
        cmd += ["-p", p]
    if nice is not None:
        cmd = ["nice", "-n", str(nice)] + cmd
    t = time.perf_counter()
    b = json.loads(run(cmd).stdout)
    wall = time.perf_counter() - t
    return {"bookrec_rmse": b["rmse"], "bookrec_mae": b["mae"], "bookrec_fit_s": b["fit_seconds"],
            "bookrec_command_s": wall}


def surprise_svd(train_df, test_df, seed, rating_scale, **svd_args):
    """Surprise's SVD (defaults unless svd_args) fitted on train_df, scored on test_df: RMSE,
    MAE and the time of `algo.fit` alone."""
    import surprise

    reader = surprise.Reader(rating_scale=rating_scale)
    trainset = surprise.Dataset.load_from_df(train_df.iloc[:, :3], reader).build_full_trainset()
    algo = surprise.SVD(random_state=seed, **svd_args)
    t = time.perf_counter()
    algo.fit(trainset)
    fit = time.perf_counter() - t
    cols = [test_df.iloc[:, c] for c in range(3)]
    preds = algo.test(list(zip(*cols)))
    return {"surprise_rmse": surprise.accuracy.rmse(preds, verbose=False),
            "surprise_mae": surprise.accuracy.mae(preds, verbose=False), "surprise_fit_s": fit}


def mean_se(xs):
    """(mean, standard error of the mean) of a list of numbers."""
    xs = np.asarray(xs, dtype=float)
    se = float(xs.std(ddof=1) / math.sqrt(len(xs))) if len(xs) > 1 else float("nan")
    return float(xs.mean()), se


def fmt_row(row):
    return "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
