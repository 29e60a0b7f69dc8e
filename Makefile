# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BRIEF  ?= A 30-second vertical video about three ways to save energy at home, with a friendly host who opens and closes

.PHONY: demo test lint unit venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,ml]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/skyie demo "$(BRIEF)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium; install it once if it is missing.
CHROMIUM := /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The compose file is validated with Debian's docker-compose; `config` needs no engine, so the
# engine it recommends (docker.io) is left out.
DOCKER_COMPOSE := /usr/bin/docker-compose

$(DOCKER_COMPOSE):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends docker-compose

unit: $(STAMP) $(CHROMIUM) $(DOCKER_COMPOSE)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test: lint unit

clean:
	rm -rf $(VENV) out .skyie
