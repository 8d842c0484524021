"""Exceptions raised by bookrec.

Every error of the Rust engine arrives as one of these classes, with the engine's message
(file, 1-based line and offending value for malformed input; parameter name and the valid
range for a bad hyper-parameter). They are ordinary Python exceptions with familiar second
bases, so ``except ValueError`` / ``except KeyError`` / ``except OSError`` also work.
"""

from __future__ import annotations

__all__ = [
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


class BookrecError(Exception):
    """Base class of every bookrec error."""


class DataError(BookrecError, ValueError):
    """Input data is malformed or unusable.

    For a malformed line, ``path``, ``line`` (1-based) and ``value`` are set.
    """

    path: str | None = None
    line: int | None = None
    value: str | None = None


class FileError(OSError, DataError):
    """A file cannot be opened or read (``errno``, ``strerror``, ``filename`` as for
    ``OSError``; the message names the file)."""

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror else super().__str__()


class ParamError(BookrecError, ValueError):
    """A hyper-parameter or option is unknown or out of range (``name``, ``value``)."""

    name: str | None = None
    value: str | None = None


class NotFittedError(BookrecError, AttributeError):
    """A model was used before ``fit`` (or ``bookrec.load``)."""


class UnknownUserError(BookrecError, KeyError):
    """A user id the model or data does not know (``id``)."""

    id: str | None = None

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0]) if self.args else ""


class UnknownBookError(BookrecError, KeyError):
    """A book id the model or data does not know (``id``)."""

    id: str | None = None

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelFileError(BookrecError):
    """A model file is corrupted, truncated, or from an incompatible version (``path``)."""

    path: str | None = None


class UnknownUserWarning(UserWarning):
    """``recommend`` was asked about a user without training ratings; the most popular
    books were returned instead (as ``bookrec recommend`` does)."""
