# Every target builds or refreshes .venv from pyproject.toml first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow lint bench browser wrk redis clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium for the dashboard's browser tests; skipped when present or when apt is unavailable.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || echo "could not install chromium; browser tests will be skipped"; \
	  else echo "chromium missing and apt-get unavailable; browser tests will be skipped"; fi; }

# Debian's wrk for the balancer throughput benchmark; skipped when present or when apt is unavailable.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; } || echo "could not install wrk; the wrk benchmark will be skipped"; \
	  else echo "wrk missing and apt-get unavailable; the wrk benchmark will be skipped"; fi; }

# Debian's redis-server for the shared-state tests (started by the fixtures on a free port) and
# haproxy for the multi-host example's test; skipped when present or when apt is unavailable.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q redis-server >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q redis-server >/dev/null 2>&1; } || echo "could not install redis-server; shared-state tests will be skipped"; \
	  else echo "redis-server missing and apt-get unavailable; shared-state tests will be skipped"; fi; }
	@command -v haproxy >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q haproxy >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q haproxy >/dev/null 2>&1; } || echo "could not install haproxy; its test will be skipped"; \
	  else echo "haproxy missing and apt-get unavailable; its test will be skipped"; fi; }

run: $(STAMP)
	$(BIN)/banditlb run

test: $(STAMP) browser redis
	$(BIN)/python -m pytest -q

test-slow: $(STAMP) browser redis
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# BANDITLB_SOAK_SECONDS shortens the 10-minute soak, e.g. `BANDITLB_SOAK_SECONDS=60 make bench`.
bench: $(STAMP) wrk redis
	$(BIN)/python -m pytest -q -s -m bench -p no:randomly --timeout 1800

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
