#!/usr/bin/env python3
"""Spark path (`bookrec train --engine spark`, MLlib ALS on bias residuals) vs native `als`.

1. Book-Crossing, explicit ratings, one 80/20 split (seed 0), same rank / λ / iterations for
   both engines: held-out RMSE and MAE, and wall-clock time.
2. `bookrec synth` data at the given sizes: fit time of the Spark path on local[2] next to
   native `als` on the same file (same rank / λ / iterations), both training on all ratings.

Usage: bench/spark_vs_native.py [--sizes 1000000 10000000 20000000] [--skip-bx] [--native-only]
Needs a release build (target/release/bookrec), PySpark and Java; the BX dump in
../shared/data/book-crossing. Writes bench/results/spark.json (merged with an existing one, so
sizes can be run separately).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CLI = Path(os.environ.get("BOOKREC", REPO / "target" / "release" / "bookrec"))
BX = REPO.parent / "shared" / "data" / "book-crossing" / "BX-Book-Ratings.csv"
RESULTS = REPO / "bench" / "results" / "spark.json"


def sh(*args: str) -> tuple[str, float]:
    t = time.time()
    out = subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True,
                         env={**os.environ, "BOOKREC_PYTHON": sys.executable})
    return out.stdout, time.time() - t


def load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def spark_args(master: str, memory: str) -> list[str]:
    return ["--engine", "spark", "--master", master, "--spark-conf", "spark.ui.enabled=false",
            "--spark-conf", f"spark.driver.memory={memory}"]


def bx_split(tmp: Path) -> tuple[Path, Path]:
    """Explicit BX ratings (ids normalised as the native loader does; zeros are implicit and
    dropped; duplicates keep the last), 80/20 at random with seed 0."""
    df = pd.read_csv(BX, sep=";", encoding="latin-1", dtype=str, quotechar='"', escapechar="\\",
                     on_bad_lines="skip")
    df.columns = ["user", "book", "rating"]
    strip = lambda s: s.str.strip().str.strip("\"'\\ \t")  # noqa: E731
    df["user"], df["book"] = strip(df["user"]), strip(df["book"])
    df["book"] = df["book"].where(~df["book"].str.fullmatch(r"[0-9]+x"), df["book"].str[:-1] + "X")
    df["rating"] = pd.to_numeric(df["rating"], errors="coerce")
    df = df.dropna()
    df = df[(df["rating"] >= 1) & (df["rating"] <= 10)].drop_duplicates(["user", "book"], keep="last")
    test = np.random.default_rng(0).random(len(df)) < 0.2
    train_p, test_p = tmp / "bx_train.csv", tmp / "bx_test.csv"
    df[~test].to_csv(train_p, index=False)
    df[test].to_csv(test_p, index=False)
    return train_p, test_p


def bench_bx(tmp: Path, master: str, params: list[str]) -> dict:
    train, test = bx_split(tmp)
    load_native = load_avg()
    print(f"BX: native als ... (load {load_native})", flush=True)
    out, native_s = sh(CLI, "evaluate", "--train", train, "--test", test, "-m", "als", *params, "-k", "0", "--json")
    native = json.loads(out)
    load_spark = load_avg()
    print(f"  native rmse {native['rmse']:.4f} in {native_s:.1f}s; Spark ... (load {load_spark})", flush=True)
    out, spark_s = sh(CLI, "train", *spark_args(master, "4g"), "--ratings", train, "--test", test, "-m", "als",
                      *params, "--out", tmp / "bx_spark.bkr", "--json")
    meta = json.loads(out)
    m = meta["training_metrics"]
    print(f"  spark rmse {m['test_rmse']:.4f} in {spark_s:.1f}s", flush=True)
    return {
        "split": "explicit ratings, random 80/20, numpy default_rng(0)",
        "n_train": meta["n_train"], "n_test": m["n_test"], "params": params,
        "native": {"rmse": native["rmse"], "mae": native["mae"], "fit_seconds": native.get("fit_seconds"),
                   "wall_seconds": round(native_s, 2)},
        "spark": {"rmse": m["test_rmse"], "mae": m["test_mae"], "wall_seconds": round(spark_s, 2),
                  "timings": m["timings"], "master": master},
        "rmse_gap": m["test_rmse"] - native["rmse"],
        "load_avg_before_native": load_native, "load_avg_before_spark": load_spark,
        "load_avg_after": load_avg(),
    }


def bench_synth(tmp: Path, n: int, master: str, params: list[str], native_only: bool = False) -> dict:
    users, books = n // 20, n // 100
    data = tmp / f"synth_{n}.csv"
    sh(CLI, "synth", "--users", str(users), "--books", str(books), "--ratings", str(n), "--seed", "0", "--out", data)
    load_native = load_avg()
    print(f"synth {n}: native als ... (load {load_native})", flush=True)
    out, native_s = sh(CLI, "train", "--ratings", data, "-m", "als", *params, "--out", tmp / "n.bkr", "--json")
    native = json.loads(out)["training_metrics"]
    result = {
        "ratings": n, "users": users, "books": books, "params": params,
        "native": {"fit_seconds": native["fit_seconds"], "wall_seconds": round(native_s, 2),
                   "train_rmse": native.get("train_rmse")},
        "load_avg_before_native": load_native,
    }
    if native_only:
        print(f"  native fit {native['fit_seconds']:.1f}s (wall {native_s:.1f}s); Spark not run", flush=True)
        data.unlink()
        return {**result, "spark": None, "load_avg_after": load_avg()}
    load_spark = load_avg()
    print(f"  native fit {native['fit_seconds']:.1f}s (wall {native_s:.1f}s); Spark ... (load {load_spark})",
          flush=True)
    out, spark_s = sh(CLI, "train", *spark_args(master, "10g"), "--ratings", data, "--test-fraction", "0",
                      "-m", "als", *params, "--out", tmp / "s.bkr", "--json")
    t = json.loads(out)["training_metrics"]["timings"]
    fit = t["bias_seconds"] + t["als_seconds"]
    print(f"  spark fit {fit:.1f}s (wall {spark_s:.1f}s)", flush=True)
    data.unlink()
    return {
        **result,
        "spark": {"fit_seconds": round(fit, 2), "wall_seconds": round(spark_s, 2), "timings": t, "master": master},
        "spark_over_native_fit": round(fit / native["fit_seconds"], 1),
        "load_avg_before_spark": load_spark,
        "load_avg_after": load_avg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000, 20_000_000])
    ap.add_argument("--skip-bx", action="store_true")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--native-only", action="store_true",
                    help="synthetic sizes: time native als only (records spark: null)")
    a = ap.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(machine={"cores": os.cpu_count(),
                            "note": "load_avg_* show what else ran: about 2 on 2 cores is this benchmark alone"})

    def save() -> None:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    with tempfile.TemporaryDirectory(dir=REPO / "target") as d:
        tmp = Path(d)
        if not a.skip_bx:
            results["book_crossing"] = bench_bx(tmp, a.master, ["-p", "factors=50", "-p", "iterations=15", "-p", "reg=0.1"])
            save()
        for n in a.sizes:
            synth = results.setdefault("synth", {})
            params = ["-p", "factors=10", "-p", "iterations=10", "-p", "reg=0.1"]
            synth[str(n)] = bench_synth(tmp, n, a.master, params, a.native_only)
            save()


if __name__ == "__main__":
    main()
