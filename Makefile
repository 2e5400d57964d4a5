# Colligo. `make test` is what CI runs (plus the race detector here).
GO ?= go
BENCH_N ?= 1000000
BENCH_DIR ?= $(CURDIR)/bench-out

.PHONY: all build run test race bench lint demo clean

all: lint test

build:
	$(GO) build -o colligo ./cmd/colligo

# A node on the embedded default: demo records at http://127.0.0.1:8080/
run:
	$(GO) run ./cmd/colligo serve --demo

# Three local nodes with different demo collections, joined in a federation
# (http://127.0.0.1:8081/, :8082/, :8083/).
demo:
	$(GO) run ./cmd/colligo demo

test:
	$(GO) test ./...

race:
	$(GO) test -race ./...

# Benchmarks on generated data at the sizes the issues name (1,000,000
# records by default: BENCH_N=100000 for a quick run). Generated files are
# kept in $(BENCH_DIR) between runs. Results go to $(BENCH_DIR)/bench.txt
# (compare runs with benchstat).
bench:
	mkdir -p $(BENCH_DIR)
	COLLIGO_BENCH_N=$(BENCH_N) COLLIGO_BENCH_DIR=$(BENCH_DIR) \
	  $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 3h ./... | tee $(BENCH_DIR)/bench.txt

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

clean:
	rm -rf colligo $(BENCH_DIR)
