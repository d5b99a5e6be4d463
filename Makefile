# meshbot — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/meshbot
TOOLS := $(CURDIR)/.tools
STATICCHECK_VERSION ?= latest
CONFTEST_VERSION    ?= latest
# The scenario `make example` shows: a pull request that removes a field two
# registered consumers read, inside the same major version.
RUN_SCENARIO ?= breaking-consumer

.PHONY: all build run example test test-go test-rego test-deploy bench lint clean tools

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o $(BIN) ./cmd/meshbot

# `make run`: meshbot's main job on embedded defaults: `meshbot serve` with
# the in-memory store and the bundled policy on :8080. It prints what to do
# next: the command that sends a signed sample delivery, and how to connect
# a GitHub App (README, "Installing the GitHub App").
run: build
	@echo "Starting meshbot serve on embedded defaults (in-memory store, bundled policy); Ctrl-C stops it."
	@echo "To see meshbot judge a change without GitHub, run: make example"
	@./$(BIN) serve

# `make example`: the report a domain team sees, on the bundled example mesh:
# the head of a pull request (scenario $(RUN_SCENARIO)) against testdata/mesh.
example: build
	@rm -rf .run/head && mkdir -p .run
	@$(GO) run ./internal/testutil/cmd/scenario testdata/mesh testdata/scenarios/$(RUN_SCENARIO) .run/head
	@echo "\$$ meshbot check --base testdata/mesh .run/head   # scenario: $(RUN_SCENARIO)"
	@echo
	@./$(BIN) check --base testdata/mesh .run/head; code=$$?; echo; \
	  echo "(exit $$code: 0 clean, 1 findings that fail, 2 unusable input)"; \
	  echo "Try --format sarif|json|github, or another scenario: make example RUN_SCENARIO=<name> (see testdata/scenarios)."; \
	  [ $$code -le 1 ]

# `make test`: every test, Go and Rego, and the deployment files. It installs
# and starts what the tests need, so it works on a fresh machine. The three
# groups share nothing but Redis, so they run side by side (make -j3), each
# group's output printed whole when it ends. The Redis server and the Redis
# Cluster it started, and only those (not ones that already answered, nor
# those MESHBOT_TEST_REDIS_URL / MESHBOT_TEST_REDIS_CLUSTER_URL name), are
# stopped when it ends, passing, failing or interrupted.
test:
	@cleanup=":"; trap 'eval "$$cleanup"' EXIT; trap 'exit 130' INT TERM; \
	if [ -z "$${MESHBOT_TEST_REDIS_URL:-}" ]; then \
		scripts/redis-test.sh running || cleanup="$$cleanup; scripts/redis-test.sh stop"; \
		MESHBOT_TEST_REDIS_URL=$$(scripts/redis-test.sh) || exit 1; export MESHBOT_TEST_REDIS_URL; \
	fi; \
	if [ -z "$${MESHBOT_TEST_REDIS_CLUSTER_URL:-}" ]; then \
		scripts/redis-cluster-test.sh running || cleanup="$$cleanup; scripts/redis-cluster-test.sh stop"; \
		MESHBOT_TEST_REDIS_CLUSTER_URL=$$(scripts/redis-cluster-test.sh) || exit 1; export MESHBOT_TEST_REDIS_CLUSTER_URL; \
	fi; \
	$(MAKE) --no-print-directory -j3 --output-sync=target test-go test-rego test-deploy

# Redis-backed tests (store, queue, webhook, end to end) talk to a real
# redis-server: scripts/redis-test.sh installs one when missing and starts a
# dedicated instance for the tests; scripts/redis-cluster-test.sh starts a
# local Redis Cluster (3 masters, 3 replicas) for the store's cluster tests.
# Run alone, test-go leaves them running (`scripts/redis-test.sh stop`,
# `scripts/redis-cluster-test.sh stop`); `make test` stops what it started.
test-go:
	$(GO) vet ./...
	redis=$${MESHBOT_TEST_REDIS_URL:-$$(scripts/redis-test.sh)} && cluster=$${MESHBOT_TEST_REDIS_CLUSTER_URL:-$$(scripts/redis-cluster-test.sh)} && \
	MESHBOT_TEST_REDIS_URL=$$redis MESHBOT_TEST_REDIS_CLUSTER_URL=$$cluster $(GO) test -count=1 ./...

test-rego: build
	./$(BIN) policy test policy

# deploy/: the Dockerfile (BuildKit's checks, its build stage run without an
# engine, the binary started) and the Helm chart (lint, renders validated
# against the Kubernetes API schemas). Builds helm and kubeconform once per
# version into ~/.cache/meshbot-tools (else .tools/), shared by every clone.
test-deploy:
	./scripts/deploy-check.sh

bench: build $(TOOLS)/conftest
	MESHBOT_TEST_REDIS_URL=$${MESHBOT_TEST_REDIS_URL:-$$(scripts/redis-test.sh)} $(GO) test -run '^$$' -bench . -benchmem -count 1 ./...
	./scripts/bench-conftest.sh $(TOOLS)/conftest

lint: $(TOOLS)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(TOOLS)/conftest:
	GOBIN=$(TOOLS) $(GO) install github.com/open-policy-agent/conftest@$(CONFTEST_VERSION)

clean:
	rm -rf bin .run
