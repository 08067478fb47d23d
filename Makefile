# Build, test and demo entry points. `make demo` and `make test` are all a
# fresh machine needs (see README.md).

GO        ?= go
BIN       := bin
BUILD_ID  := $(shell git describe --always --dirty --tags 2>/dev/null || echo nogit)
# The build id's time is the commit's (or SOURCE_DATE_EPOCH, which
# dpkg-buildpackage sets from debian/changelog), not the clock's, so that two
# builds of one commit give the same bytes (make dist).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
BUILD_TIME := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y%m%d-%H%M%S 2>/dev/null)
# The fork's own release: the first entry of debian/changelog.
PKG_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog 2>/dev/null)
VERSION_PKG := github.com/mongoose-os/mos/common/version
LDFLAGS   := -X $(VERSION_PKG).BuildID=$(BUILD_TIME)/fork@$(BUILD_ID) -X $(VERSION_PKG).PackageVersion=$(PKG_VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"

.PHONY: all build install test test-short vet fmt docs demo bench bench-links clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/mos ./cli
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/fwbuild-manager ./fwbuild/manager

# make install PREFIX=$HOME/.local puts mos and fwbuild-manager in
# $(PREFIX)/bin (DESTDIR for staging).
PREFIX ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/mos $(BIN)/fwbuild-manager $(DESTDIR)$(PREFIX)/bin/

vet:
	@test -z "$$(gofmt -l cli common fwbuild bench e2e examples 2>/dev/null)" || { echo "gofmt needed:"; gofmt -l cli common fwbuild bench e2e examples; exit 1; }
	$(GO) vet ./...

# Every test, plus a Windows build of the client: its paths must stay
# portable (no backslash may reach a zip entry or a form field). The tests
# run through scripts/testsummary: go test's usual output, then what was
# skipped and why, and the counts; it exits with go test's code.
test: vet build
	GOOS=windows $(GO) build -o /dev/null ./cli/...
	$(GO) build -o $(BIN)/testsummary ./scripts/testsummary
	GO=$(GO) $(BIN)/testsummary -race -timeout 15m ./...

test-short: vet
	$(GO) test -short ./...

fmt:
	gofmt -w cli common fwbuild bench e2e examples

# Flag references in docs/flags, generated from mos's command tree and
# fwbuild-manager's flag set; scripts/gendocs's test fails when the
# committed ones differ.
docs:
	$(GO) run ./scripts/gendocs -markdown docs/flags

# make demo CORE=../shared/real builds an app on the real core instead.
demo: build
	$(GO) run ./bench/demo $(if $(CORE),-core $(CORE))

bench: build
	$(GO) run ./bench/run

# Only the link scenarios (the real-core and MCU workloads over shaped
# links, issues 23 and 24; tbf in a network namespace where it can).
bench-links: build
	$(GO) run ./bench/run -links

clean:
	rm -rf $(BIN)

.PHONY: dist dist-check test-packages test-windows test-compose windows

# Release archives in dist/ (see scripts/dist): the same commit gives the
# same bytes. dist-check makes them twice, the second time with an empty Go
# build cache, and compares.
dist:
	rm -rf dist
	$(GO) run ./scripts/dist -version $(PKG_VERSION) -epoch $(SOURCE_DATE_EPOCH) -ldflags "$(LDFLAGS)" -out dist
	cat dist/SHA256SUMS

dist-check: dist
	rm -rf $${TMPDIR:-/tmp}/mos-dist-check && mkdir -p $${TMPDIR:-/tmp}/mos-dist-check/gocache
	GOCACHE=$${TMPDIR:-/tmp}/mos-dist-check/gocache $(GO) run ./scripts/dist -version $(PKG_VERSION) -epoch $(SOURCE_DATE_EPOCH) -ldflags "$(LDFLAGS)" -out $${TMPDIR:-/tmp}/mos-dist-check/dist
	diff dist/SHA256SUMS $${TMPDIR:-/tmp}/mos-dist-check/dist/SHA256SUMS && echo "dist-check: the same bytes from an empty build cache"
	chmod -R u+w $${TMPDIR:-/tmp}/mos-dist-check; rm -rf $${TMPDIR:-/tmp}/mos-dist-check

# The Debian packages built, linted, verified and proven installed in a
# fresh Debian container (needs root and Docker; minutes).
test-packages:
	scripts/test-packages.sh

# The server as teams run it: fwbuild/Dockerfile's image and
# fwbuild/docker-compose.yml's stack (docker compose v2, else
# docker-compose) on host networking at 127.0.0.1, a build of the stand-in
# SDK's example through it (ccache hits counted), then down (e2e/compose).
# The image starts from fwbuild/base-image.sh's local base and takes bin/
# from this build, as no registry is reachable here.
test-compose: build
	MOS_COMPOSE_TEST=1 $(GO) test -count=1 -v -timeout 20m ./e2e/compose/

# mos.exe alone, for Windows: bin/windows/mos.exe.
windows:
	@mkdir -p $(BIN)/windows
	GOOS=windows GOARCH=amd64 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/windows/mos.exe ./cli

# mos.exe under wine against our server (e2e/windows); skips, saying so,
# without wine and mingw-w64 (apt-get install -y wine64 wine mingw-w64).
test-windows:
	MOS_WINE_TEST=1 $(GO) test -count=1 -v -timeout 20m ./e2e/windows/
