"""bookrec: fast personalised book recommendations.

A Rust engine (loading and cleaning real ratings files, collaborative-filtering models,
evaluation, versioned model files) with a scikit-learn style Python face::

    import bookrec
    demo = bookrec.demo_data()
    train, test = bookrec.train_test_split(demo.ratings, test_size=0.2, seed=0)
    model = bookrec.SVD(factors=50).fit(train).attach_catalog(demo.books)
    bookrec.evaluate(model, test)            # {'rmse': ..., 'mae': ..., 'ranking': {...}}
    model.recommend("7", n=10)               # DataFrame: book_id, title, author, score, predicted_rating
    model.save("svd.bkr")                    # same file as `bookrec train --out svd.bkr`

Models and files are shared with the ``bookrec`` command-line tool.
"""

from __future__ import annotations

from . import _bookrec
from ._data import (
    Books,
    DemoData,
    Ratings,
    demo_data,
    holdout_with_books,
    kfold,
    read_books,
    read_ratings,
    temporal_split,
    train_test_split,
)
from ._models import (
    ALS,
    NCF,
    SVD,
    Baseline,
    GlobalMean,
    Hybrid,
    ImplicitALS,
    ItemKNN,
    Popularity,
    SVDpp,
    cross_validate,
    evaluate,
    load,
)
from ._serve import Server, serve
from ._tune import TuneResult, tune
from .errors import (
    BookrecError,
    DataError,
    FileError,
    ModelFileError,
    NotFittedError,
    ParamError,
    UnknownBookError,
    UnknownUserError,
    UnknownUserWarning,
)

__version__: str = _bookrec.__version__

#: Version of the model file format this package reads and writes.
FORMAT_VERSION: int = _bookrec.FORMAT_VERSION

__all__ = [
    "__version__",
    "FORMAT_VERSION",
    "Ratings",
    "Books",
    "DemoData",
    "read_ratings",
    "read_books",
    "train_test_split",
    "temporal_split",
    "kfold",
    "holdout_with_books",
    "demo_data",
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
    "tune",
    "TuneResult",
    "serve",
    "Server",
    "BookrecError",
    "DataError",
    "FileError",
    "ParamError",
    "NotFittedError",
    "UnknownUserError",
    "UnknownBookError",
    "ModelFileError",
    "UnknownUserWarning",
]
