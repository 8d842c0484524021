#!/usr/bin/env bash
# Builds the `bookrec` Python package (PyO3 + maturin, dev profile) into a virtualenv and runs
# its pytest suite, including the parity tests against the `bookrec` CLI built from the same
# sources. Needs python3 (>= 3.10, with venv) and the Rust toolchain; everything else comes
# from PyPI. Extra arguments go to pytest (e.g. `-k recommend`).
#
#   BOOKREC_VENV      virtualenv to create/use (default: .venv in the repository)
#   PYTHON            interpreter for creating it (default: python3)
#   CARGO_TARGET_DIR  honoured as usual
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv=${BOOKREC_VENV:-$repo/.venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    echo "python-tests: creating $venv" >&2
    "$python" -m venv "$venv"
fi
# PySpark: the tested range, the `spark` extra of pyproject.toml (keep the two equal).
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin>=1.7,<2" "pytest>=7" pandas numpy scipy mypy pandas-stubs "pyspark>=4.3,<4.4"

echo "python-tests: building the bookrec CLI (for the parity tests)" >&2
cargo build -p bookrec-cli
target_dir=${CARGO_TARGET_DIR:-$repo/target}
case $target_dir in /*) ;; *) target_dir=$repo/$target_dir ;; esac
export BOOKREC_CLI=$target_dir/debug/bookrec

# Not --quiet: compiling the extension takes minutes on a small machine; cargo's progress
# shows it is moving.
echo "python-tests: building and installing the package (maturin develop)" >&2
VIRTUAL_ENV=$venv "$venv/bin/maturin" develop

echo "python-tests: type checks (mypy --strict; the .pyi stub against the built module)" >&2
"$venv/bin/python" -m mypy --strict --no-incremental python/bookrec
"$venv/bin/python" -m mypy.stubtest bookrec._bookrec

# -rs prints why a test was skipped (e.g. the Spark tests outside CI without PySpark/Java).
# -v prints each test as it finishes (some take a minute: Spark, the CLI parity runs), and
# --durations lists the slowest at the end.
echo "python-tests: pytest ($(date -u +%H:%M:%S) UTC)" >&2
"$venv/bin/python" -m pytest -v --durations=10 -rs -p no:cacheprovider python/tests "$@"

# The end-to-end notebook, executed headless on the Book-Crossing files when present (else on
# the embedded demo data); any cell error fails. BOOKREC_NOTEBOOK=0 skips it.
if [ "${BOOKREC_NOTEBOOK:-1}" != 0 ]; then
    echo "python-tests: executing notebooks/book_recommender.ipynb (nbclient)" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        nbclient nbformat ipykernel matplotlib scikit-surprise
    "$venv/bin/python" notebooks/run.py
fi
