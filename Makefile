# bookrec: the README's two set-up commands are `make demo` and `make test`.
# Both work on a fresh machine of this project's kind (Rust toolchain present); `make test`
# installs the Debian/PyPI packages the tests need by itself (scripts/setup-test-deps.sh).

CARGO ?= cargo

.PHONY: demo test lint unit build release bench compare

## Main job: build bookrec and run the end-to-end demo on the embedded data set.
demo:
	$(CARGO) run --release -p bookrec-cli -- demo

## Whole test suite: install test dependencies, fmt check, clippy -D warnings, Rust tests,
## then the Python package's pytest suite (builds it into .venv with maturin).
test:
	bash scripts/setup-test-deps.sh
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	bash scripts/python-tests.sh

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p bookrec-cli

## criterion benches of the hot kernels.
bench:
	$(CARGO) bench -p bookrec-core

## bookrec vs Surprise on the same Book-Crossing split (needs ../shared/data).
compare: release
	python3 -m pip install --quiet pandas numpy scikit-surprise
	python3 bench/compare_surprise.py --json bench/results/compare_surprise.json
