"""Training on Spark (`bookrec train --engine spark`, local[2]) against native `als`, and the
imported model through the CLI and the Python package.

Spark starts slowly, so one Spark fit serves most assertions: its training data is a
`bookrec synth` set (planted low-rank structure) plus a block of "planted favourites" (two taste
groups with disjoint books), and its test set is a held-out fifth of both. Native `als` sees
exactly the same train/test files.

Needs PySpark and Java: skipped (with the reason) without them, except under CI, where
scripts/python-tests.sh installs them and their absence is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bookrec
from conftest import BX_DIR

FACTORS, ITERATIONS, REG = 4, 10, 0.05
#: Spark's bias-then-ALS-on-residuals fit versus native `als`, which now fits the same two stages
#: (same rank, λ, iterations, bias parameters). Measured on this set while native `als` still
#: fitted the biases jointly (2026-11-26): native 0.717, Spark 0.746 (the noise floor is ≈ 0.58);
#: not re-measured since the change (on Book-Crossing the gap went from −0.023 to +0.0015). The
#: tolerance leaves room for MLlib's different initialisation, while a fit that misses the
#: structure fails the global-mean check below.
RMSE_TOLERANCE = 0.05


def spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return f"PySpark is not installed for {sys.executable} (pip install pyspark)"
    java_home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java") or (java_home and Path(java_home, "bin", "java").is_file())):
        return "no Java runtime (apt-get install openjdk-17-jre-headless)"
    return None


@pytest.fixture(scope="module")
def spark_env() -> dict[str, str]:
    reason = spark_missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {reason}")
        pytest.skip(f"Spark tests skipped: {reason}")
    return {**os.environ, "BOOKREC_PYTHON": sys.executable}


def spark_train(cli: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(cli), "train", "--engine", "spark", "--master", "local[2]",
            "--spark-conf", "spark.ui.enabled=false", "--spark-conf", "spark.sql.shuffle.partitions=4",
            *args,
        ],
        capture_output=True, text=True, env=env, timeout=900,
    )


def planted_favourites(rng: random.Random) -> list[tuple[str, str, float]]:
    """Users g0-* love books fa-* and dislike fb-*; users g1-* the opposite. `fan0` (group 0)
    and `fan1` (group 1) rated only 4 books of each kind, so the others are theirs to discover."""
    rows = []
    for g in (0, 1):
        for u in range(40):
            for kind in ("fa", "fb"):
                for b in rng.sample(range(20), 12):
                    loved = (kind == "fa") == (g == 0)
                    rows.append((f"g{g}-{u}", f"{kind}{b}", float(rng.randint(8, 10) if loved else rng.randint(1, 3))))
    for g in (0, 1):
        for kind in ("fa", "fb"):
            for b in range(4):
                loved = (kind == "fa") == (g == 0)
                rows.append((f"fan{g}", f"{kind}{b}", 10.0 if loved else 1.0))
    return rows


@dataclass
class SparkRun:
    train: Path
    test: Path
    model: Path
    export: Path
    stderr: str
    native: dict


@pytest.fixture(scope="module")
def run(cli: Path, spark_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> SparkRun:
    d = tmp_path_factory.mktemp("spark")
    synth = d / "synth.csv"
    subprocess.run(
        [str(cli), "synth", "--users", "400", "--books", "200", "--ratings", "16000", "--rank", "3",
         "--noise", "0.5", "--seed", "3", "--out", str(synth)],
        check=True, capture_output=True,
    )
    # The synth file's columns are user, book, rating (header names vary): take them by position.
    df = pd.read_csv(synth, dtype=str).iloc[:, :3]
    df.columns = ["user", "book", "rating"]
    df["rating"] = df["rating"].astype(float)
    rng = random.Random(0)
    planted = pd.DataFrame(planted_favourites(rng), columns=["user", "book", "rating"])
    is_fan = planted["user"].str.startswith("fan")
    everything = pd.concat([df, planted[~is_fan]], ignore_index=True)
    test_mask = np.random.default_rng(0).random(len(everything)) < 0.2
    train = pd.concat([everything[~test_mask], planted[is_fan]], ignore_index=True)
    train_path, test_path = d / "train.csv", d / "test.csv"
    train.to_csv(train_path, index=False)
    everything[test_mask].to_csv(test_path, index=False)

    native = subprocess.run(
        [str(cli), "evaluate", "--train", str(train_path), "--test", str(test_path), "-m", "als",
         "-p", f"factors={FACTORS}", "-p", f"iterations={ITERATIONS}", "-p", f"reg={REG}", "-k", "0", "--json"],
        check=True, capture_output=True, text=True,
    )
    model, export = d / "spark.bkr", d / "export"
    out = spark_train(
        cli, spark_env, "--ratings", str(train_path), "--test", str(test_path), "-m", "als",
        "-p", f"factors={FACTORS}", "-p", f"iterations={ITERATIONS}", "-p", f"reg={REG}",
        "--export-dir", str(export), "--out", str(model),
    )
    assert out.returncode == 0, out.stderr + out.stdout
    return SparkRun(train_path, test_path, model, export, out.stderr, json.loads(native.stdout))


def test_cli_shows_stages_and_log(run: SparkRun) -> None:
    assert "stage 1/7" in run.stderr and "stage 7/7" in run.stderr, run.stderr
    assert "Spark's log:" in run.stderr
    assert Path(str(run.model) + ".spark.log").is_file()


def test_rmse_matches_native_als(run: SparkRun) -> None:
    meta = bookrec.load(run.model).meta_
    spark_rmse = meta["training_metrics"]["test_rmse"]
    native_rmse = run.native["rmse"]
    assert abs(spark_rmse - native_rmse) < RMSE_TOLERANCE, (spark_rmse, native_rmse)
    # Both learned the planted structure: far below predicting the global mean.
    test = pd.read_csv(run.test, dtype={"user": str, "book": str})
    train = pd.read_csv(run.train, dtype={"user": str, "book": str})
    mean_rmse = float(np.sqrt(((test["rating"] - train["rating"].mean()) ** 2).mean()))
    assert spark_rmse < 0.6 * mean_rmse, (spark_rmse, mean_rmse)


def test_imported_model_reproduces_sparks_predictions(run: SparkRun) -> None:
    """The model file predicts what Spark evaluated: RMSE recomputed in Python equals Spark's."""
    model = bookrec.load(run.model)
    meta = model.meta_
    assert meta["engine"] == "spark"
    assert meta["data_fingerprint"].startswith("spark-xxh64sum:")
    train = pd.read_csv(run.train, dtype={"user": str, "book": str})
    assert meta["n_train"] == len(train)
    test = pd.read_csv(run.test, dtype={"user": str, "book": str})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = np.array([model.predict(u, [b])[0] for u, b in zip(test["user"], test["book"])])
    rmse = float(np.sqrt(((pred - test["rating"].to_numpy()) ** 2).mean()))
    assert rmse == pytest.approx(meta["training_metrics"]["test_rmse"], abs=1e-4)


def test_recommend_returns_the_planted_favourites(cli: Path, run: SparkRun) -> None:
    for fan, loved in (("fan0", "fa"), ("fan1", "fb")):
        out = subprocess.run(
            [str(cli), "recommend", "--model", str(run.model), "--user", fan, "-n", "8", "--json"],
            check=True, capture_output=True, text=True,
        )
        recs = json.loads(out.stdout)
        assert recs["known_user"]
        books = [r["book"]["id"] for r in recs["items"]]
        assert len(books) == 8 and all(b.startswith(loved) for b in books), (fan, books)
        assert not {f"{loved}{b}" for b in range(4)} & set(books), "seen books are excluded"


def test_import_spark_command_and_refusals(cli: Path, run: SparkRun, tmp_path: Path) -> None:
    again = tmp_path / "again.bkr"
    subprocess.run([str(cli), "import-spark", str(run.export), "--out", str(again)], check=True, capture_output=True)
    a, b = bookrec.load(run.model), bookrec.load(again)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)

    half = tmp_path / "half"
    shutil.copytree(run.export, half)
    manifest = json.loads((half / "manifest.json").read_text())
    (half / "manifest.json").unlink()
    out = subprocess.run([str(cli), "import-spark", str(half), "--out", str(tmp_path / "x.bkr")], capture_output=True, text=True)
    assert out.returncode != 0 and "half-written" in out.stderr, out.stderr
    manifest["format_version"] = 99
    (half / "manifest.json").write_text(json.dumps(manifest))
    out = subprocess.run([str(cli), "import-spark", str(half), "--out", str(tmp_path / "x.bkr")], capture_output=True, text=True)
    assert out.returncode != 0 and "export format version 99" in out.stderr, out.stderr
    assert not (tmp_path / "x.bkr").exists()


def test_malformed_input_is_a_clear_error(cli: Path, spark_env: dict[str, str], tmp_path: Path) -> None:
    out = spark_train(cli, spark_env, "-m", "als", "--ratings", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "m.bkr"))
    assert out.returncode != 0 and "cannot read ratings" in out.stderr and "nope.csv" in out.stderr, out.stderr

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("reader,title,stars\n1,a,5\n2,b,4\n3,c,3\n")
    out = spark_train(cli, spark_env, "-m", "als", "--ratings", str(wrong), "--user-col", "reader", "--item-col", "isbn",
                      "--out", str(tmp_path / "m.bkr"))
    assert out.returncode != 0, out.stderr
    assert "no book column 'isbn'" in out.stderr and "'title'" in out.stderr, out.stderr

    words = tmp_path / "words.csv"
    words.write_text("user,book,rating\n1,a,good\n2,b,bad\n3,c,fine\n")
    out = spark_train(cli, spark_env, "-m", "als", "--ratings", str(words), "--out", str(tmp_path / "m.bkr"))
    assert out.returncode != 0, out.stderr
    assert "rating column holds no numbers" in out.stderr and "'good'" in out.stderr, out.stderr
    assert "Spark job failed" in out.stderr and ".spark.log" in out.stderr
    assert not (tmp_path / "m.bkr").exists()


def test_missing_tools_are_named(cli: Path, tmp_path: Path) -> None:
    data = tmp_path / "r.csv"
    data.write_text("user,book,rating\n1,a,5\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_HOME", "JAVA_HOME")}
    env.update(PATH="/nonexistent", BOOKREC_PYTHON=str(tmp_path / "no-python"))
    out = subprocess.run([str(cli), "train", "--engine", "spark", "--ratings", str(data), "-m", "als", "--out",
                          str(tmp_path / "m.bkr")], capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "spark-submit not found" in out.stderr and "pip install pyspark" in out.stderr
    if importlib.util.find_spec("pyspark") is not None:
        env["BOOKREC_PYTHON"] = sys.executable
        out = subprocess.run([str(cli), "train", "--engine", "spark", "--ratings", str(data), "-m", "als", "--out",
                              str(tmp_path / "m.bkr")], capture_output=True, text=True, env=env)
        assert out.returncode != 0 and "Java not found" in out.stderr, out.stderr


@pytest.mark.skipif(not BX_DIR.is_dir(), reason=f"Book-Crossing data not found at {BX_DIR}")
def test_book_crossing_sized_fit_without_holdout_scores_like_native_als(
    cli: Path, spark_env: dict[str, str], tmp_path: Path
) -> None:
    """Spark at Book-Crossing size (its 433,671 explicit ratings, 80/20), on the machine as the
    project sets it up: no system BLAS unless the machine has one (Spark then falls back to
    Java's; the job says which it uses). Training takes every rating of the file by default,
    as native `train` does, and the imported model, scored by `evaluate --model-file`, is as
    accurate as native `als` with the same parameters (rank 10 and 5 iterations keep this
    test at about two minutes here)."""
    df = pd.read_csv(BX_DIR / "BX-Book-Ratings.csv", sep=";", encoding="latin-1", dtype=str)
    df.columns = ["user", "book", "rating"]
    df = df[df["rating"].astype(int) > 0]
    is_test = np.random.default_rng(0).random(len(df)) < 0.2
    train_path, test_path = tmp_path / "bx_train.csv", tmp_path / "bx_test.csv"
    df[~is_test].to_csv(train_path, index=False)
    df[is_test].to_csv(test_path, index=False)
    params = ["-m", "als", "-p", "factors=10", "-p", "iterations=5"]

    model = tmp_path / "bx-spark.bkr"
    out = spark_train(cli, spark_env, "--ratings", str(train_path), *params, "--out", str(model))
    assert out.returncode == 0, out.stderr + out.stdout
    assert "BLAS: " in out.stderr, out.stderr
    assert "no held-out evaluation" in out.stdout, out.stdout
    meta = bookrec.load(model).meta_
    # Every rating of the file, not 80% of it. Spark's cleaning keeps 6 more ratings than the
    # native loader's here (346,704 vs 346,698 on 2026-12-03: a few ids normalise differently),
    # so the count is compared with a margin far below a holdout's 69,000.
    native_n = len(bookrec.read_ratings(train_path))
    assert abs(meta["n_train"] - native_n) <= 20 and native_n > 300_000, (meta["n_train"], native_n)
    assert meta["training_metrics"].get("test_rmse") is None

    scored = subprocess.run(
        [str(cli), "evaluate", "--model-file", str(model), "--test", str(test_path), "-k", "0", "--json"],
        check=True, capture_output=True, text=True,
    )
    native = subprocess.run(
        [str(cli), "evaluate", "--train", str(train_path), "--test", str(test_path), *params, "-k", "0", "--json"],
        check=True, capture_output=True, text=True,
    )
    spark_rmse, native_rmse = json.loads(scored.stdout)["rmse"], json.loads(native.stdout)["rmse"]
    # Measured 2026-12-03: see the README (Training on Spark). Same model definition, so only
    # MLlib's initialisation and blocking separate them.
    assert abs(spark_rmse - native_rmse) < 0.01, (spark_rmse, native_rmse)
    assert spark_rmse < 1.8, spark_rmse  # the global mean scores ≈ 1.85 on this data
