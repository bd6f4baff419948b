# weft — common tasks. `make test` is the README's test command and what CI runs.

GO ?= go

.PHONY: dev test test-short torture soak lint bench build

dev: ## run the engine with the examples on ./weft.db
	$(GO) run ./cmd/weft dev

# The connectors are modules of their own, which ./... skips: each is
# tested explicitly (NATS against 127.0.0.1:4222, Kafka against kfake).
test: ## every test, with the race detector, the connector modules included
	$(GO) test -race -count=1 -timeout 20m ./...
	cd connect/nats && $(GO) test -race -count=1 -timeout 8m ./...
	cd connect/kafka && $(GO) test -race -count=1 -timeout 8m ./...

soak: ## the load tests at full size (build tag soak): TestCluster with 2,000 runs; 30 days of minutely ticks through wefttest.AdvanceTo
	$(GO) test -race -count=1 -timeout 60m -tags soak ./internal/clustertest
	$(GO) test -count=1 -timeout 60m -tags soak -run TestAdvanceRunsEveryTickOfAPeriodic -v ./wefttest

test-short: ## the fast tests only (no crash tests that start processes)
	$(GO) test -short -count=1 ./...

# The short variant CI runs: 40 kills on SQLite and PostgreSQL, in under two
# minutes; TORTURE_FLAGS adds or overrides flags (docs/reliability.md).
TORTURE_FLAGS ?=

torture: ## the randomized crash test, short: kills, pauses, server restarts, invariants
	$(GO) run ./internal/torture/cmd --store both --kills 40 $(TORTURE_FLAGS)

lint: ## formatting, vet and staticcheck, the connector modules included
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...
	staticcheck ./...
	cd connect/nats && $(GO) vet ./... && staticcheck ./...
	cd connect/kafka && $(GO) vet ./... && staticcheck ./...

bench: ## the benchmark command: steps/s and latency against the same-run baseline
	$(GO) run ./cmd/weft bench

build: ## the weft binary in ./bin
	$(GO) build -o bin/weft ./cmd/weft
