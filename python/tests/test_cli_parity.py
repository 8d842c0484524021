"""The Python package and the `bookrec` CLI read and write the same model files and give the
same answers for them."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest

import bookrec
from conftest import BX_DIR


def run(cli: Path, *args: str) -> dict:
    out = subprocess.run([str(cli), *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def assert_same_recommendations(cli: Path, model_path: Path, model: bookrec.SVD, user: str) -> None:
    expected = run(cli, "recommend", "--model", str(model_path), "--user", user, "-n", "10", "--json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bookrec.UnknownUserWarning)
        got = model.recommend(user, n=10)
    assert got.attrs["known_user"] == expected["known_user"]
    cli_recs = expected["items"]
    assert list(got["book_id"]) == [r["book"]["id"] for r in cli_recs]
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
    assert similar["book_id"] == "DB0001" and similar["ranker"] == "als"
    assert list(got["book_id"]) == [r["book"]["id"] for r in similar["items"]]
    np.testing.assert_array_equal(got["score"].to_numpy(), np.array([r["similarity"] for r in similar["items"]], dtype=np.float32))


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


# -- one list, three faces -------------------------------------------------------------------
# The CLI's --json, Python's DataFrame and the web API build a reader's list with the same core
# function (bookrec_core::recommend), so for the same model files and readers they must give
# the same books, in the same order, with the same scores and predicted ratings.

#: Every key of the API's recommendations document; the CLI prints the same document.
DOCUMENT_KEYS = {
    "user_id", "known_user", "source", "message", "n_ratings_used", "n_stored_ratings_used",
    "ranker", "score_kind", "rating_model", "rating_fallback", "min_rating", "items",
}


def f32(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float32)


def assert_three_faces_agree(
    cli: Path, server: bookrec.Server, model: bookrec.SVD, ranker: "bookrec.ImplicitALS | None",
    model_path: Path, ranker_path: "Path | None", user: str, min_rating: "float | None", n: int = 10,
) -> None:
    args = ["recommend", "--model", str(model_path), "--user", user, "-n", str(n), "--json"]
    query = f"n={n}&explain=false"
    if ranker_path is not None:
        args += ["--ranker", str(ranker_path)]
    if min_rating is not None:
        args += ["--min-rating", repr(min_rating)]
        query += f"&min_rating={min_rating!r}"
    from_cli = run(cli, *args)
    from_api = get_json(f"{server.url}/api/users/{urllib.parse.quote(user)}/recommendations?{query}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bookrec.UnknownUserWarning)
        from_py = model.recommend(user, n=n, ranker=ranker, min_rating=min_rating)
    case = f"user {user!r}, ranker {ranker_path}, min_rating {min_rating}"
    assert set(from_cli) == set(from_api) == DOCUMENT_KEYS, case
    # The CLI reads no stored ratings, and says so.
    assert from_cli["n_stored_ratings_used"] == 0
    for key in DOCUMENT_KEYS - {"items", "min_rating"}:
        assert from_cli[key] == from_api[key], f"{case}: {key}"
        assert from_py.attrs[key] == from_api[key], f"{case}: {key}"
    ids = [r["book"]["id"] for r in from_api["items"]]
    assert ids or min_rating is not None, case
    assert [r["book"]["id"] for r in from_cli["items"]] == ids, case
    assert from_py["book_id"].tolist() == ids, case
    scores = f32([r["score"] for r in from_api["items"]])
    np.testing.assert_array_equal(f32([r["score"] for r in from_cli["items"]]), scores, err_msg=case)
    np.testing.assert_array_equal(from_py["score"].to_numpy(), scores, err_msg=case)
    predicted = f32([r["predicted_rating"] for r in from_api["items"]])
    np.testing.assert_array_equal(f32([r["predicted_rating"] for r in from_cli["items"]]), predicted, err_msg=case)
    np.testing.assert_array_equal(from_py["predicted_rating"].to_numpy(), predicted, err_msg=case)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def three_faces(
    cli: Path, tmp_path: Path, model: bookrec.SVD, ranker: bookrec.ImplicitALS,
    users: list[str], min_rating: float,
) -> None:
    model_path, ranker_path = tmp_path / "svd.bkr", tmp_path / "ials.bkr"
    model.save(model_path)
    ranker.save(ranker_path)
    # The model served alone (its own lists), then with the ranker.
    with bookrec.serve(model_path, db=tmp_path / "alone.sqlite", port=0) as server:
        for user in users:
            for minimum in (None, min_rating):
                assert_three_faces_agree(cli, server, model, None, model_path, None, user, minimum)
        # Similar books: the same document from the CLI and the API, the same rows in Python.
        book = model.popular(n=1)["book_id"][0]
        from_cli = run(cli, "similar", "--model", str(model_path), "--book", book, "-n", "5", "--json")
        from_api = get_json(f"{server.url}/api/books/{urllib.parse.quote(book)}/similar?n=5")
        assert set(from_cli) == set(from_api) and from_cli["items"]
        assert [r["book"]["id"] for r in from_cli["items"]] == [r["book"]["id"] for r in from_api["items"]]
        assert [r["similarity"] for r in from_cli["items"]] == [r["similarity"] for r in from_api["items"]]
        assert model.similar(book, n=5)["book_id"].tolist() == [r["book"]["id"] for r in from_api["items"]]
    with bookrec.serve(model_path, ranker=ranker_path, db=tmp_path / "pair.sqlite", port=0) as server:
        for user in users:
            for minimum in (None, min_rating):
                assert_three_faces_agree(cli, server, model, ranker, model_path, ranker_path, user, minimum)


def test_cli_python_and_api_give_the_same_lists_on_the_demo_data(
    cli: Path, svd: bookrec.SVD, ials: bookrec.ImplicitALS, tmp_path: Path
) -> None:
    three_faces(cli, tmp_path, svd, ials, ["7", "42", "1500", "not-a-user"], min_rating=5.5)


@pytest.mark.skipif(not BX_DIR.is_dir(), reason=f"Book-Crossing data not found at {BX_DIR}")
def test_cli_python_and_api_give_the_same_lists_on_book_crossing(cli: Path, tmp_path: Path) -> None:
    ratings = bookrec.read_ratings(BX_DIR / "BX-Book-Ratings.csv")
    svd = bookrec.SVD(factors=20, epochs=5).fit(ratings)
    ials = bookrec.ImplicitALS(factors=16, iterations=3).fit(ratings)
    # Readers with many, few and no ratings, and one the data does not have.
    users = ["11676", "98391", "276725", "276847", "not-a-reader"]
    three_faces(cli, tmp_path, svd, ials, users, min_rating=7.0)


def _editions_fixture(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A catalogue where H1 and H2 are two editions of *The Hobbit*, ratings where reader r0
    rated both, and a held-out file with a rating of the H1 edition."""
    books = tmp_path / "books.csv"
    books.write_text(
        "book_id,title,author\n"
        "H1,The Hobbit (Paperback),J. R. R. Tolkien\n"
        'H2,The Hobbit: or There and Back Again,"TOLKIEN, J.R.R."\n'
        "S1,The Silmarillion,J. R. R. Tolkien\n"
        "D1,Dune,Frank Herbert\n"
        "E1,Emma,Jane Austen\n"
    )
    rows = ["user,book,rating", "r0,H1,9", "r0,H2,7"]
    for u in range(30):
        for k, b in enumerate(["H2", "S1", "D1", "E1"]):
            if (u + k) % 3 != 0:
                rows.append(f"r{u},{b},{3 + (u * 7 + k * 5) % 8}")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("\n".join(rows) + "\n")
    test = tmp_path / "test.csv"
    test.write_text("user,book,rating\nr1,H1,8\nr1,H2,6\nr2,S1,9\nr4,D1,4\n")
    return books, ratings, test


def test_works_level_training_and_evaluation_match_the_cli(cli: Path, tmp_path: Path) -> None:
    """`Ratings.with_books(items="works")` is `train --items works`, and `holdout_with_books` +
    `evaluate(books=...)` is `evaluate --train --test --books --items works`: the same merged
    ratings, the same model, the same scores."""
    books_path, ratings_path, test_path = _editions_fixture(tmp_path)
    books = bookrec.read_books(books_path)
    plain = bookrec.read_ratings(ratings_path)

    works = plain.with_books(books, items="works", duplicates="mean")
    assert (plain.n_books, works.n_books) == (5, 4)
    assert len(works) == len(plain) - 1
    assert works.edition_merge == {
        "ratings_before": len(plain),
        "ratings_after": len(plain) - 1,
        "pairs_merged": 1,
        "books_before": 5,
        "works_after": 4,
    }
    assert plain.with_books(books).edition_merge is None
    assert plain.with_books(books).n_books == 5
    with pytest.raises(bookrec.DataError, match=r"reader r0 rated two editions of one work \(H1 and H2\)"):
        plain.with_books(books, items="works", duplicates="error")
    with pytest.raises(bookrec.ParamError, match="isbn or works"):
        plain.with_books(books, items="pages")
    with pytest.raises(bookrec.ParamError, match="duplicates"):
        plain.with_books(books, items="works", duplicates="sometimes")
    with pytest.raises(bookrec.ParamError, match="isbn or works"):
        bookrec.holdout_with_books(plain, plain, books, items="pages")
    with pytest.raises(TypeError, match="bookrec.Books"):
        bookrec.holdout_with_books(plain, plain, str(books_path))  # type: ignore[arg-type]

    model_path = tmp_path / "works.bkr"
    subprocess.run(
        [str(cli), "train", "--ratings", str(ratings_path), "--books", str(books_path), "--items", "works",
         "--duplicates", "mean", "--model", "baseline", "--out", str(model_path)],
        check=True, capture_output=True,
    )
    from_cli = bookrec.load(model_path)
    from_python = bookrec.Baseline().fit(works)
    users, items = ["r0", "r1", "r5"], ["H2", "S1", "E1"]
    np.testing.assert_array_equal(from_python.predict(users, items), from_cli.predict(users, items))

    expected = run(
        cli, "evaluate", "--train", str(ratings_path), "--test", str(test_path), "--books", str(books_path),
        "--items", "works", "--duplicates", "mean", "--model", "baseline", "--json",
    )
    train, test = bookrec.holdout_with_books(
        plain, bookrec.read_ratings(test_path), books, items="works", duplicates="mean"
    )
    # r1's held-out ratings of both Hobbit editions are one rating of the work, their mean.
    assert (len(test), test.n_books) == (3, 3)
    got = bookrec.evaluate(bookrec.Baseline().fit(train), test, books=books)
    assert got["ranking"]["level"] == "works" == expected["ranking"]["level"]
    assert got["n_test"] == expected["n_test"] == 3
    assert got["rmse"] == pytest.approx(expected["rmse"], abs=1e-6)
    assert got["ranking"]["ndcg"] == pytest.approx(expected["ranking"]["ndcg"], abs=1e-9)
    with pytest.raises(TypeError, match="bookrec.Books"):
        bookrec.evaluate(from_python, test, books="books.csv")  # type: ignore[arg-type]
