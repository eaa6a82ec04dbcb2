# CCEI Market Lab. Two commands do everything on a fresh machine (Python 3.11, Node 20):
#   make run    create .venv, install, and run the default market on the embedded chain
#   make test   create .venv, install, and run the test suite, then ruff and mypy (configured in pyproject.toml)
#   make demo   serve the teaching demo on http://127.0.0.1:8521/ (ARGS="--scenario smith-1962" for classroom mode)
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test setup browser demo compile check-contracts clean

run: setup
	$(BIN)/ccei run $(ARGS)

test: setup browser
	$(BIN)/pytest $(ARGS)
	$(BIN)/ruff check .
	$(BIN)/mypy

demo: setup
	$(BIN)/ccei demo $(ARGS)

setup: $(VENV)/.installed node_modules/.installed $(VENV)/.demo-assets

# The demo's browser assets (Solara's front end), fetched once with `npm pack` so the demo runs offline.
$(VENV)/.demo-assets: $(VENV)/.installed
	$(BIN)/python -m experiments.demo.assets
	touch $@

# The demo's browser test drives Debian's chromium through Playwright (never `playwright install`).
# CI installs it here; elsewhere the test is skipped and says how to install it.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ -n "$$CI" ] && [ ! -x /usr/bin/chromium ]; then \
		echo "CI: installing Debian's chromium for the demo's browser test"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or pass PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# `npm install --no-save` installs exactly what package-lock.json pins and leaves it untouched.
# (`npm ci` refuses this lock: npm 11 leaves anvil's other-platform optional packages out of it.)
node_modules/.installed: package.json package-lock.json
	npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

compile: setup
	$(BIN)/ccei compile

check-contracts: setup
	$(BIN)/ccei compile --check

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis .ruff_cache .mypy_cache
