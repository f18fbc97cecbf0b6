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

TEST_PROJECTS := $(wildcard tests/*/*.csproj)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

.PHONY: services-up
services-up: ## install (if missing) and start local RabbitMQ + PostgreSQL; harmless when they run
	@infra/local-services.sh

.PHONY: services-down
services-down: ## stop the RabbitMQ + PostgreSQL that services-up started (nothing else)
	@infra/stop-local-services.sh

.PHONY: restore
restore:
	dotnet restore UniCode.sln

.PHONY: build
build: restore ## build every project
	dotnet build UniCode.sln --no-restore -c $(CONFIGURATION)

.PHONY: test
test: services-up build ## start servers if needed, build, run every test project
	@rm -rf $(TEST_RESULTS)
	@source $(SERVICES_ENV); rc=0; \
	for p in $(TEST_PROJECTS); do \
	  name=$$(basename $$p .csproj); \
	  echo "== $$name"; \
	  dotnet test $$p --no-build -c $(CONFIGURATION) --logger "trx;LogFileName=$$name.trx" \
	    --logger "console;verbosity=normal" --results-directory $(TEST_RESULTS) || rc=1; \
	done; \
	infra/test-summary.sh $(TEST_RESULTS); exit $$rc
