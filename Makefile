# The two commands of this project: `make run` and `make test`. Each sets itself up on a
# fresh machine (Debian packages through apt-get), then builds with the Swift toolchain.

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libmicrohttpd-dev pkg-config libsqlite3-dev curl iproute2

.PHONY: run test deps build release clean

## Installs the system libraries the build links against, only when they are missing.
deps:
	@if ! pkg-config --exists libmicrohttpd 2>/dev/null || ! command -v curl >/dev/null || ! command -v ip >/dev/null; then \
		echo "installing $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product chatd
	$(SWIFT) build -c release --product chat

## Starts a local 5-replica cluster on 127.0.0.1:8001-8005 with data under ./data (REPLICAS=3 for three).
run: release
	./scripts/run-cluster.sh

## Builds everything and runs every test.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build data
