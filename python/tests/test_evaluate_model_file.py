"""Scoring a saved model from Python: ``bookrec.evaluate(path, test)`` equals
``bookrec evaluate --model-file MODEL --test FILE --json``, and a test set that does not fit
the model is a ``DataError`` naming an example."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import bookrec


def test_evaluate_a_model_file_as_the_cli_does(
    cli: Path, split: tuple[bookrec.Ratings, bookrec.Ratings], tmp_path: Path
) -> None:
    train, test = split
    model_path = tmp_path / "svd.bkr"
    bookrec.SVD(factors=10, epochs=5).fit(train).save(model_path)
    test_path = tmp_path / "test.csv"
    test.to_pandas().to_csv(test_path, index=False)

    from_path = bookrec.evaluate(model_path, test_path)
    from_objects = bookrec.evaluate(bookrec.load(model_path), test)
    out = subprocess.run(
        [str(cli), "evaluate", "--model-file", str(model_path), "--test", str(test_path), "--json"],
        check=True, capture_output=True, text=True,
    )
    from_cli = json.loads(out.stdout)
    for key in ("rmse", "mae", "n_train", "n_test", "n_unknown_user", "n_unknown_item", "ranking"):
        assert from_path[key] == from_cli[key] == from_objects[key], key
    assert from_path["model"] == "svd" and 0.5 < from_path["rmse"] < 2.5


def test_a_test_set_that_does_not_fit_the_model_is_a_data_error(
    split: tuple[bookrec.Ratings, bookrec.Ratings], tmp_path: Path
) -> None:
    train, _ = split
    model_path = tmp_path / "baseline.bkr"
    bookrec.Baseline().fit(train).save(model_path)
    low, high = train.rating_scale
    user, book, other = str(train.user_ids[0]), str(train.book_ids[0]), str(train.book_ids[1])

    outside = pd.DataFrame({"user": [user, user], "item": [book, other], "rating": [high + 5, low]})
    with pytest.raises(bookrec.DataError, match="1 of 2 test ratings lie outside the model's rating scale"):
        bookrec.evaluate(model_path, outside)

    strangers = pd.DataFrame({"user": ["nobody-1", "nobody-2"], "item": [book, book], "rating": [low, high]})
    with pytest.raises(bookrec.DataError, match="none of the test set's 2 users is in the model"):
        bookrec.evaluate(model_path, strangers)

    with pytest.raises(bookrec.FileError, match="missing.bkr"):
        bookrec.evaluate(tmp_path / "missing.bkr", strangers)
