# CCEI Market Lab. Two commands do everything on a fresh machine (Python 3.11, Node 20):
#   make run    create .venv, install, and run the default market on the embedded chain
#   make test   create .venv, install, and run the test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test setup compile check-contracts clean

run: setup
	$(BIN)/ccei run $(ARGS)

test: setup
	$(BIN)/pytest $(ARGS)

setup: $(VENV)/.installed node_modules/.installed

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
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
