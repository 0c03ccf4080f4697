# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Debian packages the project needs at run time (speech synthesis, test speech, browser tests).
APT_PACKAGES := espeak-ng sox chromium
EXTRAS_RUN := gateway,inference,lite
EXTRAS_TEST := gateway,inference,lite,dev,browser-tests,deploy-checks

.PHONY: run test proto install-run install-test apt clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

install-run: $(BIN)/python apt
	$(BIN)/pip install --quiet -e ".[$(EXTRAS_RUN)]"

install-test: $(BIN)/python apt
	$(BIN)/pip install --quiet -e ".[$(EXTRAS_TEST)]"

# Worker in the background (stopped with the gateway), gateway in the foreground.
run: install-run
	@$(BIN)/python -m inference & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	echo "loading the $${S2ST_ENGINE:-lite} engine..."; \
	until $(BIN)/python -m inference.healthcheck >/dev/null 2>&1; do \
		kill -0 $$worker 2>/dev/null || { echo "the worker failed to start (see its log above)"; exit 1; }; sleep 1; \
	done; \
	echo; echo "  Open http://$${S2ST_GATEWAY_HOST:-127.0.0.1}:$${S2ST_GATEWAY_PORT:-8080} in a browser (Ctrl+C stops)"; echo; \
	$(BIN)/python -m gateway

test: install-test
	$(BIN)/python -m pytest

# Regenerate the gRPC stubs from proto/ (tests check the committed ones match).
proto: $(BIN)/python
	$(BIN)/pip install --quiet grpcio-tools
	$(BIN)/python proto/generate.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
