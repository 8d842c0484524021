"""Ratings and catalogues: reading, building from pandas, splitting, demo data."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, NamedTuple, Sequence, cast

import numpy as np
import pandas as pd

from . import _bookrec

__all__ = [
    "Ratings",
    "Books",
    "DemoData",
    "read_ratings",
    "read_books",
    "train_test_split",
    "temporal_split",
    "kfold",
    "demo_data",
]

class Ratings:
    """Explicit ratings (and implicit interactions) over user and book vocabularies.

    Immutable and cheap to pass around: splits share the vocabularies of the set they came
    from, so a user or book that appears only in the test part is "unknown" to a model fitted
    on the train part (and gets a fallback prediction). ``len()`` is the number of explicit
    ratings; ``n_users`` / ``n_books`` count the shared vocabularies.
    """

    __slots__ = ("_inner",)

    def __init__(self, inner: _bookrec.Ratings) -> None:
        if not isinstance(inner, _bookrec.Ratings):
            raise TypeError(
                "use bookrec.read_ratings(path) or Ratings.from_pandas(df) to build Ratings"
            )
        self._inner = inner

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        user: str = "user",
        item: str = "item",
        rating: str = "rating",
        timestamp: str | None = None,
        rating_scale: tuple[float, float] | None = None,
    ) -> "Ratings":
        """Builds from a DataFrame with one row per rating.

        Ids are converted to strings and normalised like the file loader's (trimmed, stray
        quotes removed, ISBN ``x`` → ``X``); a repeated (user, book) pair keeps its last
        rating; a missing (NaN) rating raises :class:`bookrec.DataError`. ``rating_scale``
        defaults to the observed range. ``timestamp`` (seconds, or datetimes) enables
        :func:`temporal_split`.
        """
        for col in (user, item, rating) + ((timestamp,) if timestamp else ()):
            if col not in df.columns:
                from .errors import ParamError

                raise ParamError(
                    f"column {col!r} is not in the DataFrame (columns: {list(df.columns)})"
                )
        users = df[user].astype(str).tolist()
        items = df[item].astype(str).tolist()
        ratings = np.ascontiguousarray(df[rating].to_numpy(dtype=np.float32, na_value=np.nan))
        ts = None
        if timestamp:
            times = df[timestamp]
            if pd.api.types.is_datetime64_any_dtype(times):
                ts = times.to_numpy(dtype="datetime64[s]").astype(np.int64)
            else:
                ts = times.to_numpy(dtype=np.int64)
            ts = np.ascontiguousarray(ts)
        scale = None if rating_scale is None else (float(rating_scale[0]), float(rating_scale[1]))
        return cls(_bookrec.Ratings.from_columns(users, items, ratings, ts, scale))

    def to_pandas(self) -> pd.DataFrame:
        """The explicit ratings as a DataFrame ``user, item, rating[, timestamp]`` (ids as
        strings, ratings float32, in file order)."""
        user_vocab, item_vocab, u, i, r, t = self._inner.columns()
        cols: dict[str, Any] = {
            "user": np.asarray(user_vocab, dtype=object)[u],
            "item": np.asarray(item_vocab, dtype=object)[i],
            "rating": r,
        }
        if t is not None:
            cols["timestamp"] = t
        return pd.DataFrame(cols)

    def implicit_to_pandas(self) -> pd.DataFrame:
        """The implicit interactions (e.g. Book-Crossing's rating 0) as ``user, item``."""
        users, items = self._inner.implicit_columns()
        return pd.DataFrame({"user": users, "item": items})

    def to_scipy(self) -> Any:
        """The user × book matrix of explicit ratings as a ``scipy.sparse.csr_matrix``
        (float32; row ``k`` is ``user_ids[k]``, column ``j`` is ``book_ids[j]``; absent =
        not rated, never 0). Needs scipy."""
        try:
            from scipy.sparse import csr_matrix
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Ratings.to_scipy needs scipy: pip install scipy") from e
        indptr, indices, values = self._inner.csr()
        return csr_matrix(
            (values, indices.astype(np.int64), indptr.astype(np.int64)),
            shape=(self.n_users, self.n_books),
        )

    @property
    def user_ids(self) -> np.ndarray:
        """Raw user ids of the vocabulary (shared with the set this one was split from)."""
        return np.asarray(self._inner.user_ids(), dtype=object)

    @property
    def book_ids(self) -> np.ndarray:
        """Raw book ids of the vocabulary."""
        return np.asarray(self._inner.item_ids(), dtype=object)

    def cleaning_report(self) -> dict[str, Any] | None:
        """The loader's cleaning report (rows read and kept, bad lines with line numbers,
        duplicates, implicit zeros, out-of-scale ratings, histogram, ...), or None for
        ratings not read from a file."""
        text = self._inner.cleaning_report_json()
        return None if text is None else cast(dict[str, Any], json.loads(text))

    def __len__(self) -> int:
        return len(self._inner)

    @property
    def n_users(self) -> int:
        """Users in the vocabulary (shared with the set this one was split from)."""
        return self._inner.n_users

    @property
    def n_books(self) -> int:
        """Books in the vocabulary (shared with the set this one was split from)."""
        return self._inner.n_items

    n_items = n_books

    @property
    def n_implicit(self) -> int:
        return self._inner.n_implicit

    @property
    def has_timestamps(self) -> bool:
        return self._inner.has_timestamps

    @property
    def rating_scale(self) -> tuple[float, float]:
        return self._inner.rating_scale

    @property
    def global_mean(self) -> float:
        return self._inner.global_mean

    def active_counts(self) -> tuple[int, int]:
        """(users, books) with at least one explicit rating in this set."""
        return self._inner.active_counts()

    def with_books(self, books: "Books", items: str = "isbn", duplicates: str = "last") -> "Ratings":
        """These ratings as a model is fitted on them with the catalogue ``books`` (the CLI's
        ``--books FILE --items LEVEL --duplicates POLICY``).

        Attaches each book's groups: author, work (title and author across ISBN editions),
        publisher and period (year / 5), the side information :class:`bookrec.Hybrid` learns
        biases for; other models ignore them, and splits of the result keep them. With
        ``items="works"`` a reader's ratings of several editions of one work also become one
        rating of the work (``duplicates``: ``"last"`` keeps the later row, ``"mean"``
        averages, ``"error"`` raises ``DataError`` naming the reader and both books), so each
        work is one book id, its most-rated edition's; :attr:`edition_merge` says what was
        merged. To score such a model on held-out ratings, prepare the pair together with
        :func:`holdout_with_books`, so the test set's editions join the same works."""
        catalog = _engine_books(books, "with_books' books")
        return Ratings(self._inner.with_books(catalog, str(items), str(duplicates)))

    @property
    def edition_merge(self) -> dict[str, int] | None:
        """What merging editions into works did (``ratings_before``, ``ratings_after``,
        ``pairs_merged``, ``books_before``, ``works_after``), or None unless these ratings
        were prepared with ``items="works"``."""
        text = self._inner.edition_merge_json
        return None if text is None else cast(dict[str, int], json.loads(text))

    @property
    def book_groups(self) -> dict[str, int]:
        """Number of groups per attached catalogue column, e.g. ``{"author": 1234, ...}``;
        empty unless :meth:`with_books` attached a catalogue."""
        return dict(self._inner.book_groups)

    def __repr__(self) -> str:
        return repr(self._inner)


class Books:
    """A book catalogue (title, author, year, publisher, genre, cover URL) by book id."""

    __slots__ = ("_inner",)

    def __init__(self, inner: _bookrec.Books) -> None:
        if not isinstance(inner, _bookrec.Books):
            raise TypeError("use bookrec.read_books(path) to build Books")
        self._inner = inner

    def __len__(self) -> int:
        return len(self._inner)

    def __contains__(self, book_id: object) -> bool:
        return self._inner.__contains__(str(book_id))

    def get(self, book_id: str) -> dict[str, Any] | None:
        """The book as a dict (``book_id, title, author, year, publisher, genre,
        image_url``), or None."""
        return self._inner.get(str(book_id))

    def __getitem__(self, book_id: str) -> dict[str, Any]:
        book = self.get(book_id)
        if book is None:
            from .errors import UnknownBookError

            raise UnknownBookError(f"book {str(book_id)!r} is not in the catalogue")
        return book

    def titles(self, book_ids: Sequence[str]) -> tuple[list[str | None], list[str | None]]:
        """(titles, authors) of ``book_ids``, None where a book is not in the catalogue."""
        return self._inner.lookup([str(b) for b in book_ids])

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self._inner.columns())

    def report(self) -> dict[str, Any] | None:
        """The catalogue loader's report (text repairs, impossible years, bad lines, ...)."""
        text = self._inner.report_json()
        return None if text is None else cast(dict[str, Any], json.loads(text))

    def __repr__(self) -> str:
        return repr(self._inner)


def read_ratings(
    path: "str | os.PathLike[str]",
    *,
    sep: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
    user_col: str | int | None = None,
    item_col: str | int | None = None,
    rating_col: str | int | None = None,
    timestamp_col: str | int | None = None,
    rating_scale: tuple[float, float] | str | None = None,
    duplicates: str = "last",
    bad_lines: str = "skip",
    zeros: str = "auto",
) -> Ratings:
    """Reads and cleans a ratings CSV exactly as ``bookrec inspect`` / ``bookrec train`` do.

    Everything left at None is sniffed (separator among ``, ; \\t :: |``, header, UTF-8 or
    latin-1, columns by header name). The options mirror the CLI flags:

    * ``sep``: a character, ``"\\t"``/``"tab"``, or a multi-character separator like ``"::"``;
    * ``header``: True/False forces whether the first line is a header;
    * ``encoding``: ``"utf-8"`` or ``"latin-1"``;
    * ``user_col`` / ``item_col`` / ``rating_col`` / ``timestamp_col``: header name or
      0-based index;
    * ``rating_scale``: ``(1, 10)`` or ``"1:10"``; ratings outside are dropped and counted;
    * ``duplicates``: ``"last"``, ``"mean"`` or ``"error"`` for repeated (user, book) pairs;
    * ``bad_lines``: ``"skip"`` (counted in the report) or ``"error"`` (raise
      :class:`bookrec.DataError` naming file, line and value);
    * ``zeros``: ``"auto"`` (0 is implicit when every other rating is ≥ 1, as in
      Book-Crossing), ``"implicit"`` or ``"rating"``.

    ``Ratings.cleaning_report()`` tells what was detected and dropped.
    """
    scale: str | None
    if rating_scale is None or isinstance(rating_scale, str):
        scale = rating_scale
    else:
        lo, hi = rating_scale
        scale = f"{float(lo)!r}:{float(hi)!r}"

    def col(c: str | int | None) -> str | None:
        return None if c is None else str(c)

    return Ratings(
        _bookrec.read_ratings(
            os.fspath(path),
            sep=sep,
            header=header,
            encoding=encoding,
            user_col=col(user_col),
            item_col=col(item_col),
            rating_col=col(rating_col),
            timestamp_col=col(timestamp_col),
            rating_scale=scale,
            duplicates=duplicates,
            bad_lines=bad_lines,
            zeros=zeros,
        )
    )


def _engine_books(books: object, what: str) -> _bookrec.Books:
    """The engine's catalogue inside ``books``, or a ``TypeError`` naming ``what`` when
    ``books`` is not a :class:`Books`."""
    if not isinstance(books, Books):
        raise TypeError(f"{what} must be bookrec.Books (read_books(path)), not {type(books).__name__}")
    return books._inner


def read_books(path: "str | os.PathLike[str]") -> Books:
    """Reads a catalogue CSV (``BX-Books.csv`` as distributed, or a plain
    ``book_id,title,author,year,genre`` file), repairing mojibake where unambiguous."""
    return Books(_bookrec.read_books(os.fspath(path)))


def train_test_split(
    ratings: Ratings, test_size: float = 0.2, seed: int = 0, strategy: str = "random"
) -> tuple[Ratings, Ratings]:
    """Holds out ``test_size`` of the ratings, deterministically for ``seed``.

    ``strategy``: ``"random"`` (uniform over all ratings), ``"user"`` (per user, so every
    test user keeps ratings in train) or ``"temporal"`` (each user's most recent ratings;
    needs timestamps). Train keeps the implicit interactions; test never has them.
    """
    train, test = _bookrec.split(ratings._inner, strategy, float(test_size), int(seed))
    return Ratings(train), Ratings(test)


def temporal_split(
    ratings: Ratings, test_size: float = 0.2, seed: int = 0
) -> tuple[Ratings, Ratings]:
    """Per-user leave-latest-out: each user's most recent ``test_size`` of ratings go to test
    (``train_test_split(..., strategy="temporal")``)."""
    return train_test_split(ratings, test_size=test_size, seed=seed, strategy="temporal")


def kfold(ratings: Ratings, folds: int = 5, seed: int = 0) -> list[tuple[Ratings, Ratings]]:
    """``folds`` (train, test) pairs whose test parts partition the ratings."""
    return [(Ratings(a), Ratings(b)) for a, b in _bookrec.kfold(ratings._inner, int(folds), int(seed))]


def holdout_with_books(
    train: Ratings, test: Ratings, books: Books, items: str = "isbn", duplicates: str = "last"
) -> tuple[Ratings, Ratings]:
    """A train/test pair prepared with the catalogue ``books`` as ``bookrec evaluate --books
    FILE --items LEVEL`` prepares it: ``train`` as :meth:`Ratings.with_books` makes it, and
    ``test``'s editions merged into ``train``'s works (a reader's held-out ratings of several
    editions of one work are scored as their mean), at either level, so ISBN-level and
    work-level models are scored on the same held-out ratings. Pass ``books`` to
    :func:`bookrec.evaluate` too, to rank lists of works as they are served."""
    catalog = _engine_books(books, "holdout_with_books' books")
    a, b = _bookrec.holdout_with_books(train._inner, test._inner, catalog, str(items), str(duplicates))
    return Ratings(a), Ratings(b)


class DemoData(NamedTuple):
    """The embedded demo data set: 450 real books in 14 genres, ratings from 1,500 simulated
    readers with planted genre tastes (user ids ``"1"``…``"1500"``, book ids ``DB0001``…)."""

    ratings: Ratings
    books: Books
    ratings_path: str
    books_path: str


def demo_data(seed: int | None = None, dir: "str | os.PathLike[str] | None" = None) -> DemoData:
    """Writes the embedded demo files (the same as ``bookrec demo``) into ``dir`` (a new
    temporary directory by default) and reads them."""
    seed = _bookrec.DEMO_SEED if seed is None else int(seed)
    target = tempfile.mkdtemp(prefix="bookrec-demo-") if dir is None else os.fspath(dir)
    ratings_path, books_path = _bookrec.write_demo_files(target, seed)
    return DemoData(
        read_ratings(ratings_path), read_books(books_path), str(ratings_path), str(books_path)
    )
