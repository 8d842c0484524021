"""Reading, cleaning, building from pandas, splitting."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bookrec
from conftest import BX_DIR


def test_version() -> None:
    assert isinstance(bookrec.__version__, str)
    assert bookrec.__version__.count(".") == 2


def test_demo_data(demo: bookrec.DemoData) -> None:
    r = demo.ratings
    assert len(r) > 10_000
    assert r.n_users == 1500
    assert r.n_books == 450
    assert r.n_implicit > 0  # the demo writes implicit zeros, like Book-Crossing
    assert r.rating_scale == (1.0, 10.0)
    assert len(demo.books) == 450
    book = demo.books.get("DB0001")
    assert book is not None and book["title"] and book["author"]
    assert Path(demo.ratings_path).is_file() and Path(demo.books_path).is_file()


def test_cleaning_report(demo: bookrec.DemoData) -> None:
    report = demo.ratings.cleaning_report()
    assert report is not None
    assert report["rows_kept"] == len(demo.ratings)
    assert report["implicit"] == demo.ratings.n_implicit
    # The demo file is clean: every row is a kept explicit rating or an implicit zero.
    assert report["rows_read"] == report["explicit_read"] + report["implicit_read"]
    assert report["bad_lines"]["count"] == 0 and report["duplicates"]["pairs"] == 0
    assert report["implicit_zeros"] and report["implicit_zeros_auto"]
    assert sum(b["count"] for b in report["histogram"]) == len(demo.ratings)


def test_to_pandas_round_trip(demo: bookrec.DemoData) -> None:
    df = demo.ratings.to_pandas()
    assert list(df.columns) == ["user", "item", "rating"]
    assert len(df) == len(demo.ratings)
    again = bookrec.Ratings.from_pandas(df, rating_scale=(1, 10))
    assert len(again) == len(demo.ratings)
    pd.testing.assert_frame_equal(again.to_pandas(), df)
    assert again.cleaning_report() is None
    imp = demo.ratings.implicit_to_pandas()
    assert len(imp) == demo.ratings.n_implicit


def test_user_book_matrix(split: tuple[bookrec.Ratings, bookrec.Ratings]) -> None:
    pytest.importorskip("scipy")
    train = split[0]
    m = train.to_scipy()
    assert m.shape == (train.n_users, train.n_books) and m.nnz == len(train)
    df = train.to_pandas().head(200)
    users = {u: k for k, u in enumerate(train.user_ids)}
    books = {b: k for k, b in enumerate(train.book_ids)}
    got = np.asarray(m[[users[u] for u in df["user"]], [books[b] for b in df["item"]]]).ravel()
    np.testing.assert_array_equal(got, df["rating"].to_numpy())


def test_from_pandas_normalises_and_deduplicates() -> None:
    df = pd.DataFrame(
        {
            "u": [1, 1, 2, " 2 "],
            "b": ["042512164x", "042512164X", "'0002005018'", "0002005018"],
            "r": [3.0, 5.0, 4.0, 1.0],
        }
    )
    r = bookrec.Ratings.from_pandas(df, user="u", item="b", rating="r")
    out = r.to_pandas()
    # Ids normalised as the file loader does; the last rating of a repeated pair wins.
    assert out.to_dict("list") == {
        "user": ["1", "2"],
        "item": ["042512164X", "0002005018"],
        "rating": [5.0, 1.0],
    }
    assert r.rating_scale == (1.0, 5.0)


def test_from_pandas_errors() -> None:
    df = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "rating": [1.0, np.nan]})
    with pytest.raises(bookrec.DataError, match="row 1"):
        bookrec.Ratings.from_pandas(df)
    with pytest.raises(bookrec.ParamError, match="'score'"):
        bookrec.Ratings.from_pandas(df, rating="score")
    with pytest.raises(bookrec.ParamError):
        bookrec.Ratings.from_pandas(df.fillna(1.0), rating_scale=(5, 1))


def test_read_ratings_options(tmp_path: Path) -> None:
    path = tmp_path / "r.dat"
    path.write_text("u1::b1::4::100\nu1::b2::5::200\nu2::b1::3::300\nu2::b2::2::400\n")
    r = bookrec.read_ratings(path, sep="::", header=False, timestamp_col=3, rating_scale=(1, 5))
    assert len(r) == 4 and r.has_timestamps
    assert list(r.to_pandas()["timestamp"]) == [100, 200, 300, 400]
    assert "::" in r.cleaning_report()["format"]["separator"]
    # Columns by index, a different order.
    path2 = tmp_path / "r2.csv"
    path2.write_text("rating;book;user\n4;b1;u1\n0;b2;u1\n")
    r2 = bookrec.read_ratings(path2, user_col="user", item_col=1, rating_col="rating")
    assert len(r2) == 1 and r2.n_implicit == 1  # zeros are implicit when the rest are ≥ 1
    r3 = bookrec.read_ratings(path2, user_col="user", item_col=1, rating_col="rating", zeros="rating")
    assert len(r3) == 2 and r3.n_implicit == 0


def test_malformed_csv_names_line_and_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("user,item,rating\na,x,4\nb,y,lots\nc,z,5\n")
    r = bookrec.read_ratings(path)  # default: skip and count
    assert len(r) == 2
    report = r.cleaning_report()
    assert report["bad_lines"]["count"] == 1
    assert report["bad_lines"]["examples"][0]["line"] == 3
    with pytest.raises(bookrec.DataError) as info:
        bookrec.read_ratings(path, bad_lines="error")
    err = info.value
    assert isinstance(err, ValueError)
    assert f"{path}:3:" in str(err) and "lots" in str(err)
    assert err.line == 3 and err.path == str(path) and "lots" in (err.value or "")


def test_empty_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(bookrec.DataError, match="empty.csv"):
        bookrec.read_ratings(path)


def test_missing_file() -> None:
    with pytest.raises(bookrec.FileError) as info:
        bookrec.read_ratings("/nonexistent/ratings.csv")
    assert isinstance(info.value, OSError) and isinstance(info.value, bookrec.DataError)
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == "/nonexistent/ratings.csv"
    assert "/nonexistent/ratings.csv" in str(info.value)
    with pytest.raises(OSError):
        bookrec.read_books("/nonexistent/books.csv")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"sep": ""}, "sep"),
        ({"encoding": "ebcdic"}, "encoding"),
        ({"duplicates": "first"}, "duplicates"),
        ({"bad_lines": "ignore"}, "bad-lines"),
        ({"zeros": "maybe"}, "zeros"),
        ({"rating_scale": "ten"}, "rating-scale"),
    ],
)
def test_bad_load_options(demo: bookrec.DemoData, kwargs: dict, name: str) -> None:
    with pytest.raises(bookrec.ParamError) as info:
        bookrec.read_ratings(demo.ratings_path, **kwargs)
    assert info.value.name == name


def _pairs(r: bookrec.Ratings) -> set[tuple[str, str]]:
    df = r.to_pandas()
    return set(zip(df["user"], df["item"]))


@pytest.mark.parametrize("strategy", ["random", "user"])
def test_train_test_split_partitions(demo: bookrec.DemoData, strategy: str) -> None:
    train, test = bookrec.train_test_split(demo.ratings, test_size=0.25, seed=3, strategy=strategy)
    assert len(train) + len(test) == len(demo.ratings)
    a, b = _pairs(train), _pairs(test)
    assert not a & b and len(a | b) == len(demo.ratings)
    assert abs(len(test) / len(demo.ratings) - 0.25) < 0.02
    assert train.n_implicit == demo.ratings.n_implicit and test.n_implicit == 0
    again = bookrec.train_test_split(demo.ratings, test_size=0.25, seed=3, strategy=strategy)
    assert _pairs(again[1]) == b
    other = bookrec.train_test_split(demo.ratings, test_size=0.25, seed=4, strategy=strategy)
    assert _pairs(other[1]) != b
    if strategy == "user":
        assert {u for u, _ in b} <= {u for u, _ in a}


def test_temporal_split() -> None:
    df = pd.DataFrame(
        {
            "user": ["a"] * 4 + ["b"] * 4,
            "item": list("wxyz") * 2,
            "rating": [1.0, 2, 3, 4, 5, 4, 3, 2],
            "ts": pd.to_datetime([1, 4, 2, 3, 8, 7, 6, 5], unit="D"),
        }
    )
    r = bookrec.Ratings.from_pandas(df, timestamp="ts")
    train, test = bookrec.temporal_split(r, test_size=0.25)
    assert _pairs(test) == {("a", "x"), ("b", "w")}  # each user's latest rating
    assert len(train) == 6
    with pytest.raises(bookrec.DataError, match="timestamp"):
        bookrec.temporal_split(bookrec.Ratings.from_pandas(df.drop(columns="ts")))


def test_split_errors(demo: bookrec.DemoData) -> None:
    with pytest.raises(bookrec.ParamError):
        bookrec.train_test_split(demo.ratings, test_size=1.5)
    with pytest.raises(bookrec.ParamError) as info:
        bookrec.train_test_split(demo.ratings, strategy="alphabetical")
    assert info.value.name == "strategy"
    with pytest.raises(bookrec.ParamError):
        bookrec.kfold(demo.ratings, folds=1)


def test_kfold_partitions(demo: bookrec.DemoData) -> None:
    folds = bookrec.kfold(demo.ratings, folds=4, seed=1)
    assert len(folds) == 4
    tests = [_pairs(test) for _, test in folds]
    assert sum(len(t) for t in tests) == len(demo.ratings)
    assert len(set().union(*tests)) == len(demo.ratings)
    for train, test in folds:
        assert len(train) + len(test) == len(demo.ratings)
        assert not _pairs(train) & _pairs(test)


def test_books(demo: bookrec.DemoData) -> None:
    books = demo.books
    assert "DB0001" in books and "nope" not in books
    assert books["DB0001"]["book_id"] == "DB0001"
    with pytest.raises(bookrec.UnknownBookError):
        books["nope"]
    titles, authors = books.titles(["DB0001", "nope"])
    assert titles[0] and titles[1] is None and authors[1] is None
    df = books.to_pandas()
    assert len(df) == 450 and {"book_id", "title", "author", "year", "genre"} <= set(df.columns)
    assert books.report()["books"] == 450


@pytest.mark.skipif(not BX_DIR.is_dir(), reason=f"Book-Crossing data not found at {BX_DIR}")
def test_book_crossing_loads_with_no_options() -> None:
    r = bookrec.read_ratings(BX_DIR / "BX-Book-Ratings.csv")
    report = r.cleaning_report()
    assert report["rows_read"] == 1_149_780
    assert report["explicit_read"] == 433_671
    # One (user, book) pair repeats once ids are normalised (stray quotes); the last wins.
    assert report["duplicates"]["pairs"] == 1
    assert len(r) == 433_670
    assert r.n_implicit == 716_109
    books = bookrec.read_books(BX_DIR / "BX-Books.csv")
    assert len(books) > 270_000
