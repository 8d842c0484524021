# Type stubs of the Rust extension module (crates/bookrec-py). The public API is the
# pure-Python layer (bookrec/__init__.py), which is annotated inline.
from os import PathLike
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "Books",
    "DEMO_SEED",
    "FORMAT_VERSION",
    "Model",
    "Ratings",
    "Server",
    "__version__",
    "cross_validate",
    "default_params",
    "holdout_with_books",
    "kfold",
    "model_names",
    "normalize_ids",
    "read_books",
    "read_ratings",
    "serve",
    "split",
    "tune",
    "write_demo_files",
]

__version__: str
FORMAT_VERSION: int
DEMO_SEED: int

@final
class Ratings:
    def __len__(self) -> int: ...
    @property
    def n_users(self) -> int: ...
    @property
    def n_items(self) -> int: ...
    @property
    def n_implicit(self) -> int: ...
    @property
    def has_timestamps(self) -> bool: ...
    @property
    def rating_scale(self) -> tuple[float, float]: ...
    @property
    def global_mean(self) -> float: ...
    def active_counts(self) -> tuple[int, int]: ...
    def cleaning_report_json(self) -> str | None: ...
    def columns(
        self,
    ) -> tuple[
        list[str],
        list[str],
        npt.NDArray[np.uint32],
        npt.NDArray[np.uint32],
        npt.NDArray[np.float32],
        npt.NDArray[np.int64] | None,
    ]: ...
    def implicit_columns(self) -> tuple[list[str], list[str]]: ...
    def with_books(self, books: Books, items: str = ..., duplicates: str = ...) -> Ratings: ...
    @property
    def edition_merge_json(self) -> str | None: ...
    @property
    def book_groups(self) -> list[tuple[str, int]]: ...
    def csr(
        self,
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32], npt.NDArray[np.float32]]: ...
    def user_ids(self) -> list[str]: ...
    def item_ids(self) -> list[str]: ...
    @staticmethod
    def from_columns(
        users: list[str],
        items: list[str],
        ratings: npt.NDArray[np.float32],
        timestamps: npt.NDArray[np.int64] | None = None,
        scale: tuple[float, float] | None = None,
    ) -> Ratings: ...

@final
class Books:
    def __len__(self) -> int: ...
    def __contains__(self, key: str, /) -> bool: ...
    def get(self, id: str) -> dict[str, Any] | None: ...
    def lookup(self, ids: list[str]) -> tuple[list[str | None], list[str | None]]: ...
    def columns(self) -> dict[str, list[Any]]: ...
    def report_json(self) -> str | None: ...

@final
class Model:
    @staticmethod
    def fit(kind: str, params_json: str, train: Ratings) -> Model: ...
    @staticmethod
    def load(path: str | PathLike[str]) -> Model: ...
    def save(self, path: str | PathLike[str]) -> None: ...
    @property
    def kind(self) -> str: ...
    @property
    def params_json(self) -> str: ...
    @property
    def meta_json(self) -> str: ...
    @property
    def global_mean(self) -> float: ...
    @property
    def rating_scale(self) -> tuple[float, float]: ...
    def user_ids(self) -> list[str]: ...
    def item_ids(self) -> list[str]: ...
    def user_factors(self) -> npt.NDArray[np.float32] | None: ...
    def item_factors(self) -> npt.NDArray[np.float32] | None: ...
    def user_factor_rows(self) -> npt.NDArray[np.int64] | None: ...
    def item_factor_rows(self) -> npt.NDArray[np.int64] | None: ...
    def user_bias(self) -> npt.NDArray[np.float32] | None: ...
    def item_bias(self) -> npt.NDArray[np.float32] | None: ...
    def item_popularity(self) -> npt.NDArray[np.uint32]: ...
    def knows_user(self, id: str) -> bool: ...
    def predict(
        self, users: list[str], items: list[str]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]: ...
    def recommend(
        self,
        user: str,
        n: int,
        exclude_seen: bool,
        min_support: int,
        ranker: Model | None = None,
        min_rating: float | None = None,
        books: Books | None = None,
        include_uncatalogued: bool = False,
    ) -> tuple[list[str], list[float], list[float | None], str]: ...
    def similar(
        self,
        book: str,
        n: int,
        min_support: int,
        books: Books | None = None,
        include_uncatalogued: bool = False,
    ) -> tuple[list[str], list[float]]: ...
    def fold_in(
        self, books: list[str], ratings: list[float], n: int, min_support: int
    ) -> tuple[list[str], list[float], list[str]]: ...
    def popular(self, n: int, min_support: int) -> tuple[list[str], list[float]]: ...
    def evaluate(
        self,
        test: Ratings,
        k: int | None,
        relevance_threshold: float | None,
        min_support: int,
        max_ranking_users: int | None,
        books: Books | None = ...,
    ) -> str: ...

def read_ratings(
    path: str | PathLike[str],
    sep: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
    user_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    timestamp_col: str | None = None,
    rating_scale: str | None = None,
    duplicates: str = "last",
    bad_lines: str = "skip",
    zeros: str = "auto",
) -> Ratings: ...
def split(ratings: Ratings, strategy: str, test_size: float, seed: int) -> tuple[Ratings, Ratings]: ...
def kfold(ratings: Ratings, folds: int, seed: int) -> list[tuple[Ratings, Ratings]]: ...
def holdout_with_books(
    train: Ratings, test: Ratings, books: Books, items: str = ..., duplicates: str = ...
) -> tuple[Ratings, Ratings]: ...
def normalize_ids(ids: list[str]) -> list[str]: ...
def read_books(path: str | PathLike[str]) -> Books: ...
def write_demo_files(dir: str | PathLike[str], seed: int) -> tuple[str, str]: ...
def default_params(kind: str) -> str: ...
def model_names() -> list[str]: ...
def cross_validate(
    kind: str,
    params_json: str,
    ratings: Ratings,
    folds: int,
    seed: int,
    k: int | None,
    relevance_threshold: float | None,
    min_support: int,
    max_ranking_users: int | None,
) -> str: ...
def tune(
    kind: str,
    ratings: Ratings,
    trials: int,
    folds: int,
    metric: str,
    search: str,
    seed: int,
    space_json: str | None = None,
    space_path: str | None = None,
    space_name: str = "<space dict>",
    books: Books | None = None,
) -> str: ...

@final
class Server:
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def running(self) -> bool: ...
    def stop(self) -> None: ...

def serve(
    model: str | PathLike[str],
    books: str | PathLike[str] | None,
    db: str | PathLike[str],
    host: str,
    port: int,
    min_support: int,
    threads: int,
    ranker: str | PathLike[str] | None = None,
    min_rating: float | None = None,
) -> Server: ...
