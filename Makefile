# Skein developer entry points. The cluster targets wrap compose/local (docs/INTERFACES.md §4).

LAUNCHER := compose/local
CLUSTER_DIR := $(or $(SKEIN_CLUSTER_DIR),.local-cluster)

.PHONY: up down status deps plot-deps test test-deploy bench bench-cluster bench-vs-galera bench-cpu clean-cluster images images-debug compose-test

# make up [NODES=N]
up:
	$(LAUNCHER) up $(if $(NODES),--nodes $(NODES))

down:
	$(LAUNCHER) down

status:
	$(LAUNCHER) status

deps:
	$(LAUNCHER) deps

# gnuplot draws the benchmarks' figures (Debian's gnuplot-nox): installed when missing.
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)
plot-deps:
	@command -v gnuplot >/dev/null || { echo "installing gnuplot-nox"; \
	  $(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox; }

test: deps
	swift build --build-tests
	swift test --skip-build --disable-xctest

# The Kubernetes manifests: rendered from the compose configuration without drift, and valid
# against the Kubernetes schemas (offline; installs kubernetes-validate into a virtualenv).
test-deploy:
	deploy/kubernetes/validate

# make bench [BENCH_ARGS="--records N"] [SKEIN_BENCH_OUT=DIR]
# The benchmark starts store, auditd and gateway from its own directory: build those too.
# Its figures (throughput per second of each load phase) go to .bench/ as .tsv and .png.
bench: deps plot-deps
	for p in skein-store skein-auditd skein-gateway skein-bench; do swift build -c release --product $$p || exit 1; done
	"$$(swift build -c release --show-bin-path)/skein-bench" $(BENCH_ARGS)

# make bench-cluster [BENCH_ARGS="--copy-records N ..."]
# Replication figures on a local 3-node cluster (+1 for the full copy) the benchmark starts
# from its own directory: build every service it runs. Figures (throughput, lag
# distribution, copy progress) go to .bench/cluster-*.png with their .tsv series.
bench-cluster: deps plot-deps
	for p in skein-store skein-auditd skein-gateway skein-replicator skein-bench; do swift build -c release --product $$p || exit 1; done
	"$$(swift build -c release --show-bin-path)/skein-bench" cluster $(BENCH_ARGS)

# make bench-vs-galera [VS_ARGS="--clients 16 --duration 20 --repeat 3"]
# Skein against MariaDB Galera on this machine (installs them with apt when missing): the
# shared workload on both, side by side; the last line is one JSON object with the ratios.
bench-vs-galera: deps
	bench/vs-galera $(VS_ARGS)

# make bench-cpu [CPU_ARGS="--rate 10000 --duration 20 --runs 2 --table default --compare DIR"]
# What a record costs each service on a fresh 3-node release cluster (CPU µs per record,
# thread switches/s, lag); --compare DIR alternates with another build's binaries.
bench-cpu: deps
	bench/cluster-cpu $(CPU_ARGS)

clean-cluster: down
	rm -rf "$(CLUSTER_DIR)"

# The docker-compose cluster (compose/docker-compose.yml, docs/INTERFACES.md §9).
# make images: release binaries with the static Swift stdlib in skein/node:latest (long build);
# make images-debug: the debug binaries already built (make test) in the same image, no compile.
images:
	compose/build-images --release

images-debug:
	compose/build-images --debug

# The end-to-end test CI runs after `make test` (needs the debug binaries it built).
compose-test:
	compose/test-compose
