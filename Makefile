GO ?= go
BIN := bin
export PATH := $(PATH):/usr/sbin

.PHONY: build run test deps vet compose-check bench drills test-contract fuzz

build:
	$(GO) build -o $(BIN)/bridge ./cmd/bridge
	$(GO) build -o $(BIN)/mockcli ./mockcli

run: build
	HOTLINE_AGENT_PATH=$${HOTLINE_AGENT_PATH:-$(CURDIR)/$(BIN)/mockcli} $(BIN)/bridge

# deps installs what the tests need on a fresh Debian machine.
deps:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "installing redis-server"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@command -v docker-compose >/dev/null 2>&1 || { \
		echo "installing docker-compose"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

compose-check:
	HOTLINE_ENV_FILE=.env.example docker-compose -f docker-compose.yml config -q

test: deps build vet compose-check
	HOTLINE_MOCKCLI=$(CURDIR)/$(BIN)/mockcli $(GO) test -race -count=1 -timeout 20m ./...

test-contract:
	bash contract/run.sh
	$(GO) test -race -count=1 -timeout 10m -tags contract ./proc/opencode/

bench: build
	HOTLINE_MOCKCLI=$(CURDIR)/$(BIN)/mockcli bash bench/run.sh

drills: deps build
	HOTLINE_DRILL_SCALE=full HOTLINE_MOCKCLI=$(CURDIR)/$(BIN)/mockcli $(GO) test -count=1 -timeout 30m -run Drill -v ./bench/drills/...
