# doc-proxy: the commands everything else relies on. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

WASM_TARGET  := wasm32-wasip2
WASM_DIR     := target/$(WASM_TARGET)/wasm
HOST_BIN     := target/release/doc-proxy-host
COMPONENT    := $(WASM_DIR)/doc_proxy.wasm
UPSTREAM_WASM := $(WASM_DIR)/dummy_pdf_or_png.wasm
# The wasm32-wasip2 crates: doc-proxy, the upstream emulator, and three test
# components of the host's (hello-p3: WASI 0.3; spin-probe: an ordinary Spin
# app; hostile: a deliberately hostile one). Built with `--target`, excluded
# from native builds.
COMPONENT_CRATES := doc-proxy dummy-pdf-or-png hello-p3 spin-probe hostile

# The container image's host: static (musl), so the final stage can be `scratch`.
MUSL_TARGET  := x86_64-unknown-linux-musl
STATIC_BIN   := target/$(MUSL_TARGET)/static/doc-proxy-host
DIST_DIR     ?= target/dist
IMAGE        ?= localhost/doc-proxy:dev
# Python tools for the offline checks (kubernetes-validate, checkov, hadolint,
# yamllint, actionlint, zizmor), and HashiCorp's HCL parser/formatter from npm.
TOOLS        := .cache/tools
TOOLS_BIN    := $(TOOLS)/bin
TOOLS_PATH   := PATH="$(abspath $(TOOLS_BIN)):$$PATH"
HCL_TOOLS    := scripts/tf/node_modules/.installed
K8S_SCHEMAS  := scripts/k8s/node_modules/.installed
BENCH_TOOLS  := .cache/bench-tools
NEXTEST_VERSION := 0.9.114

# Overridable on the command line or from the environment.
UPSTREAM_URL ?= http://127.0.0.1:3000
LISTEN_ADDR  ?= 127.0.0.1:8080
ADMIN_ADDR   ?= 127.0.0.1:9090
# make run's control listener (POST /admin/reload); loopback only.
CONTROL_ADDR ?= 127.0.0.1:9091
export UPSTREAM_URL LISTEN_ADDR ADMIN_ADDR

# Per-run overrides of doc-proxy's settings, by name (README, Configuration):
# `MAX_ATTEMPTS=5 make run`. Each one set reaches the component as its variable
# (the name lower-cased): `make run` passes SPIN_VARIABLE_<NAME>, over the
# manifest's default; `make serve` passes --variable name=value.
COMPONENT_SETTINGS := MAX_ATTEMPTS MAX_CONTENT_ATTEMPTS DEADLINE_MS ATTEMPT_TIMEOUT_MS CONNECT_TIMEOUT_MS BACKOFF_BASE_MS BACKOFF_MAX_MS MAX_DOCUMENT_BYTES
# The upstream emulator's fault knobs, likewise (`CORRUPT_PERCENT=0 make run`).
EMULATOR_SETTINGS := CORRUPT_PERCENT ERROR_PERCENT DELAY_MS LOG_REQUESTS
RUN_VARIABLES := $(strip $(foreach v,$(COMPONENT_SETTINGS) $(EMULATOR_SETTINGS),$(if $($(v)),SPIN_VARIABLE_$(v)='$($(v))')))
SERVE_VARIABLES := $(strip $(foreach v,$(COMPONENT_SETTINGS),$(if $($(v)),--variable $(shell echo $(v) | tr A-Z a-z)='$($(v))')))

# The real upstream's files live beside the repo (../shared/upstream). Tests use
# them when present; without them those tests show as ignored, with the reason
# (crates/doc-core/build.rs decides).
SHARED_UPSTREAM := $(abspath ../shared/upstream)
TEST_ENV := DOC_PROXY_SHARED_UPSTREAM=$(SHARED_UPSTREAM)

.PHONY: help docs build build-components build-host wasm-target run serve spin-apps test test-quick soak nextest ci fmt fmt-check clippy bench bench-memory bench-tools bench-chart profile validate-cost validate-cost-build dispatch-cost load chaos clean \
	musl-target build-static dist image image-test k8s-check tools \
	hcl-tools k8s-schemas tf-check tf-fmt tf-docs gha-check names-check deploy-check deny fuzz rules-check rules-write observe observe-screenshot

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

wasm-target:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

build: build-components build-host ## Build both components and the host

build-components: wasm-target ## Build the .wasm components (wasm32-wasip2, opt-level 3, LTO)
	cargo build --target $(WASM_TARGET) --profile wasm $(addprefix -p ,$(COMPONENT_CRATES))

build-host: ## Build the host (release)
	cargo build --release -p doc-proxy-host

musl-target:
	@rustup target list --installed | grep -qx $(MUSL_TARGET) || rustup target add $(MUSL_TARGET)

build-static: musl-target ## The host as a static musl binary (needs musl-gcc: apt install musl-tools)
	CC_x86_64_unknown_linux_musl=musl-gcc cargo build --profile static --target $(MUSL_TARGET) -p doc-proxy-host

# The production manifest goes in as it is (the image's /app/spin.toml), and
# doc-proxy's precompiled code at the path its `source` names, relative to it:
# the host tells precompiled code by its content, whatever the file is called,
# so the one spin.toml serves both `spin up` here and the image.
dist: build-static build-components ## What the image holds: static host, spin.toml, precompiled components, in $(DIST_DIR)
	rm -rf $(DIST_DIR) && mkdir -p $(DIST_DIR)/bin $(DIST_DIR)/components $(DIST_DIR)/$(WASM_DIR)
	cp $(STATIC_BIN) $(DIST_DIR)/bin/
	cp spin.toml $(DIST_DIR)/spin.toml
	$(STATIC_BIN) --log-level warn compile $(COMPONENT) -o $(DIST_DIR)/$(COMPONENT)
	$(STATIC_BIN) --log-level warn compile $(UPSTREAM_WASM) -o $(DIST_DIR)/components/dummy_pdf_or_png.cwasm
	@ls -l $(DIST_DIR) $(DIST_DIR)/bin $(DIST_DIR)/components $(DIST_DIR)/$(WASM_DIR)

image: dist ## Build the container image $(IMAGE) with buildah (final stage of ./Dockerfile, fed by `make dist`)
	scripts/image-build.sh $(DIST_DIR) $(IMAGE)

image-test: image tools ## Run the image with podman exactly as the k8s Deployment does; check documents, metrics, SIGTERM
	$(TOOLS_PATH) IMAGE=$(IMAGE) scripts/image-test.sh

tools: $(TOOLS)/.installed ## Install the Python checkers into $(TOOLS) (pinned in scripts/tools-requirements.txt)

$(TOOLS)/.installed: scripts/tools-requirements.txt
	python3 -m venv $(TOOLS)
	$(TOOLS_BIN)/pip install --quiet --disable-pip-version-check -r scripts/tools-requirements.txt
	touch $@

k8s-schemas: $(K8S_SCHEMAS)

$(K8S_SCHEMAS): scripts/k8s/package.json scripts/k8s/package-lock.json
	npm ci --prefix scripts/k8s --no-audit --no-fund --loglevel=error
	touch $@

k8s-check: dist tools k8s-schemas ## Render every overlay; kubernetes-validate, CRD schemas, checkov, hadolint; run the rendered Deployment's command
	$(TOOLS_PATH) python scripts/k8s/check_timeouts.py k8s/overlays/local k8s/overlays/gke k8s/overlays/spinkube
	$(TOOLS_PATH) DIST_DIR=$(DIST_DIR) scripts/k8s-check.sh

hcl-tools: $(HCL_TOOLS)

$(HCL_TOOLS): scripts/tf/package.json scripts/tf/package-lock.json
	npm ci --prefix scripts/tf --no-audit --no-fund --loglevel=error
	touch $@

tf-check: tools hcl-tools ## Terraform offline: HashiCorp's parser and `fmt`, references, module calls, READMEs, checkov (0 failed)
	$(TOOLS_PATH) scripts/tf-check.sh

tf-fmt: hcl-tools ## Format every .tf file (hclwrite, as `terraform fmt`)
	node scripts/tf/hcl.mjs --write $$(git ls-files -co --exclude-standard -- 'terraform/*.tf') >/dev/null

tf-docs: hcl-tools ## Regenerate the inputs/outputs tables of terraform/modules/*/README.md
	python3 scripts/tf/check_terraform.py terraform --write-docs

gha-check: tools ## Workflows offline: actionlint (+shellcheck), zizmor --offline (pedantic), shellcheck on scripts
	$(TOOLS_PATH) scripts/gha-check.sh

names-check: tools hcl-tools ## Terraform outputs, workflow env and the gke overlay name the same things (with self-tests)
	$(TOOLS_BIN)/python -m unittest discover -s scripts/names

rules-check: tools ## Prometheus rules offline: promtool check and test rules (every alert fires / stays quiet), k8s copies equal and schema-valid, a runbook section per alert
	$(TOOLS_PATH) scripts/observability/rules-check.sh

rules-write: ## Regenerate the k8s copies (Rules, PrometheusRule) of observability/prometheus/rules
	python3 scripts/observability/k8s_rules.py --write

OBSERVE_ADDR ?= 127.0.0.1:9099
observe: ## Prometheus (Debian's) on $(OBSERVE_ADDR) scraping make run, with the production rules; data in target/prometheus
	@command -v prometheus >/dev/null || { echo "make observe: needs prometheus (apt install prometheus)" >&2; exit 1; }
	mkdir -p target/prometheus
	prometheus --config.file=observability/prometheus/prometheus.yml --storage.tsdb.path=target/prometheus \
		--web.listen-address=$(OBSERVE_ADDR) --log.level=warn

observe-screenshot: ## docs/prometheus-graph.png: headless Chromium on make observe's graph page (needs make run, make observe, some make load)
	OBSERVE_ADDR=$(OBSERVE_ADDR) scripts/observability/screenshot.sh docs/prometheus-graph.png

deploy-check: build ## deploy.yml's render and smoke test, run here: pinned digest, a healthy service passes, a broken one fails
	HOST_BIN=$(HOST_BIN) COMPONENT=$(COMPONENT) UPSTREAM_WASM=$(UPSTREAM_WASM) scripts/deploy-check.sh

run: build ## One host serving dev/spin.toml: doc-proxy on $(LISTEN_ADDR), the upstream emulator below /upstream/, admin on $(ADMIN_ADDR), reloads on $(CONTROL_ADDR); Ctrl-C stops it
	@echo "doc-proxy: try  curl -i http://$(LISTEN_ADDR)/42   (metrics: http://$(ADMIN_ADDR)/metrics)" >&2
	exec env SPIN_VARIABLE_LISTEN_ADDR=$(LISTEN_ADDR) $(RUN_VARIABLES) $(HOST_BIN) --manifest dev/spin.toml \
		--listen-addr $(LISTEN_ADDR) --admin-addr $(ADMIN_ADDR) --control-addr $(CONTROL_ADDR) \
		--control-token-file target/control-token --shutdown-delay 0s --watch-interval 1s

serve: build ## The service alone: make serve UPSTREAM_URL=… LISTEN_ADDR=… ADMIN_ADDR=…
	$(HOST_BIN) --component $(COMPONENT) --upstream-url $(UPSTREAM_URL) \
		--listen-addr $(LISTEN_ADDR) --admin-addr $(ADMIN_ADDR) --shutdown-delay 0s $(SERVE_VARIABLES)

spin-apps: ## Build the apps of spin-apps/ (made as Spin's templates make them: JS, TS, Python, Rust) with their own pinned toolchains into target/spin-apps
	scripts/spin-apps/build.sh

test: build spin-apps nextest ## Every test: unit, property, real-file, end-to-end (through cargo-nextest, .config/nextest.toml; NEXTEST_PROFILE=ci adds a JUnit report)
	$(TEST_ENV) cargo nextest run --release --workspace $(addprefix --exclude ,$(COMPONENT_CRATES))
	$(TEST_ENV) cargo test --release --doc --workspace $(addprefix --exclude ,$(COMPONENT_CRATES))

soak: build nextest ## The long measurements kept out of make test: the chaos suite at full scale and the memory high-water marks (nextest's soak profile)
	$(TEST_ENV) cargo nextest run --release -p system-tests --profile soak --run-ignored only --no-capture

nextest: ## Install cargo-nextest $(NEXTEST_VERSION) into ~/.cargo/bin when it is missing or another version (once; a few minutes)
	@cargo nextest --version 2>/dev/null | grep -qF 'cargo-nextest $(NEXTEST_VERSION) ' \
		|| cargo install --locked cargo-nextest@$(NEXTEST_VERSION)

test-quick: nextest ## The inner loop: unit, property and real-file tests of the pure logic and the host's units; builds no component, starts no host
	$(TEST_ENV) cargo nextest run --release -p doc-core -p request-id -p doc-fixtures -p test-harness
	cargo nextest run --release -p doc-proxy-host --lib

docs: ## Regenerate docs/configuration.md's flag and settings tables from the code (make test checks them)
	UPDATE_DOCS=1 cargo test --release -p system-tests --test all configuration_reference::

fmt: ## Format the code
	cargo fmt --all

fmt-check:
	cargo fmt --all -- --check

clippy: wasm-target ## Lint native and wasm crates, warnings are errors
	cargo clippy --workspace $(addprefix --exclude ,$(COMPONENT_CRATES)) --all-targets -- -D warnings
	cargo clippy --target $(WASM_TARGET) $(addprefix -p ,$(COMPONENT_CRATES)) -p validate-cost -- -D warnings

ci: fmt-check clippy deny test rules-check tf-check gha-check names-check deploy-check k8s-check image-test ## What CI runs (.ci/run and ci.yml)

deny: ## Dependencies against deny.toml: licenses, bans, sources (offline; advisories run in GitHub CI). Needs cargo-deny
	cargo deny --locked check --hide-inclusion-graph bans licenses sources

fuzz: ## cargo-fuzz (nightly) on the document validators, the id parser and the configuration, FUZZ_SECONDS each (default 60)
	scripts/fuzz.sh

# validate-cost, natively and as a wasm32-wasip2 command built like the components.
VALIDATE_COST_WASM := target/$(WASM_TARGET)/wasm/validate-cost.wasm
validate-cost-build: wasm-target
	cargo build --release -p validate-cost
	cargo build --target $(WASM_TARGET) --profile wasm -p validate-cost

validate-cost: validate-cost-build ## What one validation costs natively and in the guest on the host's engine, side by side per document (real files when present)
	target/release/validate-cost --beside-guest $(VALIDATE_COST_WASM) $(VALIDATE_COST_ARGS)

dispatch-cost: build ## What handing a request to a component costs on the host's engine with no HTTP around it, a fresh instance per request (as the host serves) beside one reused for many, through wasmtime's own dispatcher: hello-p3 (WASI 0.3) and spin-probe's empty answer (0.2) (DISPATCH_COST_ARGS)
	cargo build --release -p dispatch-cost
	target/release/dispatch-cost $(DISPATCH_COST_ARGS) $(WASM_DIR)/hello_p3.wasm '$(WASM_DIR)/spin_probe.wasm@/?probe=empty'

bench: build dist validate-cost-build ## The upstream (native, serving ../shared/upstream's files when present) direct, a native Rust proxy (bench/native-proxy), the service as shipped (b) and with every document validated (d), its variants, side by side; req/s, p50, p99, CPU/request, ratios to native per round
	cargo build --release -p native-proxy -p loadgen
	VALIDATE_COST_BIN=target/release/validate-cost VALIDATE_COST_WASM=$(VALIDATE_COST_WASM) \
	LOADGEN_BIN=target/release/loadgen NATIVE_PROXY_BIN=target/release/native-proxy NATIVE_UPSTREAM_BIN=target/release/native-upstream \
		BENCH_FILES_DIR=$(if $(wildcard $(SHARED_UPSTREAM)/dummy.png),$(SHARED_UPSTREAM)) \
		HOST_BIN=$(HOST_BIN) COMPONENT=$(COMPONENT) UPSTREAM_WASM=$(UPSTREAM_WASM) FLOOR_COMPONENT=$(WASM_DIR)/spin_probe.wasm \
		STATIC_HOST_BIN=$(DIST_DIR)/bin/doc-proxy-host STATIC_COMPONENT=$(DIST_DIR)/$(COMPONENT) BENCH_IMAGE_DIR=$(DIST_DIR) \
		scripts/bench.sh

profile: build ## perf record -g of the service host under wrk load (native upstream, real files when present): CPU by binary and top symbols, guest frames named (PROFILE_SECONDS, PROFILE_HOST_ARGS="--verdict-cache-entries 0" for the miss path)
	cargo build --release -p native-proxy
	HOST_BIN=$(HOST_BIN) UPSTREAM_WASM=$(UPSTREAM_WASM) NATIVE_UPSTREAM_BIN=target/release/native-upstream \
		PROFILE_FILES_DIR=$(if $(wildcard $(SHARED_UPSTREAM)/dummy.png),$(SHARED_UPSTREAM)) scripts/profile.sh

bench-tools: $(BENCH_TOOLS)/.installed ## matplotlib for bench-chart (pip, in $(BENCH_TOOLS))

$(BENCH_TOOLS)/.installed: scripts/bench-requirements.txt
	python3 -m venv $(BENCH_TOOLS)
	$(BENCH_TOOLS)/bin/pip install -q -r scripts/bench-requirements.txt
	touch $@

bench-chart: $(BENCH_TOOLS)/.installed ## docs/performance.png from the last make bench (target/bench/results.tsv)
	$(BENCH_TOOLS)/bin/python scripts/bench-chart.py target/bench/results.tsv docs/performance.png

LOAD_URL      ?= http://$(LISTEN_ADDR)/{n}
LOAD_RATE     ?= 50
LOAD_DURATION ?= 30s
load: $(BENCH_TOOLS)/.installed ## Open-loop traffic at LOAD_RATE req/s for LOAD_DURATION against make run (or LOAD_URL, {n} = request number): live progress, a summary, target/load/latency.png
	cargo build -q --release -p loadgen
	mkdir -p target/load
	target/release/loadgen run --rate $(LOAD_RATE) --duration $(LOAD_DURATION) --samples target/load/samples.tsv '$(LOAD_URL)'
	$(BENCH_TOOLS)/bin/python scripts/load-chart.py target/load/samples.tsv target/load/latency.png
	@echo "chart: target/load/latency.png"

chaos: build ## The eight chaos scenarios at full scale (about 5 minutes, loopback only); rewrites the table in docs/reliability.md. CHAOS_ONLY=2,3 runs some
	CHAOS_ONLY=$(CHAOS_ONLY) $(TEST_ENV) cargo test --release -p system-tests --test all -- --ignored chaos::full_suite --nocapture

bench-memory: build ## The hostile set from 1, 8 and 32 clients: the host's memory high-water mark (compare builds with HOSTILE_COMPONENT=…wasm HOSTILE_HOST_ARGS="…")
	$(TEST_ENV) cargo test --release -p system-tests --test all memory_budget::hostile_high_water_marks -- --ignored --nocapture

clean: ## Remove build output
	cargo clean
