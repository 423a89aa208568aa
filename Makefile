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

PREFECT_PORT ?= 4200
API := http://127.0.0.1:$(PREFECT_PORT)/api

.PHONY: build test schemas serve stop clean

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

# A Prefect server (SQLite under PREFECT_HOME, or the database in
# PREFECT_SERVER_DATABASE_CONNECTION_URL) and a process serving the coig deployments.
serve: $(BIN)/.installed
	@mkdir -p $(PREFECT_HOME)
	@if [ -f $(PREFECT_HOME)/serve.pid ] && kill -0 $$(cat $(PREFECT_HOME)/serve.pid) 2>/dev/null; then \
		echo "already serving; make stop first"; exit 1; fi
	nohup $(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT) > $(PREFECT_HOME)/server.log 2>&1 & echo $$! > $(PREFECT_HOME)/server.pid
	@PREFECT_API_URL=$(API) $(BIN)/python -m flows.serve --wait || (echo "the Prefect server did not start: see $(PREFECT_HOME)/server.log"; exit 1)
	PREFECT_API_URL=$(API) nohup $(BIN)/python -m flows.serve > $(PREFECT_HOME)/serve.log 2>&1 & echo $$! > $(PREFECT_HOME)/serve.pid
	@echo "Prefect UI: http://127.0.0.1:$(PREFECT_PORT)   logs: $(PREFECT_HOME)/server.log, $(PREFECT_HOME)/serve.log"
	@echo "In another shell:"
	@echo "  export PREFECT_API_URL=$(API)"
	@echo "  $(BIN)/prefect deployment run 'build-release/coig' --param version=0.2.0"

stop:
	@for name in serve server; do \
		if [ -f $(PREFECT_HOME)/$$name.pid ]; then kill $$(cat $(PREFECT_HOME)/$$name.pid) 2>/dev/null || true; rm -f $(PREFECT_HOME)/$$name.pid; fi; \
	done; echo stopped

clean:
	rm -rf releases .prefect
