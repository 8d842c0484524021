#!/usr/bin/env python3
"""Executes notebooks/book_recommender.ipynb headless (nbclient) and fails if any cell errors.

    python notebooks/run.py            # execute, keep the committed file unchanged
    python notebooks/run.py --inplace  # execute and save the outputs into the notebook

The kernel is the interpreter running this script (it needs bookrec, matplotlib, pandas,
scipy and scikit-surprise). BOOKREC_BX_DIR selects the Book-Crossing directory; without the
files the notebook runs on the embedded demo data.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "book_recommender.ipynb"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inplace", action="store_true", help="write the outputs into the notebook")
    ap.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    args = ap.parse_args()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as e:
        print(f"notebook: a cell failed:\n{e}", file=sys.stderr)
        return 1
    print(f"notebook: executed {NOTEBOOK.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.inplace:
        nbformat.write(nb, NOTEBOOK)
        print(f"notebook: outputs saved into {NOTEBOOK}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
