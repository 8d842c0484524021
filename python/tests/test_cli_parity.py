"""The Python package and the `bookrec` CLI read and write the same model files and give the
same answers for them."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import bookrec


def run(cli: Path, *args: str) -> dict:
    out = subprocess.run([str(cli), *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def assert_same_recommendations(cli: Path, model_path: Path, model: bookrec.SVD, user: str) -> None:
    expected = run(cli, "recommend", "--model", str(model_path), "--user", user, "-n", "10", "--json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bookrec.UnknownUserWarning)
        got = model.recommend(user, n=10)
    assert got.attrs["known_user"] == expected["known_user"]
    cli_recs = expected["recommendations"]
    assert list(got["book_id"]) == [r["book_id"] for r in cli_recs]
    # Both print the engine's f32 scores; JSON keeps the shortest repr that round-trips f32.
    np.testing.assert_array_equal(got["score"].to_numpy(), np.array([r["score"] for r in cli_recs], dtype=np.float32))
    if expected["known_user"]:
        # The recommendation scores are the predicted ratings.
        np.testing.assert_array_equal(model.predict(user, got["book_id"]), got["score"].to_numpy())


@pytest.mark.parametrize("user", ["7", "42", "not-a-user"])
def test_cli_trained_model_answers_the_same_in_python(
    cli: Path, demo: bookrec.DemoData, tmp_path: Path, user: str
) -> None:
    path = tmp_path / "cli.bkr"
    subprocess.run(
        [str(cli), "train", "--ratings", demo.ratings_path, "--model", "svd", "-p", "factors=20", "--out", str(path)],
        check=True,
        capture_output=True,
    )
    model = bookrec.load(path)
    assert isinstance(model, bookrec.SVD) and model.factors == 20
    assert_same_recommendations(cli, path, model, user)


def test_python_trained_model_answers_the_same_in_the_cli(
    cli: Path, demo: bookrec.DemoData, tmp_path: Path
) -> None:
    model = bookrec.ALS(factors=12, iterations=5).fit(demo.ratings)
    path = tmp_path / "py.bkr"
    model.save(path)
    for user in ("7", "1500"):
        assert_same_recommendations(cli, path, model, user)
    similar = run(cli, "similar", "--model", str(path), "--book", "DB0001", "-n", "5", "--json")
    got = model.similar("DB0001", n=5)
    assert list(got["book_id"]) == [r["book_id"] for r in similar["similar"]]
    np.testing.assert_array_equal(got["score"].to_numpy(), np.array([r["score"] for r in similar["similar"]], dtype=np.float32))


def test_same_fit_as_the_cli(cli: Path, demo: bookrec.DemoData, tmp_path: Path) -> None:
    """Fitting in Python and with `bookrec train` (same data, parameters and seed) gives the
    same model: the same file fingerprint and identical factors."""
    path = tmp_path / "cli.bkr"
    subprocess.run(
        [str(cli), "train", "--ratings", demo.ratings_path, "--model", "svd", "-p", "factors=16", "-p", "epochs=5", "--out", str(path)],
        check=True,
        capture_output=True,
    )
    from_cli = bookrec.load(path)
    from_py = bookrec.SVD(factors=16, epochs=5).fit(demo.ratings)
    cli_meta, py_meta = from_cli.meta_, from_py.meta_
    assert cli_meta["data_fingerprint"] == py_meta["data_fingerprint"]
    for key in ("format_version", "bookrec_version", "engine", "n_train"):
        assert cli_meta[key] == py_meta[key]
    assert cli_meta["training_metrics"].keys() == py_meta["training_metrics"].keys()
    assert cli_meta["training_metrics"]["train_rmse"] == pytest.approx(py_meta["training_metrics"]["train_rmse"])
    np.testing.assert_array_equal(from_cli.item_factors_, from_py.item_factors_)
