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

.PHONY: all check-repro clean

all: $(PYZ)

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
