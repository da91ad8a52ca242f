# Skein developer entry points. The cluster targets wrap compose/local (docs/INTERFACES.md §4).

LAUNCHER := compose/local
CLUSTER_DIR := $(or $(SKEIN_CLUSTER_DIR),.local-cluster)

.PHONY: up down status deps test bench clean-cluster

# make up [NODES=N]
up:
	$(LAUNCHER) up $(if $(NODES),--nodes $(NODES))

down:
	$(LAUNCHER) down

status:
	$(LAUNCHER) status

deps:
	$(LAUNCHER) deps

test: deps
	swift build --build-tests
	swift test --skip-build --disable-xctest

# make bench [BENCH_ARGS="--records N"]
# The benchmark starts store, auditd and gateway from its own directory: build those too.
bench: deps
	for p in skein-store skein-auditd skein-gateway skein-bench; do swift build -c release --product $$p || exit 1; done
	"$$(swift build -c release --show-bin-path)/skein-bench" $(BENCH_ARGS)

clean-cluster: down
	rm -rf "$(CLUSTER_DIR)"
