# The two commands of this project: `make run` and `make test`. Each sets itself up on a
# fresh machine (Debian packages through apt-get), then builds with the Swift toolchain.

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libmicrohttpd-dev libgnutls28-dev pkg-config libsqlite3-dev curl iproute2 openssl

.PHONY: run test deps build release clean bench-core mutants schemathesis schemathesis-deps python-client python-client-test

## Installs the system libraries the build links against, only when they are missing.
deps:
	@if ! pkg-config --exists libmicrohttpd gnutls 2>/dev/null || ! command -v curl >/dev/null || ! command -v ip >/dev/null \
		|| ! command -v openssl >/dev/null; then \
		echo "installing $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product chatd
	$(SWIFT) build -c release --product chat

## Starts a local 5-replica cluster on 127.0.0.1:8001-8005 with data under ./data (REPLICAS=3 for three;
## TLS=1 for HTTPS and mutual TLS between replicas, with a throwaway CA under data/tls/).
run: release
	TLS=$(TLS) ./scripts/run-cluster.sh

## Builds everything and runs every test (and a smoke run of the benchmark tool), then checks
## one replica against openapi.yaml with schemathesis.
test: deps schemathesis-deps python-client
	$(SWIFT) build --build-tests
	$(MAKE) bench-smoke
	$(SWIFT) test --skip-build
	./scripts/schemathesis.sh .build/debug
	$(MAKE) python-client-test

## Raft core throughput in the in-memory cluster (issue 3): entries/s and allocations per entry.
bench-core:
	cd Benchmarks && $(SWIFT) run -c release RaftBenchmark

## Mutation testing of ReplicaCore, not part of `make test` (about 6 minutes on 2 cores):
## applies each mutation of Tests/Mutants/mutations.txt to a scratch copy under .build-mutants
## and runs the fast tests. One mutation: make mutants MUTANTS_ARGS="--only NAME".
mutants:
	SWIFT=$(SWIFT) python3 scripts/mutants.py $(MUTANTS_ARGS)

clean:
	rm -rf .build data

## schemathesis (issue: openapi.yaml lists every status the server can return): from PyPI into a
## virtualenv of the project's own, installed only when missing or of another version. Debian's
## python3 makes virtualenvs only with python3-venv, installed here when `python3 -m venv` fails.
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS_VENV := .venv-schemathesis

schemathesis-deps: deps
	@if [ "$$($(SCHEMATHESIS_VENV)/bin/st --version 2>/dev/null)" != "st, version $(SCHEMATHESIS_VERSION)" ]; then \
		rm -rf $(SCHEMATHESIS_VENV); \
		if ! python3 -m venv $(SCHEMATHESIS_VENV) 2>/dev/null; then \
			echo "installing python3 python3-venv"; rm -rf $(SCHEMATHESIS_VENV); \
			$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3 python3-venv; \
			python3 -m venv $(SCHEMATHESIS_VENV); \
		fi && \
		$(SCHEMATHESIS_VENV)/bin/pip install -q --disable-pip-version-check "schemathesis==$(SCHEMATHESIS_VERSION)"; \
	fi

## One replica from .build/debug against openapi.yaml (scripts/schemathesis.sh; about a minute).
schemathesis: schemathesis-deps
	$(SWIFT) build --product chatd
	./scripts/schemathesis.sh .build/debug

## A Python client generated from openapi.yaml by openapi-python-client (issue 14), in a
## virtualenv of its own (its pins differ from schemathesis's), and a test that drives a real
## 3-replica cluster through it: Tests/Python/generated_client_test.py.
OPENAPI_PYTHON_CLIENT_VERSION := 0.29.1
PYTHON_CLIENT_VENV := .venv-python-client
PYTHON_CLIENT_DIR := .build-python

python-client: schemathesis-deps
	@if [ "$$($(PYTHON_CLIENT_VENV)/bin/openapi-python-client --version 2>/dev/null)" != "openapi-python-client version: $(OPENAPI_PYTHON_CLIENT_VERSION)" ]; then \
		rm -rf $(PYTHON_CLIENT_VENV) && python3 -m venv $(PYTHON_CLIENT_VENV) && \
		$(PYTHON_CLIENT_VENV)/bin/pip install -q --disable-pip-version-check "openapi-python-client==$(OPENAPI_PYTHON_CLIENT_VERSION)"; \
	fi
	rm -rf $(PYTHON_CLIENT_DIR) && mkdir -p $(PYTHON_CLIENT_DIR)
	PATH="$(CURDIR)/$(PYTHON_CLIENT_VENV)/bin:$$PATH" $(PYTHON_CLIENT_VENV)/bin/openapi-python-client generate \
		--path openapi.yaml --output-path $(PYTHON_CLIENT_DIR)/chat_api_client --meta none >/dev/null

python-client-test: python-client
	$(SWIFT) build --product chatd
	CHATD=.build/debug/chatd CHAT_API_CLIENT_DIR=$(PYTHON_CLIENT_DIR) \
		$(PYTHON_CLIENT_VENV)/bin/python -W ignore::ResourceWarning Tests/Python/generated_client_test.py

## Benchmarks (issue 5)
# `make bench` builds release binaries in their own folder (so they never contend with the debug
# build's lock), builds the C reference server, runs every scenario (bench/run.py) and rewrites
# BENCHMARKS.md and bench/results.json: three whole runs (BENCH_RUNS), each scenario's median reported
# (about 30 minutes). Sizes: see DEFAULTS in bench/run.py (environment overrides).
# `make bench-smoke` is the quick check of the benchmark tool that `make test` runs.
BENCH_SCRATCH := .build-release
BENCH_APT_PACKAGES := wrk python3

.PHONY: bench bench-smoke bench-deps bench-build bench-reference

bench-deps: deps
	@if ! command -v wrk >/dev/null || ! command -v python3 >/dev/null; then \
		echo "installing $(BENCH_APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BENCH_APT_PACKAGES); \
	fi
	@command -v perf >/dev/null || echo "bench: for profiles, install linux-perf (optional)"

bench-reference: bench/work/reference

bench/work/reference: bench/reference.c
	@mkdir -p bench/work
	cc -O2 -Wall -o $@ bench/reference.c $$(pkg-config --cflags --libs libmicrohttpd)

bench-build: bench-deps bench-reference
	$(SWIFT) build -c release --scratch-path $(BENCH_SCRATCH) --product chatd
	$(SWIFT) build -c release --scratch-path $(BENCH_SCRATCH) --product chat-bench

bench: bench-build
	python3 bench/run.py --bin-dir $(BENCH_SCRATCH)/release

bench-smoke: bench-deps bench-reference
	$(SWIFT) build --product chatd
	$(SWIFT) build --product chat-bench
	python3 bench/run.py --smoke --bin-dir .build/debug
