# The commands a person types. `make build` then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VERSION ?= 0.1.0

# Here the real sources sit beside the project; elsewhere the build downloads them into a
# per-user cache (or set COIG_DATA_ROOT yourself).
ifneq ($(wildcard ../shared/data/PROVENANCE.md),)
COIG_DATA_ROOT ?= $(abspath ../shared/data)
endif
ifdef COIG_DATA_ROOT
export COIG_DATA_ROOT
endif
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: build test schemas clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

build: $(BIN)/.installed
	$(BIN)/coig build --version $(VERSION) --force

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

schemas: $(BIN)/.installed
	$(BIN)/coig schemas

clean:
	rm -rf releases .prefect
