"""Hyper-parameter search: the engine's `bookrec tune` on in-memory ratings."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from . import _bookrec
from ._data import Books, Ratings, _engine_books
from ._models import MODEL_CLASSES, _as_ratings, _Model, engine_params

__all__ = ["TuneResult", "tune"]


@dataclass(frozen=True)
class TuneResult:
    """The outcome of :func:`bookrec.tune`.

    ``table``: one row per trial, best first (index ``trial``, in proposal order), one column
    per searched parameter, then ``<metric>_mean``, ``<metric>_std`` (over the folds),
    ``rmse``, ``mae`` (NaN for ranking models), ``fit_seconds`` (per fold) and ``error``
    (why a trial failed, else None). ``best_params``: every hyper-parameter of the best trial
    (defaults included), ready for the model class. ``report``: the engine's full report (the
    JSON ``bookrec tune`` writes)."""

    model: str
    metric: str
    best_params: dict[str, Any]
    best_score: float
    table: pd.DataFrame
    report: dict[str, Any] = field(repr=False)

    def best_estimator(self) -> _Model:
        """A new, unfitted estimator of the tuned class with the best parameters."""
        cls = MODEL_CLASSES[self.model]
        names = set(cls._get_param_names())
        return cls(**{k: v for k, v in self.best_params.items() if k in names})

    def fit_best(self, data: Ratings | pd.DataFrame) -> _Model:
        """Fits the best parameters on ``data`` (e.g. all the ratings that were tuned on)."""
        return self.best_estimator().fit(data)


def tune(
    data: Ratings | pd.DataFrame,
    model: str = "svd",
    trials: int = 30,
    folds: int = 3,
    metric: str = "rmse",
    space: None | Mapping[str, Any] | str | os.PathLike[str] = None,
    seed: int = 0,
    search: str = "tpe",
    books: Books | None = None,
) -> TuneResult:
    """Searches ``model``'s hyper-parameters on ``data`` by k-fold cross-validation, with the
    same engine code as ``bookrec tune`` (same seed, same trials, same table).

    ``metric``: ``"rmse"`` (lower is better; folds over the explicit ratings; rating models
    only) or a ranking metric ``"ndcg@10"``, ``"precision@k"``, ``"recall@k"``, ``"map@k"``,
    ``"hit_rate@k"`` (higher is better; folds over every user's interactions, rated or not,
    each held-out book relevant; every model, including ``"ials"``). ``space``: None for the
    model's built-in search space, a dict in the ``--space`` JSON format (e.g.
    ``{"factors": {"log_int": [8, 128]}, "reg": {"log_uniform": [0.01, 1]}, "epochs": 20}``),
    or the path of a space file. ``search``: ``"tpe"`` or ``"random"``. Invalid names, spaces
    and fold counts raise :class:`bookrec.ParamError` / :class:`bookrec.DataError` before any
    trial runs; the GIL is released during the search. ``books`` (a catalogue): a ranking
    metric scores lists of works as they are served (``bookrec tune --books``); prepare
    ``data`` with :meth:`bookrec.Ratings.with_books` to also tune at the works level."""
    catalog = None if books is None else _engine_books(books, "tune's books")
    if isinstance(space, Mapping):
        space_json: str | None = json.dumps(dict(space))
        space_path: str | None = None
    elif space is None:
        space_json, space_path = None, None
    else:
        space_json, space_path = None, os.fspath(space)
    text = _bookrec.tune(
        str(model),
        _as_ratings(data)._inner,
        int(trials),
        int(folds),
        str(metric),
        str(search),
        int(seed),
        space_json=space_json,
        space_path=space_path,
        books=catalog,
    )
    report: dict[str, Any] = json.loads(text)
    return TuneResult(
        model=report["model"],
        metric=report["metric"],
        best_params=engine_params(json.dumps(report["best_params"])),
        best_score=_number(report["trials"][report["best"]]["mean"]),
        table=_table(report),
        report=report,
    )


def _number(v: Any) -> float:
    """A figure from the engine's JSON, where NaN is written as null."""
    return float("nan") if v is None else float(v)


def _table(report: dict[str, Any]) -> pd.DataFrame:
    metric = report["metric"]
    rows = []
    for t in report["trials"]:
        row: dict[str, Any] = {"trial": t["trial"], **t["params"]}
        row[f"{metric}_mean"] = _number(t["mean"])
        row[f"{metric}_std"] = _number(t["std"])
        for key in ("rmse", "mae", "fit_seconds"):
            row[key] = _number(t[key])
        row["error"] = t.get("error")
        rows.append(row)
    df = pd.DataFrame(rows).set_index("trial")
    lower_is_better = metric == "rmse"
    return df.sort_values(f"{metric}_mean", ascending=lower_is_better, na_position="last", kind="stable")
