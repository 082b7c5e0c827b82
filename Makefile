# Build asciinema.pyz, the single-file executable, from this tree and the pins in vendor.txt.
# `make` rebuilds only when a source, vendor.txt or build_zipapp.py changed. Downloads are
# cached (hash-checked) in $(BUILD_DIR)/; `rm -rf $(BUILD_DIR)` drops that cache too.

PYTHON ?= python3
PYZ ?= asciinema.pyz
BUILD_DIR ?= build
# Extra options for build_zipapp.py, e.g. BUILD_FLAGS=--offline
BUILD_FLAGS ?=
BUILD = $(PYTHON) build_zipapp.py --build-dir $(BUILD_DIR) $(BUILD_FLAGS)

# What build_zipapp.py packs from the tree: asciinema/**/*.py and asciinema/assets/**.
SOURCES := $(shell find asciinema \( -name __pycache__ -o -name ".*" \) -prune -o -type f \( -name "*.py" -o -path "asciinema/assets/*" \) -print | LC_ALL=C sort)

# The web player's files, unpacked from the pinned npm tarball (git-ignored), so that the
# program run from the source tree serves the same page as the archive.
PLAYER := asciinema/assets/asciinema-player.min.js

.PHONY: all check-repro clean test test-source test-pyz test-matrix lint bench player

all: $(PYZ) $(PLAYER)

player: $(PLAYER)

$(PLAYER): vendor.txt build_zipapp.py
	$(BUILD) --unpack-player
	touch $@

$(PYZ): $(SOURCES) vendor.txt build_zipapp.py
	$(BUILD) -o $@

# Two builds with the source mtimes changed in between must give the same bytes.
check-repro:
	$(BUILD) -o $(BUILD_DIR)/repro-1.pyz
	touch $(SOURCES) vendor.txt
	$(BUILD) -o $(BUILD_DIR)/repro-2.pyz
	@$(PYTHON) -c 'import hashlib, sys; a, b = (hashlib.sha256(open(p, "rb").read()).hexdigest() for p in sys.argv[1:]); print("repro-1 sha256:", a); print("repro-2 sha256:", b); sys.exit(0 if a == b else "check-repro: FAILED, the two builds differ")' $(BUILD_DIR)/repro-1.pyz $(BUILD_DIR)/repro-2.pyz
	@echo "check-repro: OK, both builds are byte-identical"

clean:
	rm -f $(PYZ) $(PYZ).*.tmp $(BUILD_DIR)/repro-1.pyz $(BUILD_DIR)/repro-2.pyz

# ---------------------------------------------------------------------------------------
# Tests. `make test` sets up everything on a fresh machine: a venv with the test tools and
# the pinned runtime deps (.venv), asciinema 2.4.0 as a test-only reference (.venv-ref),
# the archive; then the suite against the source tree and the same CLI tests against
# asciinema.pyz, on the default Python and on every other Python from 3.9 up found.
# Every part runs even when an earlier one failed; the end says which failed.

VENV ?= .venv
REF_VENV ?= .venv-ref
# -rfEs: the summary names failures, errors and why a test was skipped.
PYTEST_FLAGS ?= -q -rfEs
export ASCIINEMA_REF ?= $(abspath $(REF_VENV))/bin/asciinema

# Every Python from 3.9 (the floor) up that pyenv's versions or the PATH offer, one per
# minor version, less the default Python's version (test-source and test-pyz run on that):
# tests/pythons.py finds them. All of them rather than only the oldest and newest: a Python
# costs about 3.5 minutes (source tree and archive) plus its venv, so 3.9 to 3.13 (the
# default and four more) take about 20 minutes, well within CI's 90, and a break that only
# one minor version shows is caught. Evaluated only when test-matrix runs; set
# MATRIX_PYTHONS="/path/to/python ..." to choose by hand.
MATRIX_PYTHONS = $(shell $(PYTHON) tests/pythons.py --min 3.9 --except $(PYTHON))

$(VENV)/.done: requirements-test.txt vendor.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --require-hashes -r vendor.txt
	$(VENV)/bin/python -m pip install -q -r requirements-test.txt
	touch $@

$(REF_VENV)/.done:
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/python -m pip install -q asciinema==2.4.0
	touch $@

# vermin: nothing newer than Python 3.9; mypy: the types of asciinema/ (settings in mypy.ini).
lint: $(VENV)/.done
	$(VENV)/bin/vermin -t=3.9- --no-tips --violations --eval-annotations asciinema build_zipapp.py
	$(VENV)/bin/mypy

test-source: $(VENV)/.done $(REF_VENV)/.done $(PLAYER)
	$(VENV)/bin/python -m pytest $(PYTEST_FLAGS) tests

test-pyz: $(PYZ) $(VENV)/.done $(REF_VENV)/.done
	$(VENV)/bin/python -m pytest $(PYTEST_FLAGS) --pyz $(PYZ) tests

# The whole suite (source and archive) on each matrix Python, in venvs of its own. Every
# Python and both halves run even when one fails; the end names those that failed.
test-matrix: $(REF_VENV)/.done
	@failed=; pythons="$(MATRIX_PYTHONS)"; \
	[ -n "$$pythons" ] || echo "test-matrix: no Python from 3.9 up besides the default one found"; \
	for py in $$pythons; do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])') || { failed="$$failed $$py"; continue; }; \
	  echo "=== Python $$v ($$py): source tree"; \
	  $(MAKE) --no-print-directory VENV=.venv-$$v PYTHON=$$py test-source || failed="$$failed $$v:source"; \
	  echo "=== Python $$v ($$py): archive"; \
	  $(MAKE) --no-print-directory VENV=.venv-$$v PYTHON=$$py test-pyz || failed="$$failed $$v:archive"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-matrix: FAILED on$$failed"; exit 1; fi

# lint, test-source, test-pyz and test-matrix, each run even when an earlier one failed.
test:
	@failed=; for t in lint test-source test-pyz test-matrix; do \
	  echo "=== make $$t"; \
	  $(MAKE) --no-print-directory $$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: all passed"

bench: $(PYZ) $(VENV)/.done $(REF_VENV)/.done
	@for b in bench/bench_*.py; do echo "=== $$b"; $(VENV)/bin/python $$b --pyz $(PYZ) || exit 1; done
