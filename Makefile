# bookrec: the README's two set-up commands are `make demo` and `make test`.
# Both work on a fresh machine of this project's kind (Rust toolchain present); `make test`
# installs the Debian/PyPI packages the tests need by itself (scripts/setup-test-deps.sh).

CARGO ?= cargo

.PHONY: demo test lint unit build release bench compare report report-render

## Main job: build and install the `bookrec` command (cargo install: release build, into
## ~/.cargo/bin, the directory rustup puts on the PATH; CARGO_INSTALL_ROOT moves it), then run
## the end-to-end demo on the embedded data set with it. ARGS passes options to `bookrec demo`,
## e.g. make demo ARGS="--addr 127.0.0.1:8080" or ARGS=--no-serve.
ARGS ?=
BOOKREC_BIN = $${CARGO_INSTALL_ROOT:-$${CARGO_HOME:-$$HOME/.cargo}}/bin/bookrec
demo:
	$(CARGO) install --locked --force --path crates/bookrec-cli
	@bin="$(BOOKREC_BIN)"; \
	if [ "$$(command -v bookrec)" = "$$bin" ]; then \
		echo "bookrec is installed at $$bin (on your PATH)"; \
	else \
		echo "bookrec is installed at $$bin, which is not first on your PATH:"; \
		echo "  export PATH=\"$$(dirname "$$bin"):\$$PATH\""; \
	fi
	"$(BOOKREC_BIN)" demo $(ARGS)

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

## bookrec vs Surprise on the same Book-Crossing splits (needs ../shared/data): the README's
## two tables, seeds 0-2 with shuffled rows and with rows in file order (~5 minutes).
compare: release
	python3 -m pip install --quiet pandas numpy scikit-surprise
	python3 bench/compare_surprise.py --seeds 0,1,2 --json bench/results/compare_surprise.json
	python3 bench/compare_surprise.py --seeds 0,1,2 --keep-order \
		--json bench/results/compare_surprise_file_order.json

## REPORT.md and docs/report/*.png: runs every experiment of the report with the release
## binary (Book-Crossing from ../shared/data, synthetic data at scale), writes
## bench/results/report.json, then renders. REPORT_ARGS passes options to scripts/report.py.
REPORT_PYTHON ?= python3
REPORT_ARGS ?=
report: release
	$(REPORT_PYTHON) -m pip install --quiet matplotlib
	$(REPORT_PYTHON) scripts/report.py $(REPORT_ARGS)

## Re-render REPORT.md and the figures from the existing bench/results/report.json.
report-render:
	$(REPORT_PYTHON) -m pip install --quiet matplotlib
	$(REPORT_PYTHON) scripts/report.py --render $(REPORT_ARGS)
