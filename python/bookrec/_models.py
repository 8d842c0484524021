"""Models with scikit-learn conventions, evaluation, cross-validation, model files."""

from __future__ import annotations

import inspect
import json
import os
import tempfile
import warnings
from typing import Any, ClassVar, Iterable, Mapping, Sequence, TypeVar, cast

import numpy as np
import pandas as pd

from . import _bookrec
from ._data import Books, Ratings, _engine_books, read_ratings
from .errors import NotFittedError, ParamError, UnknownUserError, UnknownUserWarning

__all__ = [
    "GlobalMean",
    "Baseline",
    "SVD",
    "SVDpp",
    "ALS",
    "ItemKNN",
    "ImplicitALS",
    "Popularity",
    "NCF",
    "Hybrid",
    "load",
    "evaluate",
    "cross_validate",
]

#: Fallback codes returned by ``predict(..., return_fallback=True)``.
FALLBACKS = np.array(["none", "unknown_user", "unknown_book", "unknown_both"], dtype=object)

#: Books with fewer training ratings than this are never recommended (the engine's default).
DEFAULT_MIN_SUPPORT = 5


def engine_params(params_json: str) -> dict[str, Any]:
    """Hyper-parameters from the engine's JSON. The engine keeps float parameters as f32;
    they are shown as typed (0.005, not 0.004999999888)."""
    params = json.loads(params_json)
    params.pop("model", None)
    return {k: float(str(np.float32(v))) if isinstance(v, float) else v for k, v in params.items()}


def _defaults(kind: str) -> dict[str, Any]:
    return engine_params(_bookrec.default_params(kind))


# The signatures below take their default values from the engine, so there is one source of
# truth (e.g. SVD's are Surprise's); the parameter names are listed so that `help()`, IDEs and
# `get_params` see them.
_BASELINE = _defaults("baseline")
_SVD = _defaults("svd")
_SVDPP = _defaults("svdpp")
_ALS = _defaults("als")
_KNN = _defaults("knn")
_IALS = _defaults("ials")
_NCF = _defaults("ncf")
_HYBRID = _defaults("hybrid")


def _as_ratings(data: Any) -> Ratings:
    if isinstance(data, Ratings):
        return data
    if isinstance(data, pd.DataFrame):
        return Ratings.from_pandas(data)
    raise TypeError(
        f"expected bookrec.Ratings or a pandas DataFrame (user, item, rating), not {type(data).__name__}"
    )


def _ids(values: Any) -> list[str]:
    if isinstance(values, (str, bytes)) or np.isscalar(values):
        return [str(values)]
    return [str(v) for v in values]


M = TypeVar("M", bound="_Model")


class _Model:
    """Shared behaviour of every model. Subclasses only declare ``_kind`` and an ``__init__``
    listing their hyper-parameters (the engine checks names and ranges at ``fit``)."""

    _kind: ClassVar[str]
    _fitted: _bookrec.Model | None
    _books: Books | None

    # -- scikit-learn protocol ---------------------------------------------------------------

    @classmethod
    def _get_param_names(cls) -> list[str]:
        params = inspect.signature(cls.__init__).parameters.values()
        return [
            p.name
            for p in params
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters, as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self: M, **params: Any) -> M:
        """Sets hyper-parameters (takes effect at the next ``fit``). Unknown names raise
        :class:`bookrec.ParamError`."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                err = ParamError(
                    f"invalid parameter `{name}` for {type(self).__name__}; valid: {', '.join(valid)}"
                )
                err.name = name
                raise err
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = [
            f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k, object()) != v
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _params_json(self) -> str:
        params = {k: v for k, v in self.get_params().items() if v is not None}
        for k, v in params.items():
            if isinstance(v, np.generic):
                params[k] = v.item()
        return json.dumps(params)

    # -- fitting and model files ---------------------------------------------------------------

    def fit(self: M, train: Ratings | pd.DataFrame, y: None = None) -> M:
        """Fits on ``train`` (the GIL is released while the engine trains). Returns self."""
        data = _as_ratings(train)
        self._fitted = _bookrec.Model.fit(self._kind, self._params_json(), data._inner)
        return self

    def _model(self) -> _bookrec.Model:
        fitted: _bookrec.Model | None = getattr(self, "_fitted", None)
        if fitted is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(train) first"
            )
        return fitted

    def save(self, path: "str | os.PathLike[str]") -> None:
        """Writes the model file (the format of ``bookrec train``; readable by
        ``bookrec recommend --model`` and :func:`bookrec.load`)."""
        self._model().save(os.fspath(path))

    @property
    def meta_(self) -> dict[str, Any]:
        """Model-file metadata: format and bookrec version, data fingerprint, number of
        training ratings, training metrics (fit seconds, training RMSE/MAE)."""
        return cast(dict[str, Any], json.loads(self._model().meta_json))

    # -- pickling (joblib, multiprocessing): a fitted model travels as its model file ---------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        fitted = state.pop("_fitted", None)
        state["_fitted_file"] = None
        if fitted is not None:
            with tempfile.TemporaryDirectory(prefix="bookrec-") as tmp:
                path = os.path.join(tmp, "model.bkr")
                fitted.save(path)
                with open(path, "rb") as f:
                    state["_fitted_file"] = f.read()
        state.pop("_books", None)  # a catalogue is large and reattached cheaply
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        data = state.pop("_fitted_file", None)
        self.__dict__.update(state)
        self._books = None
        self._fitted = None
        if data is not None:
            with tempfile.TemporaryDirectory(prefix="bookrec-") as tmp:
                path = os.path.join(tmp, "model.bkr")
                with open(path, "wb") as f:
                    f.write(data)
                self._fitted = _bookrec.Model.load(path)

    # -- catalogue ----------------------------------------------------------------------------

    def attach_catalog(self: M, books: Books | None) -> M:
        """Attaches a catalogue, so recommendation tables carry titles and authors."""
        if books is not None:
            _engine_books(books, "attach_catalog's books")
        self._books = books
        return self

    def _catalog_inner(self, books: Books | None) -> Any:
        """The engine's catalogue for ``books``, else the attached one, else None."""
        books = books if books is not None else getattr(self, "_books", None)
        return None if books is None else books._inner

    def _table(
        self, ids: list[str], scores: Sequence[float], books: Books | None, score: str = "score"
    ) -> pd.DataFrame:
        books = books if books is not None else getattr(self, "_books", None)
        cols: dict[str, Any] = {"book_id": ids}
        if books is not None:
            titles, authors = books.titles(ids)
            cols["title"] = titles
            cols["author"] = authors
        cols[score] = np.asarray(scores, dtype=np.float32)
        return pd.DataFrame(cols)

    # -- learned parameters (read-only numpy views into the engine's memory) -------------------

    def _array(self, name: str, attr: str, what: str) -> np.ndarray:
        arr: np.ndarray | None = getattr(self._model(), name)()
        if arr is None:
            raise AttributeError(f"{type(self).__name__} has no {what} (attribute {attr})")
        return arr

    @property
    def user_factors_(self) -> np.ndarray:
        """p_u: float32 (users with training ratings, factors); row ``r`` belongs to
        ``user_factor_ids_[r]``. A read-only view of the model's memory (no copy)."""
        return self._array("user_factors", "user_factors_", "user factors")

    @property
    def item_factors_(self) -> np.ndarray:
        """q_i: float32 (books with training ratings, factors); row ``r`` belongs to
        ``book_factor_ids_[r]``. A read-only view of the model's memory (no copy)."""
        return self._array("item_factors", "item_factors_", "book factors")

    def _factor_ids(self, rows_method: str, ids: list[str], attr: str) -> np.ndarray:
        rows: np.ndarray | None = getattr(self._model(), rows_method)()
        if rows is None:
            raise AttributeError(f"{type(self).__name__} has no factors (attribute {attr})")
        out = np.empty(int(rows.max(initial=-1)) + 1, dtype=object)
        has = rows >= 0
        out[rows[has]] = np.asarray(ids, dtype=object)[has]
        return out

    @property
    def user_factor_ids_(self) -> np.ndarray:
        """Raw user ids of the rows of ``user_factors_``."""
        return self._factor_ids("user_factor_rows", self._model().user_ids(), "user_factor_ids_")

    @property
    def book_factor_ids_(self) -> np.ndarray:
        """Raw book ids of the rows of ``item_factors_``."""
        return self._factor_ids("item_factor_rows", self._model().item_ids(), "book_factor_ids_")

    @property
    def user_bias_(self) -> np.ndarray:
        """b_u: float32, one per user of ``user_ids_`` (0 for users without training
        ratings). A read-only view."""
        return self._array("user_bias", "user_bias_", "user biases")

    @property
    def item_bias_(self) -> np.ndarray:
        """b_i: float32, one per book of ``book_ids_``. A read-only view."""
        return self._array("item_bias", "item_bias_", "book biases")

    @property
    def global_mean_(self) -> float:
        """μ, the mean training rating."""
        return self._model().global_mean

    @property
    def user_ids_(self) -> np.ndarray:
        """Raw user ids of the model's vocabulary (the order of ``user_bias_``)."""
        return np.asarray(self._model().user_ids(), dtype=object)

    @property
    def book_ids_(self) -> np.ndarray:
        """Raw book ids of the model's vocabulary (the order of ``item_bias_`` and
        ``item_popularity_``)."""
        return np.asarray(self._model().item_ids(), dtype=object)

    @property
    def item_popularity_(self) -> np.ndarray:
        """Training ratings per book (uint32), in ``book_ids_`` order."""
        return self._model().item_popularity()

    @property
    def rating_scale_(self) -> tuple[float, float]:
        return self._model().rating_scale

    # -- prediction and recommendation --------------------------------------------------------

    def predict(
        self, users: Any, items: Any, return_fallback: bool = False
    ) -> Any:
        """Predicted ratings for (user, book) pairs of raw ids (vectorised; scalars give a
        float). Users or books without training ratings get the engine's fallback (μ + b_i,
        μ + b_u or μ), clipped to the rating scale; with ``return_fallback=True`` the result
        is ``(predictions, fallback)`` where ``fallback`` holds ``"none"``,
        ``"unknown_user"``, ``"unknown_book"`` or ``"unknown_both"`` per pair. Ranking models
        (:class:`ImplicitALS`, :class:`Popularity`) return their unclipped score instead — a
        preference or a count, not a rating — and 0 for unknowns."""
        scalar = (isinstance(users, (str, bytes)) or np.isscalar(users)) and (
            isinstance(items, (str, bytes)) or np.isscalar(items)
        )
        u, i = _ids(users), _ids(items)
        if len(u) == 1 and len(i) > 1:
            u = u * len(i)
        values, codes = self._model().predict(u, i)
        if scalar:
            return (float(values[0]), str(FALLBACKS[codes[0]])) if return_fallback else float(values[0])
        return (values, FALLBACKS[codes]) if return_fallback else values

    def recommend(
        self,
        user: Any,
        n: int = 10,
        exclude_seen: bool = True,
        min_support: int = DEFAULT_MIN_SUPPORT,
        books: Books | None = None,
        on_unknown: str = "popular",
        ranker: "_Model | None" = None,
        min_rating: float | None = None,
        include_uncatalogued: bool = False,
    ) -> pd.DataFrame:
        """Top-``n`` books for ``user``: ``book_id`` (``title``, ``author`` with a
        catalogue), ``score``, ``predicted_rating``, best first — the columns of the items of
        ``GET /api/users/{id}/recommendations`` and ``bookrec recommend --json`` (``book_id``
        is their ``book.id``), built by the same core function, so the three agree.

        ``score`` is the ranking model's score (``df.attrs["score_kind"]``): without a ranker,
        this model's predicted rating (then ``predicted_rating`` equals it). With a catalogue
        (``books`` or :meth:`attach_catalog`), the list holds works: one edition per work (the
        one readers know best), none of a work the reader already has, and only books the
        catalogue describes unless ``include_uncatalogued=True``. A user without
        training ratings gets the ``n`` best-liked popular works instead, scored by their
        damped mean rating (``df.attrs["source"]`` is ``"popular"``, ``score_kind``
        ``"damped_mean_rating"``; ``predicted_rating`` is this model's μ + b_i): an
        :class:`bookrec.UnknownUserWarning` is issued and ``df.attrs["known_user"]`` is
        False. With ``on_unknown="raise"`` such a user raises
        :class:`bookrec.UnknownUserError` instead. ``df.attrs`` holds the rest of the API's
        document under its names (``user_id``, ``known_user``, ``source``, ``ranker``,
        ``score_kind``, ``rating_model``, ``rating_fallback``, ``min_rating``,
        ``n_ratings_used``, ...).

        ``ranker``: another fitted model (e.g. :class:`ImplicitALS`) that chooses and orders
        the books, as ``bookrec recommend --ranker``; ``score`` is then the ranker's score and
        ``predicted_rating`` this model's prediction (NaN for a book it has no training
        ratings for). ``min_rating``: leave out books this model predicts below it, filling
        the list from further down the ranking (``--min-rating``). A ranker that cannot work
        with this model, or a ``min_rating`` off its rating scale, raises
        :class:`bookrec.ParamError`.
        """
        if on_unknown not in ("popular", "raise"):
            raise ParamError(f"on_unknown must be 'popular' or 'raise', not {on_unknown!r}")
        if ranker is not None and not isinstance(ranker, _Model):
            raise TypeError(f"ranker must be a fitted bookrec model, not {type(ranker).__name__}")
        ranking = ranker if ranker is not None else self
        if on_unknown == "raise" and not ranking._model().knows_user(str(user)):
            err = UnknownUserError(f"user {str(user)!r} has no training ratings")
            err.id = str(user)
            raise err
        ids, scores, predicted, document = self._model().recommend(
            str(user),
            int(n),
            bool(exclude_seen),
            int(min_support),
            ranker._model() if ranker is not None else None,
            None if min_rating is None else float(min_rating),
            self._catalog_inner(books),
            bool(include_uncatalogued),
        )
        df = self._table(ids, scores, books)
        df["predicted_rating"] = np.array(
            [np.nan if p is None else p for p in predicted], dtype=np.float32
        )
        header = json.loads(document)
        header.pop("items", None)
        df.attrs.update(header)
        known = bool(header["known_user"])
        # Kept from before the API's names were used: the same facts.
        df.attrs["user"] = str(user)
        df.attrs["strategy"] = "personalised" if known else "popular (unknown user)"
        # As given (the document's copy went through f32).
        df.attrs["min_rating"] = min_rating
        if not known:
            # One text for every user, so the default warning filter reports it once per call
            # site instead of once per user in a loop.
            warnings.warn(
                "the user has no training ratings; recommending the most popular books "
                "instead (df.attrs['known_user'] is False)",
                UnknownUserWarning,
                stacklevel=2,
            )
        return df

    def similar(
        self,
        book: Any,
        n: int = 10,
        min_support: int = DEFAULT_MIN_SUPPORT,
        books: Books | None = None,
        include_uncatalogued: bool = False,
    ) -> pd.DataFrame:
        """The ``n`` books most similar to ``book`` (cosine of book factors, or the kNN
        neighbour similarity), as ``book_id[, title, author], score``. Empty for models
        without a notion of similarity (GlobalMean, Baseline). An unknown book raises
        :class:`bookrec.UnknownBookError`. With a catalogue, one edition per work, none of
        ``book``'s own work, and only catalogued books unless ``include_uncatalogued=True``."""
        ids, scores = self._model().similar(
            str(book),
            int(n),
            int(min_support),
            self._catalog_inner(books),
            bool(include_uncatalogued),
        )
        return self._table(ids, scores, books)

    def fold_in(
        self,
        ratings: Mapping[Any, float] | Iterable[tuple[Any, float]],
        n: int = 10,
        min_support: int = DEFAULT_MIN_SUPPORT,
        books: Books | None = None,
    ) -> pd.DataFrame:
        """Top-``n`` books for a new reader given only their ratings (``{book: rating}`` or
        ``[(book, rating), ...]``), without retraining: the reader's factors are solved
        against the fixed book factors. Rated books are excluded; books the model does not
        know are ignored (listed in ``df.attrs["ignored"]``)."""
        pairs = list(ratings.items()) if isinstance(ratings, Mapping) else list(ratings)
        book_ids = [str(b) for b, _ in pairs]
        values = [float(r) for _, r in pairs]
        ids, scores, ignored = self._model().fold_in(book_ids, values, int(n), int(min_support))
        df = self._table(ids, scores, books)
        df.attrs["ignored"] = ignored
        return df

    def popular(
        self, n: int = 10, min_support: int = DEFAULT_MIN_SUPPORT, books: Books | None = None
    ) -> pd.DataFrame:
        """The ``n`` most-rated books (score = number of training ratings)."""
        ids, scores = self._model().popular(int(n), int(min_support))
        return self._table(ids, scores, books)

    def knows_user(self, user: Any) -> bool:
        """True if ``user`` has training ratings."""
        return self._model().knows_user(str(user))


class GlobalMean(_Model):
    """r̂(u,i) = μ: the mean training rating for everyone (a reference point)."""

    _kind = "mean"

    def __init__(self) -> None:
        self._fitted = None
        self._books = None


class Baseline(_Model):
    """r̂(u,i) = μ + b_u + b_i, regularised biases fitted by ALS (Surprise's BaselineOnly
    defaults: reg_u 15, reg_i 10, 10 epochs) or SGD (lr, reg, 20 epochs)."""

    _kind = "baseline"

    def __init__(
        self,
        method: str = _BASELINE["method"],
        epochs: int | None = _BASELINE["epochs"],
        reg_u: float = _BASELINE["reg_u"],
        reg_i: float = _BASELINE["reg_i"],
        lr: float = _BASELINE["lr"],
        reg: float = _BASELINE["reg"],
    ) -> None:
        self.method = method
        self.epochs = epochs
        self.reg_u = reg_u
        self.reg_i = reg_i
        self.lr = lr
        self.reg = reg
        self._fitted = None
        self._books = None


class SVD(_Model):
    """Biased matrix factorisation by SGD, r̂(u,i) = μ + b_u + b_i + q_iᵀp_u. Defaults equal
    Surprise's SVD (100 factors, 20 epochs, lr 0.005, reg 0.02, init N(0, 0.1²)).
    ``blocks``: grid size of the parallel SGD (0 = automatic, 1 = sequential)."""

    _kind = "svd"

    def __init__(
        self,
        factors: int = _SVD["factors"],
        epochs: int = _SVD["epochs"],
        lr: float = _SVD["lr"],
        reg: float = _SVD["reg"],
        init_mean: float = _SVD["init_mean"],
        init_std: float = _SVD["init_std"],
        blocks: int = _SVD["blocks"],
        seed: int = _SVD["seed"],
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.init_mean = init_mean
        self.init_std = init_std
        self.blocks = blocks
        self.seed = seed
        self._fitted = None
        self._books = None


class SVDpp(_Model):
    """SVD++: r̂(u,i) = μ + b_u + b_i + q_iᵀ(p_u + |N(u)|^-½ Σ_{j∈N(u)} y_j), where N(u)
    includes the implicit interactions (Book-Crossing's zeros). Surprise's defaults."""

    _kind = "svdpp"

    def __init__(
        self,
        factors: int = _SVDPP["factors"],
        epochs: int = _SVDPP["epochs"],
        lr: float = _SVDPP["lr"],
        reg: float = _SVDPP["reg"],
        init_mean: float = _SVDPP["init_mean"],
        init_std: float = _SVDPP["init_std"],
        seed: int = _SVDPP["seed"],
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.init_mean = init_mean
        self.init_std = init_std
        self.seed = seed
        self._fitted = None
        self._books = None


class ALS(_Model):
    """Explicit alternating least squares on bias residuals: biases first, as ``Baseline``
    (``bias_iterations`` alternations shrunk by ``reg_u``/``reg_i``), then factors with
    weighted-λ regularisation (each row's L2 weight is ``reg`` × its number of ratings) — the
    model the Spark path fits."""

    _kind = "als"

    def __init__(
        self,
        factors: int = _ALS["factors"],
        iterations: int = _ALS["iterations"],
        reg: float = _ALS["reg"],
        reg_u: float = _ALS["reg_u"],
        reg_i: float = _ALS["reg_i"],
        bias_iterations: int = _ALS["bias_iterations"],
        init_std: float = _ALS["init_std"],
        seed: int = _ALS["seed"],
    ) -> None:
        self.factors = factors
        self.iterations = iterations
        self.reg = reg
        self.reg_u = reg_u
        self.reg_i = reg_i
        self.bias_iterations = bias_iterations
        self.init_std = init_std
        self.seed = seed
        self._fitted = None
        self._books = None


class ItemKNN(_Model):
    """Item-based k nearest neighbours over baseline residuals (Surprise's KNNBaseline,
    item-based, shrunk pearson_baseline), with sparse top-``max_neighbours`` lists per book."""

    _kind = "knn"

    def __init__(
        self,
        k: int = _KNN["k"],
        min_k: int = _KNN["min_k"],
        max_neighbours: int = _KNN["max_neighbours"],
        similarity: str = _KNN["similarity"],
        shrinkage: float = _KNN["shrinkage"],
        reg_u: float = _KNN["reg_u"],
        reg_i: float = _KNN["reg_i"],
        baseline_epochs: int = _KNN["baseline_epochs"],
    ) -> None:
        self.k = k
        self.min_k = min_k
        self.max_neighbours = max_neighbours
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.reg_u = reg_u
        self.reg_i = reg_i
        self.baseline_epochs = baseline_epochs
        self._fitted = None
        self._books = None


class ImplicitALS(_Model):
    """Implicit-feedback ALS with confidence weighting (Hu, Koren & Volinsky 2008), fitted on
    every interaction, rated or implicit (Book-Crossing's 0s): preference 1 with confidence
    ``1 + alpha * w`` (``w`` = ``explicit_weight`` or ``implicit_weight``), 0 elsewhere.

    A ranking model: ``predict`` returns a preference score (about 1 = likely to read; not a
    rating, not clipped to the rating scale), and :func:`bookrec.evaluate` reports RMSE/MAE
    as NaN. Use ``recommend`` / ranking metrics. ``cg_steps=0`` solves rows exactly."""

    _kind = "ials"

    def __init__(
        self,
        factors: int = _IALS["factors"],
        iterations: int = _IALS["iterations"],
        reg: float = _IALS["reg"],
        alpha: float = _IALS["alpha"],
        explicit_weight: float = _IALS["explicit_weight"],
        implicit_weight: float = _IALS["implicit_weight"],
        cg_steps: int = _IALS["cg_steps"],
        init_std: float = _IALS["init_std"],
        seed: int = _IALS["seed"],
    ) -> None:
        self.factors = factors
        self.iterations = iterations
        self.reg = reg
        self.alpha = alpha
        self.explicit_weight = explicit_weight
        self.implicit_weight = implicit_weight
        self.cg_steps = cg_steps
        self.init_std = init_std
        self.seed = seed
        self._fitted = None
        self._books = None


class NCF(_Model):
    """Neural collaborative filtering (NeuMF) for explicit ratings: a GMF branch p_u ⊙ q_i and
    an MLP branch over [p'_u ; q'_i] (hidden sizes ``layers``, ReLU) fused by one linear
    layer, r̂(u,i) = μ + b_u + b_i + wᵀ[p_u ⊙ q_i ; h_L] + c. Trained with mini-batch Adam;
    ``val_fraction`` of the training ratings is held out for early stopping (``patience``
    epochs) and the best epoch's weights are kept."""

    _kind = "ncf"

    def __init__(
        self,
        factors: int = _NCF["factors"],
        layers: Sequence[int] = list(_NCF["layers"]),  # noqa: B006 - never mutated; the engine reports a list
        dropout: float = _NCF["dropout"],
        epochs: int = _NCF["epochs"],
        batch_size: int = _NCF["batch_size"],
        lr: float = _NCF["lr"],
        weight_decay: float = _NCF["weight_decay"],
        reg: float = _NCF["reg"],
        val_fraction: float = _NCF["val_fraction"],
        patience: int = _NCF["patience"],
        init_std: float = _NCF["init_std"],
        fold_in_steps: int = _NCF["fold_in_steps"],
        seed: int = _NCF["seed"],
    ) -> None:
        self.factors = factors
        self.layers = layers
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.reg = reg
        self.val_fraction = val_fraction
        self.patience = patience
        self.init_std = init_std
        self.fold_in_steps = fold_in_steps
        self.seed = seed
        self._fitted = None
        self._books = None


class Hybrid(_Model):
    """r̂(u,i) = μ + b_u + γ_a(u) + b_i + Σ_g β_g(i) + δ_a(i): regularised biases plus biases
    of the book's catalogue groups (author, work, publisher, period) and of readers' and
    books' implicit-activity levels (⌊log₂ n⌋ of their unrated interactions), fitted by
    back-fitting. The catalogue groups apply when the training ratings carry them
    (``ratings.with_books(bookrec.read_books(path))``, as the CLI's ``--books``); otherwise
    only the activity levels do."""

    _kind = "hybrid"

    def __init__(
        self,
        epochs: int = _HYBRID["epochs"],
        reg_u: float = _HYBRID["reg_u"],
        reg_i: float = _HYBRID["reg_i"],
        reg_author: float = _HYBRID["reg_author"],
        reg_work: float = _HYBRID["reg_work"],
        reg_publisher: float = _HYBRID["reg_publisher"],
        reg_period: float = _HYBRID["reg_period"],
        reg_activity: float = _HYBRID["reg_activity"],
    ) -> None:
        self.epochs = epochs
        self.reg_u = reg_u
        self.reg_i = reg_i
        self.reg_author = reg_author
        self.reg_work = reg_work
        self.reg_publisher = reg_publisher
        self.reg_period = reg_period
        self.reg_activity = reg_activity
        self._fitted = None
        self._books = None


class Popularity(_Model):
    """Score = number of training interactions (rated or implicit) of the book: the same list
    for every reader, the floor a ranking model must beat. Not a rating predictor."""

    _kind = "popularity"

    def __init__(self) -> None:
        self._fitted = None
        self._books = None


#: Engine model name → Python class.
MODEL_CLASSES: dict[str, type[_Model]] = {
    cls._kind: cls
    for cls in (
        GlobalMean, Baseline, SVD, SVDpp, ALS, ItemKNN, ImplicitALS, Popularity, NCF, Hybrid
    )
}


def load(path: "str | os.PathLike[str]", books: Books | None = None) -> _Model:
    """Reads a model file written by ``Model.save`` or ``bookrec train``; returns an
    estimator of the right class with its hyper-parameters set, ready to predict."""
    fitted = _bookrec.Model.load(os.fspath(path))
    cls = MODEL_CLASSES.get(fitted.kind)
    if cls is None:  # a model kind this Python package predates
        raise ParamError(f"model kind {fitted.kind!r} has no Python class in this version")
    params = engine_params(fitted.params_json)
    names = set(cls._get_param_names())
    model = cls(**{k: v for k, v in params.items() if k in names})
    model._fitted = fitted
    model._books = books
    return model


def _eval_args(
    k: int | None, relevance_threshold: float | None, min_support: int, max_ranking_users: int | None
) -> tuple[int | None, float | None, int, int | None]:
    return (
        None if k is None or k == 0 else int(k),
        None if relevance_threshold is None else float(relevance_threshold),
        int(min_support),
        None if max_ranking_users is None else int(max_ranking_users),
    )


def evaluate(
    model: "_Model | str | os.PathLike[str]",
    test: "Ratings | pd.DataFrame | str | os.PathLike[str]",
    k: int | None = 10,
    relevance_threshold: float | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
    max_ranking_users: int | None = 5000,
    books: Books | None = None,
) -> dict[str, Any]:
    """Evaluates a fitted model on ``test``: ``rmse``, ``mae``, ``predict_seconds``,
    ``n_test``, unknown-user/-book counts (fallback predictions) and, unless ``k`` is None or
    0, ``ranking`` metrics at ``k`` (precision, recall, ndcg, map, hit_rate, coverage; test
    ratings ≥ ``relevance_threshold`` are relevant, default 70% up the rating scale, 7.3 on
    1–10). Ranking uses at most ``max_ranking_users`` test users (a fixed sample).

    ``model`` may be a model file's path (``bookrec train``, ``tune --save-model``,
    ``import-spark``) and ``test`` a ratings file's path (read as ``read_ratings`` does): the
    same as ``bookrec evaluate --model-file MODEL --test FILE --json``. A test set that cannot
    belong to the model (ratings outside its scale; no user or no book it was trained on)
    raises ``DataError`` naming an example.

    With ``books`` (a catalogue), lists are ranked as they are served — works, one edition
    each, catalogued books only, none of a work the reader has — and a hit is any edition of a
    held-out work (the CLI's ``evaluate --books``; ``ranking["level"]`` is ``"works"``).
    Prepare the pair with :func:`bookrec.holdout_with_books` so held-out editions count as
    their works."""
    catalog = None if books is None else _engine_books(books, "evaluate's books")
    if isinstance(model, (str, os.PathLike)):
        model = load(model)
    if not isinstance(model, _Model):
        raise TypeError("evaluate expects a bookrec model (e.g. bookrec.SVD().fit(train)) or a model file's path")
    if isinstance(test, (str, os.PathLike)):
        test = read_ratings(test)
    text = model._model().evaluate(
        _as_ratings(test)._inner,
        *_eval_args(k, relevance_threshold, min_support, max_ranking_users),
        catalog,
    )
    return cast(dict[str, Any], json.loads(text))


def cross_validate(
    model: _Model,
    ratings: Ratings,
    folds: int = 5,
    seed: int = 0,
    k: int | None = 10,
    relevance_threshold: float | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
    max_ranking_users: int | None = 5000,
) -> pd.DataFrame:
    """k-fold cross-validation of ``model``'s hyper-parameters (the model itself is not
    fitted): one row per fold (index ``fold``, 1-based) with ``rmse, mae, fit_seconds,
    predict_seconds, n_train, n_test`` and, with ``k``, the ranking metrics. The engine's mean
    and standard deviation across folds are in ``df.attrs["mean"]`` / ``df.attrs["std"]``."""
    if not isinstance(model, _Model):
        raise TypeError("cross_validate expects a bookrec model (e.g. bookrec.SVD())")
    text = _bookrec.cross_validate(
        model._kind,
        model._params_json(),
        _as_ratings(ratings)._inner,
        int(folds),
        int(seed),
        *_eval_args(k, relevance_threshold, min_support, max_ranking_users),
    )
    report = json.loads(text)
    rows = []
    for fold in report["folds"]:
        row = {key: fold[key] for key in ("rmse", "mae", "fit_seconds", "predict_seconds", "n_train", "n_test", "n_unknown_user", "n_unknown_item")}
        ranking = fold.get("ranking") or {}
        for key in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage"):
            if key in ranking:
                row[key] = ranking[key]
        rows.append(row)
    df = pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="fold"))
    df.attrs["model"] = report["model"]
    df.attrs["mean"] = report["mean"]
    df.attrs["std"] = report["std"]
    return df
