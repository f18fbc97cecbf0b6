# UniCode: the two commands a new machine needs are `make demo` (the main job) and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CONFIGURATION ?= Debug
SERVICES_ENV := .local-services/connection.env
TEST_RESULTS := TestResults
# libtorch's OpenMP threads spin while waiting; on a shared 2-core machine that makes every
# step several times slower (STACK-PROBE.md §7d). Passive waiting costs nothing when idle.
export OMP_WAIT_POLICY ?= PASSIVE
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

TEST_PROJECTS := $(filter-out tests/UniCode.Testing/%,$(wildcard tests/*/*.csproj))
UNICODE := dotnet services/UniCode.Cli/bin/$(CONFIGURATION)/net10.0/unicode.dll
# The synthetic benchmark the demo and `make science` run on (docs/synthetic-benchmark.md).
SCIENCE_DATA ?= synth:cells=12,style=1
SCIENCE_SEEDS ?= 1,2,3

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

.PHONY: services-up
services-up: ## install (if missing) and start local RabbitMQ + PostgreSQL; harmless when they run
	@infra/local-services.sh

.PHONY: services-down
services-down: ## stop UniCode's service processes and the RabbitMQ + PostgreSQL that services-up started (nothing else)
	@if [ -d .local-services/pids ]; then infra/services.sh stop; fi
	@infra/stop-local-services.sh

.PHONY: restore
restore:
	dotnet restore UniCode.sln

.PHONY: build
build: restore ## build every project
	dotnet build UniCode.sln --no-restore -c $(CONFIGURATION)

# The fault-injection suite (tests/UniCode.Faults.Tests, docs/job-services.md "Fault injection") starts its own
# PostgreSQL and RabbitMQ; `make test` runs only its cases marked Category=ci, `make faults` all of them.
FAULTS_CI_FILTER := Category=ci

.PHONY: test
test: services-up build ## start servers if needed, build, run every test project (of the fault suite only its ci case: ~3 min)
	@rm -rf $(TEST_RESULTS)
	@source $(SERVICES_ENV); rc=0; \
	for p in $(TEST_PROJECTS); do \
	  name=$$(basename $$p .csproj); \
	  echo "== $$name"; \
	  filter=(); [ "$$name" != UniCode.Faults.Tests ] || filter=(--filter "$(FAULTS_CI_FILTER)"); \
	  dotnet test $$p --no-build -c $(CONFIGURATION) --logger "trx;LogFileName=$$name.trx" \
	    --logger "console;verbosity=normal" --results-directory $(TEST_RESULTS) "$${filter[@]}" || rc=1; \
	done; \
	infra/test-summary.sh $(TEST_RESULTS); exit $$rc

.PHONY: faults
faults: build ## the whole fault-injection suite: kill -9, broker and database restarts, duplicates, poison, a dead worker (21.5 min on a busy 2-core machine)
	dotnet test tests/UniCode.Faults.Tests --no-build -c $(CONFIGURATION) --logger "trx;LogFileName=UniCode.Faults.Tests.trx" \
	  --logger "console;verbosity=normal" --results-directory $(TEST_RESULTS)/faults

.PHONY: demo
demo: services-up build ## the main job: every service as its own process, a Uni-Code and a baseline chain on the synthetic benchmark, the comparison table from PostgreSQL
	@source $(SERVICES_ENV); set -e; \
	  $(UNICODE) migrate; \
	  infra/services.sh start; \
	  $(UNICODE) submit grid --data "$(SCIENCE_DATA)" --methods baseline,unicode --seeds 1 --tasks "ave:v2a,a2v" --wait; \
	  $(UNICODE) compare --task ave; \
	  echo "services keep running (infra/services.sh status); stop everything with: make services-down"

.PHONY: demo-inprocess
demo-inprocess: build ## the same comparison without any server: in-process runs of Uni-Code and the baseline
	$(UNICODE) bench-science --data "$(SCIENCE_DATA)" --rows baseline,unicode --seeds 1 \
	  --out bench-results/demo.md --json-dir bench-results/demo-runs

# The named benchmark regimes (docs/synthetic-benchmark.md, "Regimes"), fixed before any method ran on them.
SCIENCE_REGIMES ?= easy ave-small ave-large few-classes many-classes strong-nuisance short-events
SCIENCE_ROWS ?= all
# Config overrides (JSON) for every run of `make science`, e.g. SCIENCE_CONFIG='{"styleMixing":{}}'.
SCIENCE_CONFIG ?=

.PHONY: science
science: build ## every method row (Table 1 + ablations) with the raw probe, SCIENCE_SEEDS seeds, on every regime → bench-results/science.md (hours on 2 cores; resumes)
	@mkdir -p bench-results/science; start=$$(date +%s); \
	for r in $(SCIENCE_REGIMES); do \
	  echo "== regime $$r"; \
	  $(UNICODE) bench-science --data "synth:$$r" --rows "$(SCIENCE_ROWS)" --seeds $(SCIENCE_SEEDS) \
	    $(if $(SCIENCE_CONFIG),--config '$(SCIENCE_CONFIG)') --out bench-results/science/$$r.md --json-dir bench-results/science-runs/$$r; \
	done; \
	{ for r in $(SCIENCE_REGIMES); do echo "## synth:$$r"; echo; cat bench-results/science/$$r.md; done; \
	  echo "make science: $$(( ($$(date +%s) - start) / 60 )) min in all"; } > bench-results/science.md; \
	echo "tables written to bench-results/science.md"

.PHONY: bench
bench: build ## ms/step and peak memory (small preset, reduced setting at batch 32/80, float32/64) → bench-results/bench.md
	$(UNICODE) bench --out bench-results/bench.md --json bench-results/bench.json

.PHONY: bench-reference
bench-reference: ## the PyTorch reference's step on the same settings (needs REF_CMG=<git dir of haihuangcode/CMG>)
	infra/bench-reference.sh "$(REF_CMG)" bench-results/reference.json
