# Build, test and demo entry points. `make demo` and `make test` are all a
# fresh machine needs (see README.md).

GO        ?= go
BIN       := bin
BUILD_ID  := $(shell git describe --always --dirty --tags 2>/dev/null || echo nogit)
LDFLAGS   := -X github.com/mongoose-os/mos/common/version.BuildID=$(shell date -u +%Y%m%d-%H%M%S)/fork@$(BUILD_ID)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"

.PHONY: all build test test-short vet fmt demo bench clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/mos ./cli
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/fwbuild-manager ./fwbuild/manager

vet:
	@test -z "$$(gofmt -l cli common fwbuild bench e2e examples 2>/dev/null)" || { echo "gofmt needed:"; gofmt -l cli common fwbuild bench e2e examples; exit 1; }
	$(GO) vet ./...

# Every test, plus a Windows build of the client: its paths must stay
# portable (no backslash may reach a zip entry or a form field).
test: vet build
	GOOS=windows $(GO) build -o /dev/null ./cli/...
	$(GO) test -race -timeout 15m ./...

test-short: vet
	$(GO) test -short ./...

fmt:
	gofmt -w cli common fwbuild bench e2e examples

demo: build
	$(GO) run ./bench/demo

bench: build
	$(GO) run ./bench/run

clean:
	rm -rf $(BIN)
