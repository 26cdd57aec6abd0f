# onboard: the obvious targets. `make demo` sets up a lab and onboards a
# hire against it; `make test` runs every test (root: the lab needs it).
GO        ?= go
LAB_NAME  ?= lab
LAB_DIR   ?= /var/tmp/onboard-lab/$(LAB_NAME)
LAB_HOSTS ?= 3
LAB_FLAGS ?= -directories -windows 1
INVENTORY  = -i inventory -i $(LAB_DIR)/inventory

.PHONY: all setup build test test-short lab-up lab-down demo bench bench-compare lint fuzz schema clean

all: build

# The Debian packages the lab needs (installed only when missing; root).
setup:
	@bash .ci/setup

# onboard version prints these; a plain `go build` or `go install` records
# the commit itself (vcs.revision), except in a git worktree, which the Go
# toolchain does not stamp.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  = -X main.version=$(VERSION) -X main.commit=$(COMMIT)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/onboard ./cmd/onboard
	$(GO) build -o bin/onboard-lab ./cmd/onboard-lab

# Every test, integration tests against the lab included (run as root).
test: setup
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

# Unit tests only: no lab, a few seconds.
test-short:
	$(GO) test -short -count=1 ./...

lab-up: setup build
	./bin/onboard-lab up -name $(LAB_NAME) -n $(LAB_HOSTS) $(LAB_FLAGS)

lab-down: build
	./bin/onboard-lab down -name $(LAB_NAME)

# Build, start the lab, onboard examples/new-hire.yaml, print the report.
demo: lab-up
	@# The lab is new, so the last demo's passwords are void; onboard never
	@# replaces a password file, so they go first.
	rm -f out/E1042-initial-password.txt out/E1043-initial-password.txt
	./bin/onboard $(INVENTORY) validate examples/new-hire.yaml examples/windows-hire.yaml
	./bin/onboard $(INVENTORY) examples/new-hire.yaml examples/windows-hire.yaml

# Onboarding wall time and engine overhead on 1, 5, 20 workstations; accounts
# per second against slapd and Samba beside ldapadd; the transports' cost per
# command (WinRM: one reused shell against a shell per command, with and
# without network latency); the journal's cost per recorded step.
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./internal/bench/
	$(GO) test -run '^$$' -bench 'RunReusedShell|RunShellPerCommand|RunWithLatency' -benchtime 200x ./internal/remote/winrm/
	$(GO) test -run '^$$' -bench 'BenchmarkRun$$' -benchtime 200x ./internal/remote/ssh/
	$(GO) test -run '^$$' -bench 'RecordStep' -benchtime 500x ./internal/journal/
	$(GO) test -run '^$$' -bench 'Intake|Pickup' -benchtime 1000x ./internal/serve/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzQuote -fuzztime 30s ./internal/shell/
	$(GO) test -run '^$$' -fuzz FuzzQuote -fuzztime 30s ./internal/powershell/
	$(GO) test -run '^$$' -fuzz FuzzScriptData -fuzztime 30s ./internal/powershell/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./internal/hrevent/
	$(GO) test -run '^$$' -fuzz FuzzEdits -fuzztime 30s ./internal/textdiff/

schema: build
	./bin/onboard schema playbook > docs/playbook.schema.json
	./bin/onboard schema profile > docs/profile.schema.json
	./bin/onboard schema inventory > docs/inventory.schema.json

clean:
	rm -rf bin out

# onboard side by side with Ansible and a bare SSH loop (issue 10): starts a
# lab of its own ("bcmp"), runs each tool three times alternating, prints the
# table and writes out/bench/compare-DATE.json (root). BENCH_FLAGS=-quick for
# a smoke test; see docs/performance.md.
BENCH_FLAGS ?=
bench-compare: setup build
	./bin/onboard-lab bench $(BENCH_FLAGS)
