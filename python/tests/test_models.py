"""Models: scikit-learn conventions, zero-copy arrays, prediction, recommendation, model files,
evaluation, errors."""

from __future__ import annotations

import gc
import json
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bookrec
from bookrec import _bookrec
from bookrec._models import engine_params

ALL_MODELS = [
    bookrec.GlobalMean,
    bookrec.Baseline,
    bookrec.SVD,
    bookrec.SVDpp,
    bookrec.ALS,
    bookrec.ItemKNN,
    bookrec.NCF,
    bookrec.Hybrid,
]
FACTOR_MODELS = [bookrec.SVD, bookrec.SVDpp, bookrec.ALS]

Split = tuple[bookrec.Ratings, bookrec.Ratings]


@pytest.mark.parametrize("cls", ALL_MODELS)
def test_parameters_are_the_engines(cls: type) -> None:
    """Every class lists exactly the engine's hyper-parameters, with the engine's defaults
    (so `SVD()` is Surprise's SVD)."""
    engine = engine_params(_bookrec.default_params(cls._kind))
    assert cls().get_params() == engine


#: Models that rank rather than predict ratings (tests in test_ranking.py).
RANKING_MODELS = [bookrec.ImplicitALS, bookrec.Popularity]


def test_every_engine_model_has_a_class() -> None:
    kinds = {cls._kind for cls in ALL_MODELS + RANKING_MODELS}
    assert kinds == set(_bookrec.model_names())


@pytest.mark.parametrize("cls", ALL_MODELS)
def test_fit_predict_every_model(cls: type, split: Split) -> None:
    train, test = split
    model = cls().fit(train)
    df = test.to_pandas()
    pred = model.predict(df["user"], df["item"])
    assert pred.shape == (len(test),) and pred.dtype == np.float32
    assert np.all((pred >= 1) & (pred <= 10))
    report = bookrec.evaluate(model, test, k=10)
    assert report["model"] == cls._kind and report["n_test"] == len(test)
    if cls is not bookrec.GlobalMean:
        # Every personalised model beats the global mean on the planted-taste demo data.
        mean_rmse = bookrec.evaluate(bookrec.GlobalMean().fit(train), test, k=None)["rmse"]
        assert report["rmse"] < mean_rmse
    rmse = float(np.sqrt(np.mean((pred - df["rating"].to_numpy()) ** 2)))
    assert rmse == pytest.approx(report["rmse"], rel=1e-5)
    # Serving works for every model.
    recs = model.recommend("7", n=5)
    assert len(recs) == 5 and recs.attrs["known_user"]
    folded = model.fold_in({"DB0001": 9, "DB0002": 8}, n=5)
    assert len(folded) == 5 and not {"DB0001", "DB0002"} & set(folded["book_id"])
    similar = model.similar("DB0001", n=3)
    has_similarity = cls in (bookrec.SVD, bookrec.SVDpp, bookrec.ALS, bookrec.ItemKNN, bookrec.NCF)
    assert len(similar) == (3 if has_similarity else 0)


def test_sklearn_conventions() -> None:
    m = bookrec.SVD(factors=30, lr=0.01)
    assert m.get_params()["factors"] == 30 and m.get_params()["lr"] == 0.01
    assert m.set_params(epochs=5) is m and m.epochs == 5
    clone = type(m)(**m.get_params())  # what sklearn.base.clone does
    assert clone.get_params() == m.get_params()
    assert repr(m) == "SVD(factors=30, epochs=5, lr=0.01)"
    with pytest.raises(bookrec.ParamError, match="valid: factors") as info:
        m.set_params(n_factors=3)
    assert info.value.name == "n_factors"
    with pytest.raises(TypeError):
        bookrec.SVD(n_factors=3)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "model, name",
    [
        (bookrec.SVD(factors=0), "factors"),
        (bookrec.SVD(lr=-1.0), "lr"),
        (bookrec.ALS(iterations=0), "iterations"),
        (bookrec.Baseline(method="newton"), "method"),
        (bookrec.ItemKNN(similarity="jaccard"), "similarity"),
    ],
)
def test_bad_hyper_parameters(model: bookrec.SVD, name: str, split: Split) -> None:
    with pytest.raises(bookrec.ParamError) as info:
        model.fit(split[0])
    assert isinstance(info.value, ValueError)
    assert info.value.name == name and name in str(info.value)


def test_ncf_layers_and_model_file(split: Split, tmp_path: Path) -> None:
    """NCF's list-valued `layers` reaches the engine, and a saved model loads as an NCF with
    the same hyper-parameters and identical predictions."""
    train, test = split
    model = bookrec.NCF(factors=8, layers=[16, 4], epochs=3, seed=1).fit(train)
    assert json.loads(model._model().params_json)["layers"] == [16, 4]
    path = tmp_path / "ncf.bkr"
    model.save(path)
    loaded = bookrec.load(path)
    assert isinstance(loaded, bookrec.NCF)
    assert list(loaded.layers) == [16, 4] and loaded.factors == 8
    df = test.to_pandas()
    np.testing.assert_array_equal(
        model.predict(df["user"], df["item"]), loaded.predict(df["user"], df["item"])
    )
    with pytest.raises(bookrec.ParamError) as info:
        bookrec.NCF(layers=[]).fit(train)
    assert info.value.name == "layers"


def test_not_fitted() -> None:
    m = bookrec.SVD()
    for use in (
        lambda: m.predict(["1"], ["DB0001"]),
        lambda: m.recommend("1"),
        lambda: m.user_factors_,
        lambda: m.save("x.bkr"),
    ):
        with pytest.raises(bookrec.NotFittedError):
            use()
    assert not hasattr(m, "item_factors_")  # NotFittedError is an AttributeError


# -- zero-copy arrays ------------------------------------------------------------------------


def test_arrays_are_read_only_views_of_the_model(svd: bookrec.SVD) -> None:
    a, b = svd.user_factors_, svd.user_factors_
    assert a.base is not None and b.base is not None
    assert np.shares_memory(a, b)
    assert a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    assert np.shares_memory(svd.item_bias_, svd.item_bias_)
    for arr in (a, svd.item_factors_, svd.user_bias_, svd.item_bias_):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 1.0


def test_array_shapes_hide_padding(svd: bookrec.SVD, split: Split) -> None:
    train = split[0]
    users, books = train.active_counts()
    assert svd.user_factors_.shape == (users, 20)  # 20 factors, stored with a stride of 24
    assert svd.item_factors_.shape == (books, 20)
    assert svd.user_factors_.strides[1] == 4 and svd.user_factors_.strides[0] >= 20 * 4
    assert len(svd.user_factor_ids_) == users and len(svd.book_factor_ids_) == books
    assert svd.user_bias_.shape == (train.n_users,) and svd.item_bias_.shape == (train.n_books,)
    assert svd.user_factors_.dtype == np.float32
    assert len(svd.user_ids_) == train.n_users and len(svd.book_ids_) == train.n_books


def test_arrays_reproduce_predictions(svd: bookrec.SVD, split: Split) -> None:
    """r̂ = μ + b_u + b_i + q_iᵀp_u from the exposed arrays equals the engine's prediction, so
    the views (strides, rows, ids) are the right ones."""
    test = split[1].to_pandas()
    users = {u: k for k, u in enumerate(svd.user_ids_)}
    books = {b: k for k, b in enumerate(svd.book_ids_)}
    user_rows = {u: r for r, u in enumerate(svd.user_factor_ids_)}
    book_rows = {b: r for r, b in enumerate(svd.book_factor_ids_)}
    test = test[test["user"].isin(user_rows) & test["item"].isin(book_rows)].head(500)
    assert len(test) > 100
    p = svd.user_factors_[[user_rows[x] for x in test["user"]]]
    q = svd.item_factors_[[book_rows[x] for x in test["item"]]]
    raw = (
        svd.global_mean_
        + svd.user_bias_[[users[x] for x in test["user"]]]
        + svd.item_bias_[[books[x] for x in test["item"]]]
        + np.einsum("ij,ij->i", p, q)
    )
    pred, fallback = svd.predict(test["user"], test["item"], return_fallback=True)
    assert (fallback == "none").all()
    np.testing.assert_allclose(pred, np.clip(raw, 1, 10), rtol=1e-5, atol=1e-4)


def test_arrays_outlive_the_model(split: Split) -> None:
    m = bookrec.SVD(factors=8, epochs=2).fit(split[0])
    view = m.item_factors_
    copy = view.copy()
    del m
    gc.collect()
    np.testing.assert_array_equal(view, copy)  # the view keeps the engine's memory alive


def test_bias_only_models_have_no_factors(split: Split) -> None:
    baseline = bookrec.Baseline().fit(split[0])
    assert baseline.item_bias_.shape == (split[0].n_books,)
    with pytest.raises(AttributeError, match="no user factors"):
        baseline.user_factors_
    mean = bookrec.GlobalMean().fit(split[0])
    assert mean.global_mean_ == pytest.approx(split[0].global_mean)
    with pytest.raises(AttributeError):
        mean.user_bias_


# -- prediction and recommendation -----------------------------------------------------------


def test_predict_unknown_user_and_book_fall_back(svd: bookrec.SVD) -> None:
    pred, fb = svd.predict(["7", "nobody", "7", "nobody"], ["DB0001", "DB0001", "nobook", "nobook"], return_fallback=True)
    assert list(fb) == ["none", "unknown_user", "unknown_book", "unknown_both"]
    assert pred[3] == pytest.approx(svd.global_mean_)
    k = list(svd.book_ids_).index("DB0001")
    assert pred[1] == pytest.approx(svd.global_mean_ + svd.item_bias_[k], rel=1e-6)
    assert isinstance(svd.predict("7", "DB0001"), float)
    assert svd.predict(7, "DB0001") == svd.predict("7", "DB0001")  # ids are strings
    np.testing.assert_array_equal(svd.predict("7", ["DB0001", "DB0002"]), pred[:1].tolist() + [svd.predict("7", "DB0002")])
    with pytest.raises(bookrec.ParamError):
        svd.predict(["7", "8"], ["DB0001", "DB0002", "DB0003"])


def test_recommend(svd: bookrec.SVD, split: Split, demo: bookrec.DemoData) -> None:
    train = split[0].to_pandas()
    seen = set(train.loc[train["user"] == "7", "item"])
    recs = svd.recommend("7", n=10)
    assert list(recs.columns) == ["book_id", "score", "predicted_rating"]
    # Without a ranker the model's score is its predicted rating.
    np.testing.assert_array_equal(recs["predicted_rating"], recs["score"])
    assert recs.attrs["source"] == "personal" and recs.attrs["score_kind"] == "predicted_rating"
    assert len(recs) == 10 and recs["score"].is_monotonic_decreasing
    assert not seen & set(recs["book_id"])
    assert recs.attrs["known_user"] is True
    np.testing.assert_allclose(recs["score"], svd.predict("7", recs["book_id"]), rtol=1e-6)
    with_seen = svd.recommend("7", n=len(seen) + 10, exclude_seen=False)
    assert seen & set(with_seen["book_id"])
    titled = svd.recommend("7", n=3, books=demo.books)
    assert list(titled.columns) == ["book_id", "title", "author", "score", "predicted_rating"]
    assert titled["title"].notna().all()


def test_recommend_unknown_user_gets_popular_books(svd: bookrec.SVD) -> None:
    with pytest.warns(bookrec.UnknownUserWarning, match="most popular"):
        recs = svd.recommend("nobody", n=5)
    assert recs.attrs["known_user"] is False and recs.attrs["source"] == "popular"
    assert recs.attrs["rating_fallback"] is True
    # The best-liked popular works (one rule for every face, as the web app's popular list):
    # ranked and scored by their damped mean rating, each with this model's non-personal
    # prediction μ + b_i beside it.
    assert recs.attrs["score_kind"] == "damped_mean_rating"
    assert len(recs) == 5
    assert recs["score"].tolist() == sorted(recs["score"].tolist(), reverse=True)
    assert ((recs["score"] >= 1) & (recs["score"] <= 10)).all()
    np.testing.assert_allclose(
        recs["predicted_rating"], svd.predict("nobody", recs["book_id"]), rtol=1e-6
    )
    with pytest.raises(bookrec.UnknownUserError, match="nobody") as info:
        svd.recommend("nobody", on_unknown="raise")
    assert isinstance(info.value, KeyError) and info.value.id == "nobody"
    assert svd.recommend("7", n=3, on_unknown="raise").attrs["known_user"] is True
    with pytest.raises(bookrec.ParamError):
        svd.recommend("7", on_unknown="ignore")


def test_recommend_with_a_ranker_and_a_minimum_rating(
    svd: bookrec.SVD, ials: bookrec.ImplicitALS
) -> None:
    ranked = ials.recommend("7", n=60)
    pair = svd.recommend("7", n=10, ranker=ials)
    assert list(pair.columns) == ["book_id", "score", "predicted_rating"]
    assert pair["book_id"].tolist() == ranked["book_id"].tolist()[:10]
    np.testing.assert_allclose(pair["score"], ranked["score"][:10], rtol=1e-6)
    np.testing.assert_allclose(pair["predicted_rating"], svd.predict("7", pair["book_id"]), atol=1e-4)
    assert pair.attrs["ranker"] == "ials" and pair.attrs["min_rating"] is None
    # The ranker's order without the books svd predicts lower, filled from further down.
    predicted = svd.predict("7", ranked["book_id"])
    threshold = float(np.sort(predicted[:10])[3])
    want = ranked["book_id"][predicted >= threshold].tolist()[:10]
    got = svd.recommend("7", n=10, ranker=ials, min_rating=threshold)
    assert got["book_id"].tolist() == want
    assert set(want) - set(ranked["book_id"][:10]), "the list was filled from below"
    assert (got["predicted_rating"] >= threshold).all()
    assert got.attrs["min_rating"] == threshold
    # Without a ranker: svd's own list, cut at the threshold.
    own = svd.recommend("7", n=10)
    cut = float(own["score"][4])
    kept = svd.recommend("7", n=10, min_rating=cut)
    assert kept["book_id"].tolist() == own["book_id"][own["score"] >= cut].tolist()
    np.testing.assert_array_equal(kept["predicted_rating"], kept["score"])
    for bad in (11.0, 0.5, float("nan")):
        with pytest.raises(bookrec.ParamError, match="min_rating"):
            svd.recommend("7", min_rating=bad)
    with pytest.raises(bookrec.ParamError, match="does not predict ratings"):
        ials.recommend("7", ranker=ials)
    with pytest.raises(bookrec.ParamError, match="needs a model that predicts ratings"):
        ials.recommend("7", min_rating=5)
    with pytest.raises(TypeError, match="ranker"):
        svd.recommend("7", ranker="ials.bkr")  # type: ignore[arg-type]


def test_similar(svd: bookrec.SVD, split: Split) -> None:
    sim = svd.similar("DB0001", n=5)
    assert len(sim) == 5 and "DB0001" not in set(sim["book_id"])
    assert sim["score"].is_monotonic_decreasing and (sim["score"] <= 1.0001).all()
    q = svd.item_factors_
    ids = list(svd.book_factor_ids_)
    a, b = q[ids.index("DB0001")], q[ids.index(sim["book_id"].iloc[0])]
    assert sim["score"].iloc[0] == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), rel=1e-4)
    with pytest.raises(bookrec.UnknownBookError) as info:
        svd.similar("nobook")
    assert isinstance(info.value, KeyError) and info.value.id == "nobook"
    assert bookrec.Baseline().fit(split[0]).similar("DB0001").empty


def test_fold_in(svd: bookrec.SVD) -> None:
    liked = {"DB0001": 10, "DB0002": 9, "not-a-book": 5}
    recs = svd.fold_in(liked, n=8)
    assert len(recs) == 8 and not set(liked) & set(recs["book_id"])
    assert recs.attrs["ignored"] == ["not-a-book"]
    as_list = svd.fold_in(list(liked.items()), n=8)
    pd.testing.assert_frame_equal(recs, as_list)
    # Different tastes, different lists.
    other = svd.fold_in({"DB0300": 10, "DB0301": 10}, n=8)
    assert set(other["book_id"]) != set(recs["book_id"])
    with pytest.raises(bookrec.ParamError):
        svd.fold_in({"DB0001": float("nan")})


# -- model files -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS)
def test_save_load_round_trip(cls: type, split: Split, tmp_path: Path) -> None:
    train, test = split
    model = cls().fit(train)
    path = tmp_path / "model.bkr"
    model.save(path)
    loaded = bookrec.load(path)
    assert type(loaded) is cls
    assert loaded.get_params() == model.get_params()
    df = test.to_pandas()
    np.testing.assert_array_equal(loaded.predict(df["user"], df["item"]), model.predict(df["user"], df["item"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bookrec.UnknownUserWarning)
        pd.testing.assert_frame_equal(loaded.recommend("7"), model.recommend("7"))
    meta = loaded.meta_
    assert meta["format_version"] == bookrec.FORMAT_VERSION
    assert meta["n_train"] == len(train)
    assert {"fit_seconds", "train_rmse", "train_mae"} <= set(meta["training_metrics"])
    saved = model.meta_
    for key in ("data_fingerprint", "created_unix", "bookrec_version", "engine", "n_train"):
        assert meta[key] == saved[key]
    assert meta["training_metrics"]["train_rmse"] == pytest.approx(saved["training_metrics"]["train_rmse"])


def test_pickle_round_trip(svd: bookrec.SVD, split: Split) -> None:
    """joblib / multiprocessing can ship models: a fitted one travels as its model file."""
    import pickle

    copy = pickle.loads(pickle.dumps(svd))
    assert copy.get_params() == svd.get_params()
    df = split[1].to_pandas()
    np.testing.assert_array_equal(copy.predict(df["user"], df["item"]), svd.predict(df["user"], df["item"]))
    unfitted = pickle.loads(pickle.dumps(bookrec.ALS(factors=7)))
    assert unfitted.factors == 7
    with pytest.raises(bookrec.NotFittedError):
        unfitted.predict("7", "DB0001")


def test_corrupted_and_missing_model_files(svd: bookrec.SVD, tmp_path: Path) -> None:
    path = tmp_path / "m.bkr"
    svd.save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.bkr"
    bad.write_bytes(bytes(data))
    with pytest.raises(bookrec.ModelFileError, match="bad.bkr") as info:
        bookrec.load(bad)
    assert info.value.path == str(bad)
    (tmp_path / "text.bkr").write_text("not a model")
    with pytest.raises(bookrec.ModelFileError):
        bookrec.load(tmp_path / "text.bkr")
    with pytest.raises(bookrec.FileError):
        bookrec.load(tmp_path / "missing.bkr")


# -- evaluation ------------------------------------------------------------------------------


def test_evaluate_report(svd: bookrec.SVD, split: Split) -> None:
    report = bookrec.evaluate(svd, split[1], k=5, relevance_threshold=8)
    assert {"rmse", "mae", "n_test", "n_unknown_user", "n_unknown_item"} <= set(report)
    r = report["ranking"]
    assert r["k"] == 5 and r["relevance_threshold"] == 8
    for key in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage"):
        assert 0 <= r[key] <= 1
    assert bookrec.evaluate(svd, split[1], k=None)["ranking"] is None


def test_evaluate_aligns_test_sets_by_raw_id(svd: bookrec.SVD, split: Split, tmp_path: Path) -> None:
    """A test set with its own vocabularies (from pandas, or a model read from a file) is
    matched to the model by raw ids, not by index."""
    test = split[1]
    expected = bookrec.evaluate(svd, test, k=None)
    shuffled = test.to_pandas().sample(frac=1.0, random_state=0)
    from_df = bookrec.evaluate(svd, bookrec.Ratings.from_pandas(shuffled), k=None)
    assert from_df["rmse"] == pytest.approx(expected["rmse"], rel=1e-9)
    assert from_df["n_test"] == expected["n_test"]
    svd.save(tmp_path / "m.bkr")
    loaded = bookrec.evaluate(bookrec.load(tmp_path / "m.bkr"), test, k=None)
    assert loaded["rmse"] == expected["rmse"]


def test_cross_validate(demo: bookrec.DemoData) -> None:
    df = bookrec.cross_validate(bookrec.Baseline(), demo.ratings, folds=3, seed=0)
    assert list(df.index) == [1, 2, 3] and df.index.name == "fold"
    assert {"rmse", "mae", "fit_seconds", "n_train", "n_test", "ndcg"} <= set(df.columns)
    assert df["n_test"].sum() == len(demo.ratings)
    assert df.attrs["mean"]["rmse"] == pytest.approx(df["rmse"].mean())
    again = bookrec.cross_validate(bookrec.Baseline(), demo.ratings, folds=3, seed=0)
    np.testing.assert_array_equal(df["rmse"], again["rmse"])
    with pytest.raises(bookrec.ParamError):
        bookrec.cross_validate(bookrec.Baseline(), demo.ratings, folds=1)


def test_fit_accepts_a_dataframe(split: Split) -> None:
    df = split[0].to_pandas()
    m = bookrec.Baseline().fit(df)
    assert m.predict("7", "DB0001") == pytest.approx(
        bookrec.Baseline().fit(split[0]).predict("7", "DB0001"), rel=1e-5
    )


def test_fit_releases_the_gil(split: Split) -> None:
    """While a long fit runs in one thread, Python code keeps running in another."""
    ticks = 0
    model = bookrec.SVD(factors=64, epochs=1000, blocks=1)
    thread = threading.Thread(target=model.fit, args=(split[0],))
    start = time.perf_counter()
    thread.start()
    while thread.is_alive():
        ticks += 1
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    assert elapsed > 0.1, "the fit was too quick to tell"
    # With the GIL held for the whole fit this loop could not run at all during it.
    assert ticks > 20
    assert model.user_factors_.shape[1] == 64


def test_hybrid_learns_catalogue_groups_attached_with_books(tmp_path: Path) -> None:
    """`Ratings.with_books` attaches the catalogue's groups, and Hybrid learns their biases: two
    books no one rated (only seen, so in the vocabulary) get the bias of their author's other
    book. Without the catalogue both get the same unknown-book fallback."""
    books_csv = tmp_path / "books.csv"
    books_csv.write_text(
        "book_id,title,author,year,genre\n"
        "a1,Alpha,Ann Author,2001,x\na2,Beta,Ann Author,2003,x\n"
        "b1,Gamma,Bob Writer,2001,x\nb2,Delta,Bob Writer,2003,x\n"
    )
    lines = ["user,item,rating"]
    for u in range(30):
        lines += [f"u{u},a1,{8 + u % 3}", f"u{u},b1,{2 + u % 3}"]
    lines += ["u0,a2,0", "u0,b2,0"]  # implicit: seen, not rated
    ratings_csv = tmp_path / "ratings.csv"
    ratings_csv.write_text("\n".join(lines) + "\n")
    plain = bookrec.read_ratings(ratings_csv)
    with_books = plain.with_books(bookrec.read_books(books_csv))
    assert plain.book_groups == {}
    assert with_books.book_groups["author"] == 2
    assert len(with_books) == len(plain) == 60
    train, _ = bookrec.train_test_split(with_books, test_size=0.1, seed=0)
    assert train.book_groups == with_books.book_groups

    grouped = bookrec.Hybrid().fit(with_books).predict(["u5", "u5"], ["a2", "b2"])
    alone = bookrec.Hybrid().fit(plain).predict(["u5", "u5"], ["a2", "b2"])
    assert grouped[0] - grouped[1] > 1.0
    assert abs(alone[0] - alone[1]) < 1e-6
    with pytest.raises(TypeError, match="bookrec.Books"):
        plain.with_books("books.csv")  # type: ignore[arg-type]
