"""Shared fixtures: the embedded demo data, a fitted SVD and ImplicitALS, the `bookrec` CLI
binary."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import bookrec

REPO = Path(__file__).resolve().parents[2]
#: The real Book-Crossing dump, next to the worktree (CI has it; skipped with a notice if not).
BX_DIR = Path(
    os.environ.get("BOOKREC_BX_DIR") or REPO.parent / "shared" / "data" / "book-crossing"
)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> bookrec.DemoData:
    return bookrec.demo_data(dir=tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def split(demo: bookrec.DemoData) -> tuple[bookrec.Ratings, bookrec.Ratings]:
    return bookrec.train_test_split(demo.ratings, test_size=0.2, seed=0)


@pytest.fixture(scope="session")
def svd(split: tuple[bookrec.Ratings, bookrec.Ratings]) -> bookrec.SVD:
    """SVD with a factor count that is not a multiple of the engine's SIMD padding (8)."""
    return bookrec.SVD(factors=20, epochs=15).fit(split[0])


@pytest.fixture(scope="session")
def ials(split: tuple[bookrec.Ratings, bookrec.Ratings]) -> bookrec.ImplicitALS:
    """A ranking model to pair with `svd` (it chooses the books, svd predicts their ratings)."""
    return bookrec.ImplicitALS(factors=16, iterations=5).fit(split[0])


def _cli_binary() -> Path | None:
    """The `bookrec` CLI: $BOOKREC_CLI, else target/debug/bookrec under $CARGO_TARGET_DIR or
    the repository's target directory."""
    if os.environ.get("BOOKREC_CLI"):
        return Path(os.environ["BOOKREC_CLI"])
    dirs = [os.environ.get("CARGO_TARGET_DIR"), str(REPO / "target")]
    for d in filter(None, dirs):
        for profile in ("debug", "release"):
            p = Path(d) / profile / "bookrec"
            if p.is_file() and os.access(p, os.X_OK):
                return p
    found = shutil.which("bookrec")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def cli() -> Path:
    path = _cli_binary()
    if path is None:
        pytest.skip(
            "the bookrec CLI binary is not built (cargo build -p bookrec-cli, or set BOOKREC_CLI)"
        )
    return path
