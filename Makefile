GO ?= go
BIN := bin

.PHONY: build run test deps vet fmt bench drills test-contract

build:
	$(GO) build -o $(BIN)/bridge ./cmd/bridge
	$(GO) build -o $(BIN)/mockcli ./mockcli

run: build
	HOTLINE_AGENT_PATH=$${HOTLINE_AGENT_PATH:-$(CURDIR)/$(BIN)/mockcli} $(BIN)/bridge

# deps installs what the tests need on a fresh Debian machine.
deps:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "installing redis-server"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null; }

test: deps build
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	HOTLINE_MOCKCLI=$(CURDIR)/$(BIN)/mockcli $(GO) test -race -count=1 -timeout 15m ./...
