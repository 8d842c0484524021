"""Serving a model file: the ``bookrec serve`` web app and JSON API, from Python."""

from __future__ import annotations

import os
import shutil
import tempfile
from types import TracebackType

from . import _bookrec
from ._models import DEFAULT_MIN_SUPPORT

__all__ = ["Server", "serve"]


class Server:
    """A running web app (returned by :func:`bookrec.serve`).

    ``url`` is its base address (``http://127.0.0.1:PORT``); ``stop()`` shuts it down
    gracefully. Usable as a context manager: ``with bookrec.serve(path) as server: ...``.
    """

    __slots__ = ("_inner", "_tmpdir")

    def __init__(self, inner: _bookrec.Server, tmpdir: str | None) -> None:
        self._inner = inner
        self._tmpdir = tmpdir

    @property
    def host(self) -> str:
        return self._inner.host

    @property
    def port(self) -> int:
        """The port actually bound (a free one when ``port=0`` was asked for)."""
        return self._inner.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._inner.running

    def stop(self) -> None:
        """Stops accepting connections, lets in-flight requests finish, and removes the
        temporary ratings database if :func:`serve` created one. Idempotent."""
        try:
            self._inner.stop()
        finally:
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None

    def __enter__(self) -> "Server":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<bookrec.Server {self.url} ({state})>"


def serve(
    model_path: "str | os.PathLike[str]",
    books: "str | os.PathLike[str] | None" = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    db: "str | os.PathLike[str] | None" = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
    threads: int = 2,
    ranker: "str | os.PathLike[str] | None" = None,
    min_rating: "float | None" = None,
) -> Server:
    """Starts the web app and JSON API (the same server as ``bookrec serve``) on a model file
    written by ``Model.save`` / ``bookrec train``, in a background thread of this process, and
    returns once it accepts connections.

    ``books``: the catalogue CSV (titles, authors, covers); ``port=0`` picks a free port (see
    ``Server.url``); ``db``: the SQLite file for ratings submitted through the page or API
    (default: a temporary one, removed by ``stop()``); ``ranker``: a second model file that
    chooses and orders the recommendations (e.g. an ``ials`` model) while ``model_path``
    supplies the predicted ratings, as ``bookrec serve --ranker``; ``min_rating``: leave out of
    the recommendations the books the rating model predicts below this rating, filling the
    lists from further down the ranking (``bookrec serve --min-rating``; a request's
    ``?min_rating=`` overrides it). A bad model file, a model and ranker that cannot work
    together, or a ``min_rating`` off the model's rating scale raises :class:`RuntimeError`
    naming it; a ``min_rating`` that is not a finite number raises :class:`ParamError`; a busy
    port raises :class:`OSError`.
    """
    tmpdir = None
    if db is None:
        tmpdir = tempfile.mkdtemp(prefix="bookrec-serve-")
        db = os.path.join(tmpdir, "ratings.sqlite")
    try:
        inner = _bookrec.serve(
            os.fspath(model_path),
            None if books is None else os.fspath(books),
            os.fspath(db),
            str(host),
            int(port),
            int(min_support),
            int(threads),
            None if ranker is None else os.fspath(ranker),
            None if min_rating is None else float(min_rating),
        )
    except BaseException:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return Server(inner, tmpdir)
