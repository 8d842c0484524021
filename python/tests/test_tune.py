"""`bookrec.tune`: the engine's hyper-parameter search (the code behind `bookrec tune`)."""

from __future__ import annotations

import json
import math
import random
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import bookrec

SVD_SPACE = {"factors": {"log_int": [2, 20]}, "epochs": 10, "reg": {"log_uniform": [0.01, 1]}}
IALS_SPACE = {"factors": {"log_int": [2, 16]}, "iterations": 4, "reg": {"log_uniform": [0.01, 10]}}


@pytest.fixture(scope="module")
def interactions_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Readers in 4 genres of 15 books: ratings 1–10 and unrated interactions (0), all inside
    the reader's genre, so a ranking model has something to find."""
    rng = random.Random(5)
    lines = ["user,book,rating"]
    for u in range(240):
        genre = u % 4
        for b in rng.sample(range(15), 8):
            rating = rng.choice([0, 0, 0, 4, 7, 9, 10])
            lines.append(f"u{u},g{genre}b{b},{rating}")
    path = tmp_path_factory.mktemp("tune") / "interactions.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tune_svd_returns_the_table_best_params_and_fits_the_best(demo: bookrec.DemoData) -> None:
    result = bookrec.tune(demo.ratings, model="svd", trials=4, folds=2, space=SVD_SPACE, seed=1)
    assert isinstance(result, bookrec.TuneResult)
    assert (result.model, result.metric) == ("svd", "rmse")
    table = result.table
    assert isinstance(table, pd.DataFrame) and len(table) == 4
    assert table.index.name == "trial" and sorted(table.index) == [0, 1, 2, 3]
    assert list(table.columns) == [
        "epochs", "factors", "reg", "rmse_mean", "rmse_std", "rmse", "mae", "fit_seconds", "error"
    ]
    # Best first (lowest RMSE), and the best score is the first row's.
    assert table["rmse_mean"].is_monotonic_increasing
    assert result.best_score == table["rmse_mean"].iloc[0]
    best_row = table.iloc[0]
    assert result.best_params["factors"] == best_row["factors"]
    assert result.best_params["epochs"] == 10
    # Every SVD parameter, defaults included, ready for the class.
    assert set(result.best_params) == set(bookrec.SVD().get_params())
    model = result.fit_best(demo.ratings)
    assert isinstance(model, bookrec.SVD) and model.factors == best_row["factors"]
    assert model.get_params() == result.best_params
    assert len(model.recommend("7", n=5)) == 5
    assert isinstance(result.best_estimator(), bookrec.SVD)
    # Same seed, same trials (timings aside); the report is the engine's JSON.
    again = bookrec.tune(demo.ratings, model="svd", trials=4, folds=2, space=SVD_SPACE, seed=1)
    cols = ["factors", "reg", "rmse_mean", "rmse_std"]
    pd.testing.assert_frame_equal(again.table[cols], table[cols])
    assert result.report["folds_over"] == "ratings" and len(result.report["trials"]) == 4


def test_tune_ials_for_ndcg_on_held_out_interactions(interactions_csv: Path) -> None:
    ratings = bookrec.read_ratings(interactions_csv)
    assert ratings.n_implicit > 0
    result = bookrec.tune(
        ratings, model="ials", trials=5, folds=3, metric="ndcg@10", space=IALS_SPACE, seed=2
    )
    assert result.metric == "ndcg@10"
    assert result.report["folds_over"] == "interactions"
    assert result.report["n_interactions"] == len(ratings) + ratings.n_implicit
    table = result.table
    assert table["ndcg@10_mean"].is_monotonic_decreasing  # higher is better: best first
    assert 0.0 < result.best_score <= 1.0
    # ials predicts no ratings: NaN, not a made-up RMSE.
    assert table["rmse"].isna().all()
    model = result.fit_best(ratings)
    assert isinstance(model, bookrec.ImplicitALS)
    assert model.factors == table["factors"].iloc[0] and model.iterations == 4
    # Rating models can be tuned for ranking too (fitted on the rated part of each fold).
    svd = bookrec.tune(ratings, model="svd", trials=2, folds=2, metric="recall@5", space=SVD_SPACE)
    assert svd.table["rmse"].notna().all() and 0.0 <= svd.best_score <= 1.0


def test_default_space_and_a_space_file(demo: bookrec.DemoData, tmp_path: Path) -> None:
    result = bookrec.tune(demo.ratings, model="baseline", trials=2, folds=2)
    assert {"reg_u", "reg_i"} <= set(result.table.columns)
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"model": "baseline", "reg_u": {"log_uniform": [1, 20]}}))
    from_file = bookrec.tune(demo.ratings, model="baseline", trials=2, folds=2, space=path)
    assert list(from_file.table.columns[:1]) == ["reg_u"]
    assert all(1 <= v <= 20 for v in from_file.table["reg_u"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "ndcg@0"}, "k must be a whole number"),
        ({"metric": "foo"}, "unknown metric"),
        ({"model": "ials", "metric": "rmse"}, "ranking model"),
        ({"model": "popularity", "metric": "ndcg@10"}, "no hyper-parameters"),
        ({"model": "nope"}, "unknown model"),
        ({"folds": 1}, "folds"),
        ({"trials": 0}, "trials"),
    ],
)
def test_bad_options_raise_param_errors(
    demo: bookrec.DemoData, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"model": "svd", "trials": 2, "folds": 2}
    args.update(kwargs)
    with pytest.raises(bookrec.ParamError, match=message):
        bookrec.tune(demo.ratings, **args)  # type: ignore[arg-type]


def test_bad_space_names_the_key(demo: bookrec.DemoData) -> None:
    with pytest.raises(bookrec.DataError, match="factorz") as err:
        bookrec.tune(demo.ratings, model="svd", space={"factorz": {"int": [2, 5]}})
    assert "<space dict>" in str(err.value)
    with pytest.raises(bookrec.DataError, match="empty range"):
        bookrec.tune(demo.ratings, model="svd", space={"reg": {"log_uniform": [0.5, 0.1]}})
    with pytest.raises(bookrec.FileError):
        bookrec.tune(demo.ratings, model="svd", space=Path("/nonexistent/space.json"))


def test_same_trials_as_the_cli(cli: Path, interactions_csv: Path, tmp_path: Path) -> None:
    """One engine: the CLI and Python give the same trial table for the same file and seed."""
    space = tmp_path / "ials.json"
    space.write_text(json.dumps(IALS_SPACE))
    args = ["--model", "ials", "--metric", "ndcg@10", "--trials", "4", "--folds", "2", "--seed", "7"]
    out = subprocess.run(
        [str(cli), "tune", "--ratings", str(interactions_csv), *args, "--space", str(space),
         "--out-dir", str(tmp_path / "out"), "--json"],
        check=True, capture_output=True, text=True,
    )
    cli_trials = json.loads(out.stdout)["tune"]["trials"]
    py = bookrec.tune(
        bookrec.read_ratings(interactions_csv), model="ials", trials=4, folds=2,
        metric="ndcg@10", space=space, seed=7,
    )
    py_trials = py.report["trials"]
    assert [t["params"] for t in py_trials] == [t["params"] for t in cli_trials]
    for a, b in zip(py_trials, cli_trials):
        assert math.isclose(a["mean"], b["mean"], rel_tol=0, abs_tol=0)


def test_tune_with_books_ranks_works_as_the_cli_does(cli: Path, demo: bookrec.DemoData, tmp_path: Path) -> None:
    """`tune(..., books=...)` is `bookrec tune --books`: the same trials, scored on lists of
    works, and a non-catalogue is refused."""
    space = tmp_path / "ials.json"
    space.write_text(json.dumps(IALS_SPACE))
    args = ["--model", "ials", "--metric", "ndcg@10", "--trials", "2", "--folds", "2", "--seed", "3"]
    out = subprocess.run(
        [str(cli), "tune", "--ratings", str(demo.ratings_path), "--books", str(demo.books_path), *args,
         "--space", str(space), "--out-dir", str(tmp_path / "out"), "--json"],
        check=True, capture_output=True, text=True,
    )
    cli_trials = json.loads(out.stdout)["tune"]["trials"]
    books = bookrec.read_books(demo.books_path)
    py = bookrec.tune(
        bookrec.read_ratings(demo.ratings_path).with_books(books), model="ials", trials=2, folds=2,
        metric="ndcg@10", space=space, seed=3, books=books,
    )
    assert [t["mean"] for t in py.report["trials"]] == [t["mean"] for t in cli_trials]
    with pytest.raises(TypeError, match="bookrec.Books"):
        bookrec.tune(demo.ratings, model="ials", metric="ndcg@10", books=str(demo.books_path))  # type: ignore[arg-type]
