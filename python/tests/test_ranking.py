"""Ranking models (ImplicitALS, Popularity): preference scores, not ratings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import bookrec
from bookrec import _bookrec
from bookrec._models import engine_params

Split = tuple[bookrec.Ratings, bookrec.Ratings]


def test_implicit_als_parameters_are_the_engines() -> None:
    engine = engine_params(_bookrec.default_params("ials"))
    assert bookrec.ImplicitALS().get_params() == engine
    assert bookrec.Popularity().get_params() == {}


def test_implicit_als_ranks_and_reports_no_rating_error(split: Split, tmp_path: Path) -> None:
    train, test = split
    model = bookrec.ImplicitALS(factors=16, iterations=8).fit(train)
    df = test.to_pandas()
    scores = model.predict(df["user"], df["item"])
    assert scores.dtype == np.float32 and np.all(np.isfinite(scores))
    # Preferences around [0, 1], not clipped up to the 1–10 rating scale.
    assert np.mean(scores < 1.0) > 0.5
    report = bookrec.evaluate(model, test, k=10)
    assert report["model"] == "ials"
    assert report["rmse"] is None and report["mae"] is None
    pop = bookrec.evaluate(bookrec.Popularity().fit(train), test, k=10)
    assert report["ranking"]["ndcg"] > pop["ranking"]["ndcg"]

    user = df["user"].iloc[0]
    recs = model.recommend(user, n=5)
    assert len(recs) == 5 and recs["score"].is_monotonic_decreasing
    path = tmp_path / "ials.model"
    model.save(path)
    back = bookrec.load(path)
    assert isinstance(back, bookrec.ImplicitALS) and back.factors == 16
    pd.testing.assert_frame_equal(back.recommend(user, n=5), recs)
