# flagcore: `make help` lists the targets. `make demo` and `make test` set up
# what they need on a fresh machine, and are quick when it is already there.

SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
FLAGCORE := target/debug/flagcore
EXAMPLE := examples/snapshot.json
# `make test` runs each suite through tests/summary.py, which shows its output
# as it comes and records its counts for the table that closes the run.
SUITE := python3 tests/summary.py run

# WASM: the rustup target where it exists, otherwise Debian's rustc-web with
# -Zbuild-std (the rustup toolchain here cannot download the wasm32 target).
WASM_TARGET := wasm32-unknown-unknown
WASM_DEBIAN := env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=target/wasm /usr/bin/cargo
WASM_APT := rustc-web cargo-web rust-web-src lld-22
WASM_CARGO_ENV := CARGO_TARGET_DIR=target/wasm
WASM_MODULE := target/wasm/wasm32-unknown-unknown/wasm/flagcore_wasm.wasm
# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate.
WASM_BINDGEN_VERSION := 0.2.130
WASM_TOOLS := .tools/wasm-bindgen-$(WASM_BINDGEN_VERSION)
WASM_BINDGEN := $(WASM_TOOLS)/bin/wasm-bindgen
WASM_DIR := bindings-wasm
# 257 KiB gzipped, what an edge function can afford to download and compile
# (Workers and Vercel's edge allow 1 MB and more). It was 250 KB until the
# reader of flagcore's published layout (head checks, chunk hashes, assembly:
# 4.7 KB gzipped) came to the edge, and 256 KiB until requests pinned to a
# decision token's snapshot did (the composite under the held snapshot's kill
# switches, and a generation's head by id: 2.2 KB).
WASM_BUDGET := 263168
WASM_OPT := $(WASM_DIR)/node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals

NODE_DIR := bindings-node

# Python: a virtual environment in .venv, made from the machine's python3.
PY_DIR := bindings-python
VENV := .venv
PYTHON := $(VENV)/bin/python
WHEELS := target/wheels
NAPI_BUILD := npx napi build --platform --no-js --dts native.d.ts
# The benchmark snapshot (1 MB, 506 flags), which the memory tests refresh.
BENCH_SNAPSHOT := target/bench-snapshot.json

.PHONY: test-suites fuzz-smoke test-docs test-fuzz setup-cross dist-native dist test-dist soak demo-cli demo-canary test-canary demo-launchdarkly test-chain test-launchdarkly help setup setup-rust setup-wasm setup-node setup-js setup-wasm-npm setup-python build demo test test-rust test-node test-wasm test-python node wasm js python lint bench bench-node bench-wasm bench-published bench-python corpus fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

setup: setup-rust setup-wasm setup-node setup-js setup-wasm-npm setup-python $(WASM_BINDGEN) ## install what the build and tests need (idempotent)

setup-rust:
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust with rustup" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

setup-wasm:
	@if rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET); then :; \
	elif dpkg -s $(WASM_APT) >/dev/null 2>&1; then :; \
	else echo "installing Debian's wasm32 toolchain ($(WASM_APT))"; \
	  apt-get update -qq && apt-get install -y -qq $(WASM_APT) >/dev/null; fi

# npm ci only when the lock file changed since the last install.
setup-node: $(NODE_DIR)/node_modules/.package-lock.json
$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 18 or later" >&2; exit 1; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	@touch $@

setup-js: js/node_modules/.package-lock.json
js/node_modules/.package-lock.json: js/package-lock.json
	cd js && npm ci --no-audit --no-fund
	@touch $@

setup-wasm-npm: $(WASM_DIR)/node_modules/.package-lock.json
$(WASM_DIR)/node_modules/.package-lock.json: $(WASM_DIR)/package-lock.json
	cd $(WASM_DIR) && npm ci --no-audit --no-fund
	@touch $@

# pip install only when the requirements changed since the last install.
setup-python: $(VENV)/.requirements
$(VENV)/.requirements: $(PY_DIR)/requirements-dev.txt
	@command -v python3 >/dev/null || { echo "python3 is missing: install Python 3.9 or later" >&2; exit 1; }
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r $<
	@cp $< $@

# Installed once into the project's own tools folder (a few minutes).
$(WASM_BINDGEN):
	$(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(WASM_TOOLS)

build: setup-rust ## build the core and the CLI
	$(CARGO) build

demo: setup build ## the call chain: hello (Node) → world (Python) → edge (WASM in workerd) over DynamoDB, with a rollout change mid-run
	@$(MAKE) --no-print-directory node NAPI_FLAGS=--release
	@$(MAKE) --no-print-directory python MATURIN_FLAGS=--release
	@$(MAKE) --no-print-directory wasm
	node examples/chain/run.mjs

demo-launchdarkly: node ## LaunchDarkly without the Relay Proxy: a stand-in for LaunchDarkly, its webhooks, the sync function and 8 functions; how long a change takes to reach them all
	node examples/launchdarkly/demo.mjs

demo-canary: node wasm python setup-python ## a guarded canary on a compressed clock through the call chain (hello → world → edge), healthy then broken: world's EMF lines into a CloudWatch stand-in (moto), `flagcore canary run` each minute, how many users saw the broken path, and target/demo/canary.svg
	$(CARGO) build -q -p flagcore-cli
	node examples/canary/demo.mjs

demo-cli: build ## show `flagcore check`, `rollout` and `eval` on the bundled example
	@echo '$$ flagcore check --snapshot $(EXAMPLE)'
	@$(FLAGCORE) check --snapshot $(EXAMPLE)
	@echo
	@echo '$$ flagcore rollout --snapshot $(EXAMPLE) --flag new-checkout --synthetic 100000'
	@$(FLAGCORE) rollout --snapshot $(EXAMPLE) --flag new-checkout --synthetic 100000
	@echo
	@echo '$$ flagcore eval --snapshot $(EXAMPLE) --flag checkout-theme --context '"'"'{"kind":"user","key":"user-1002","email":"sam@shop.test"}'"'"' --default '"'"'"classic"'"'"' --type string'
	@$(FLAGCORE) eval --snapshot $(EXAMPLE) --flag checkout-theme --context '{"kind":"user","key":"user-1002","email":"sam@shop.test"}' --default '"classic"' --type string
	@echo
	@echo '$$ flagcore eval --snapshot $(EXAMPLE) --flag payment-provider --context '"'"'{"kind":"user","key":"qa-alice"}'"'"' --default '"'"'"legacy"'"'"
	@$(FLAGCORE) eval --snapshot $(EXAMPLE) --flag payment-provider --context '{"kind":"user","key":"qa-alice"}' --default '"legacy"'
	@echo
	@echo '$$ printf ... | flagcore eval --snapshot $(EXAMPLE) --batch'
	@printf '%s\n' '{"flag":"new-checkout","context":{"kind":"user","key":"user-7"},"default":false,"type":"bool"}' \
	  '{"flag":"max-cart-items","context":{"kind":"org","key":"acme"},"default":50,"type":"int"}' \
	  '{"flag":"no-such-flag","context":{"kind":"user","key":"user-7"},"default":"off"}' \
	  | $(FLAGCORE) eval --snapshot $(EXAMPLE) --batch

test: ## lint, the workspace's layout, every code block of the docs, the Node, WASM and Python packages' tests, the call chain, what make dist ships (arm64 under qemu), every fuzz target briefly, unit, CLI, corpus, property, differential and conformance tests; then one line per suite and `N passed, M failed`
	@python3 tests/summary.py reset
	@status=0; $(MAKE) --no-print-directory test-suites || status=$$?; \
	  python3 tests/summary.py report || status=1; exit $$status

# The suites of `make test`, in order; the table closes the run whether they
# pass or not.
test-suites: setup lint test-layout test-docs test-node test-wasm test-python test-chain test-launchdarkly test-canary test-dist test-fuzz test-rust

test-layout: ## one owner per room: no import cycle in any crate or JS or Python package, no file copied into another package, no source file over 500 lines (tests/layout/check.py)
	$(SUITE) layout "import cycles, copies, file sizes" -- python3 tests/layout/check.py

test-docs: ## every code block of README.md and docs/: shown files as they are, commands with their output (tests/docs/check.py)
	$(CARGO) build -q -p flagcore-cli
	$(SUITE) docs "code blocks, with their output" -- python3 tests/docs/check.py --run

# Every test target of the workspace but the bindings' (which their own
# packages' tests load); the conformance runner goes last.
test-rust:
	$(SUITE) rust "unit, CLI, corpus, property, differential" -- \
	  $(CARGO) test --workspace --exclude flagcore-node --exclude flagcore-python --exclude flagcore-wasm --lib --bins --tests -- --nocapture
	$(SUITE) rust doctests -- $(CARGO) test -p flagcore --doc
	$(SUITE) rust "example evaluate" -- $(CARGO) run -q -p flagcore --example evaluate
	$(SUITE) rust conformance -- $(CARGO) test -q -p flagcore --test conformance

node: setup-node js ## build the Node package's native module; fails when its generated typings drift from the committed ones
	cd $(NODE_DIR) && $(NAPI_BUILD) $(NAPI_FLAGS)
	@git diff --exit-code -- $(NODE_DIR)/native.d.ts || \
	  { echo "bindings-node/native.d.ts changed: commit the regenerated file" >&2; exit 1; }

$(BENCH_SNAPSHOT): bench/src/lib.rs bench/examples/snapshot_json.rs
	$(CARGO) run -q -p flagcore-bench --example snapshot_json > $@.tmp && mv $@.tmp $@

# The shared JS API (js/), bundled into each npm package: every package
# holds its own copy, which its entry gives its engine once. CommonJS for
# Node, where one file loads a millisecond faster than nine at a cold start,
# and an ES module for edge runtimes without require.
JS_SOURCES := $(wildcard js/*.js)
ESBUILD := js/node_modules/.bin/esbuild js/index.js --bundle --platform=neutral --log-level=warning
ESBUILD_STAMP := js/node_modules/.package-lock.json

js: $(NODE_DIR)/dist/api.cjs $(NODE_DIR)/dist/index.d.ts $(WASM_DIR)/dist/api.cjs $(WASM_DIR)/dist/api.mjs $(WASM_DIR)/dist/index.d.ts ## bundle the shared JS API (js/) into both npm packages, with each one's typings

$(NODE_DIR)/dist/api.cjs $(WASM_DIR)/dist/api.cjs: $(JS_SOURCES) | $(ESBUILD_STAMP)
	$(ESBUILD) --format=cjs --outfile=$@

$(WASM_DIR)/dist/api.mjs: $(JS_SOURCES) | $(ESBUILD_STAMP)
	$(ESBUILD) --format=esm --outfile=$@

$(NODE_DIR)/dist/index.d.ts: js/index.d.ts js/types.js
	node js/types.js flagcore $@

$(WASM_DIR)/dist/index.d.ts: js/index.d.ts js/types.js
	node js/types.js flagcore-wasm $@

test-node: node wasm setup-python $(BENCH_SNAPSHOT) ## the Node package's tests (node --test), the fault matrix and the memory test among them, and the CLI publishing to DynamoDB
	$(CARGO) build -q -p flagcore-cli
	$(SUITE) node "shared API (native)" --cwd js -- node --test test/
	$(SUITE) node "package (native)" --cwd $(NODE_DIR) -- node --test test/

wasm: setup-wasm setup-wasm-npm js $(WASM_BINDGEN) ## build the flagcore-wasm package (the core for wasm32: it must stay pure)
	@if rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET); then \
	  $(WASM_CARGO_ENV) $(CARGO) build -p flagcore-wasm --target $(WASM_TARGET) --profile wasm; \
	else \
	  $(WASM_DEBIAN) build -p flagcore-wasm --target $(WASM_TARGET) --profile wasm -Zbuild-std=std,panic_abort; \
	fi
	@# wasm-bindgen and wasm-opt (the slow part) only when cargo relinked the module.
	@for target in nodejs web; do out=$(WASM_DIR)/dist/$$target/flagcore_bg.wasm; \
	  test -f $$out -a ! $(WASM_MODULE) -nt $$out && continue; \
	  $(WASM_BINDGEN) --target $$target --out-dir $(WASM_DIR)/dist/$$target --out-name flagcore $(WASM_MODULE) && \
	  $(WASM_OPT) $$out -o $$out || { rm -f $$out; exit 1; }; \
	done
	@gz=$$(gzip -9 -c $(WASM_DIR)/dist/web/flagcore_bg.wasm | wc -c); \
	  echo "flagcore-wasm: $$(wc -c < $(WASM_DIR)/dist/web/flagcore_bg.wasm) bytes, $$gz gzipped (budget $(WASM_BUDGET))"; \
	  test $$gz -le $(WASM_BUDGET) || { echo "flagcore-wasm is over its gzipped size budget" >&2; exit 1; }

test-wasm: wasm node $(BENCH_SNAPSHOT) ## the shared API's tests against flagcore-wasm, the Node package's on the WASM engine, and the edge Worker in workerd
	$(SUITE) wasm "shared API" --cwd js -- env FLAGCORE_IMPL=wasm node --test test/
	@# Every test file: those of the flagcore package's own features skip themselves.
	$(SUITE) wasm "package tests" --cwd $(NODE_DIR) -- env FLAGCORE_IMPL=wasm node --test test/
	$(SUITE) wasm "flagcore-wasm, workerd" --cwd $(WASM_DIR) -- node --test test/

python: setup-python ## build the Python wheel (abi3, Python 3.9+) into target/wheels and install it into .venv
	@rm -f $(WHEELS)/flagcore-*.whl
	$(PYTHON) -m maturin build --quiet -m $(PY_DIR)/Cargo.toml --out $(WHEELS) $(MATURIN_FLAGS)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(WHEELS)/flagcore-*.whl

test-python: python setup-node node wasm $(BENCH_SNAPSHOT) ## the Python package's tests (pytest; dynalite from the Node package's dev dependencies, and its publisher for the published layout)
	$(SUITE) python package --cwd $(PY_DIR) -- ../$(PYTHON) -m pytest tests -q -s -p no:cacheprovider

test-launchdarkly: node ## make demo-launchdarkly's checks: every change reaches every function, with and without webhooks, in at most 5 requests to LaunchDarkly a change
	$(SUITE) launchdarkly "make demo-launchdarkly's checks" -- node examples/launchdarkly/demo.mjs --check

test-canary: node wasm python setup-python ## make demo-canary's checks: the healthy canary reaches 100%, the broken one is rolled back in time with under 2% of users on it, every chain gives one answer
	$(CARGO) build -q -p flagcore-cli
	$(SUITE) canary "make demo-canary's checks" -- node examples/canary/demo.mjs --check

test-chain: node wasm python ## the call chain of make demo, with its checks: one answer per chain, the shares, the change within the time to live
	$(SUITE) chain "make demo's checks" -- node examples/chain/run.mjs --check

soak: node wasm python ## the full soak: 100,000 requests over 40 s per runtime (Node, WASM, Python) while the table changes every second and dynalite restarts twice
	cd $(NODE_DIR) && FLAGCORE_SOAK_REQUESTS=100000 FLAGCORE_SOAK_SECONDS=40 node --test test/soak.test.js
	cd $(NODE_DIR) && FLAGCORE_IMPL=wasm FLAGCORE_SOAK_REQUESTS=100000 FLAGCORE_SOAK_SECONDS=40 node --test test/soak.test.js
	cd $(PY_DIR) && FLAGCORE_SOAK_REQUESTS=100000 FLAGCORE_SOAK_SECONDS=40 ../$(PYTHON) -m pytest tests/test_soak.py -q -s -p no:cacheprovider

lint: setup-rust ## rustfmt and clippy, warnings as errors
	$(SUITE) rust rustfmt -- $(CARGO) fmt --all --check
	$(SUITE) rust "clippy, warnings as errors" -- $(CARGO) clippy --workspace --all-targets -- -D warnings

bench: setup-rust ## criterion benchmarks beside LaunchDarkly's Rust evaluator, then the table for the README
	$(CARGO) bench -p flagcore-bench --bench eval
	@python3 bench/report.py

bench-node: dist ## the installed x86_64 npm packages beside LaunchDarkly's Node SDK: per evaluation and cold start
	$(CARGO) run -q --release -p flagcore-bench --example snapshot_json > target/bench-snapshot.json
	$(NODE_DIR)/install-tarballs.sh $(INSTALLED)/bench-node $(NPM_MAIN) $(NPM_WASM) dist/npm/flagcore-linux-x64-gnu-$(VERSION).tgz
	cd $(NODE_DIR) && FLAGCORE_PACKAGE=$(abspath $(INSTALLED))/bench-node/node_modules/flagcore node bench/bench.js ../target/bench-snapshot.json

bench-wasm: wasm setup-node ## flagcore-wasm beside the native Node package, per evaluation in Node, and its size
	cd $(NODE_DIR) && $(NAPI_BUILD) --release
	$(CARGO) run -q --release -p flagcore-bench --example snapshot_json > target/bench-snapshot.json
	cd $(WASM_DIR) && node bench/bench.js ../target/bench-snapshot.json

bench-published: wasm setup-node ## read units, cost a day and refresh time from DynamoDB (dynalite): the Relay Proxy's layout beside flagcore's published one
	cd $(NODE_DIR) && $(NAPI_BUILD) --release
	$(CARGO) run -q --release -p flagcore-bench --example snapshot_json > target/bench-snapshot.json
	cd $(NODE_DIR) && node bench/published.js ../target/bench-snapshot.json

bench-python: dist ## the installed x86_64 wheel beside LaunchDarkly's Python SDK: per evaluation and cold start
	$(CARGO) run -q --release -p flagcore-bench --example snapshot_json > target/bench-snapshot.json
	rm -rf $(INSTALLED)/bench-python && $(PIP_FOR_LAMBDA) --target $(INSTALLED)/bench-python dist/wheels/flagcore-$(VERSION)-*manylinux2014_x86_64.*.whl
	FLAGCORE_INSTALLED=$(abspath $(INSTALLED))/bench-python PYTHONPATH=$(abspath $(INSTALLED))/bench-python \
	  $(PYTHON) $(PY_DIR)/bench/bench.py target/bench-snapshot.json

corpus: ## regenerate tests/vectors/corpus from its generator (tests/generate/corpus.rs); review the diff before committing
	FLAGCORE_WRITE_CORPUS=1 $(CARGO) test -q -p flagcore --test corpus -- --nocapture the_committed_corpus

# cargo-fuzz, installed once into the project's own tools folder.
CARGO_FUZZ_VERSION := 0.13.1
CARGO_FUZZ_ROOT := .tools/cargo-fuzz-$(CARGO_FUZZ_VERSION)
FUZZ_TARGETS := snapshot context token published
# Executions per target: four targets make 10^7 in all.
FUZZ_RUNS ?= 2500000
# What `make test` runs of each target: enough to know that it builds and
# runs from its seeds, not a search.
FUZZ_SMOKE_RUNS := 20000
# The core has no unsafe code, so AddressSanitizer finds little that Rust's
# own checks would not; `make fuzz FUZZ_SANITIZER=address` runs it anyway.
FUZZ_SANITIZER ?= none

$(CARGO_FUZZ_ROOT)/bin/cargo-fuzz:
	$(CARGO) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --root $(CARGO_FUZZ_ROOT)

# cargo-fuzz builds with flags the stable toolchain takes only with
# RUSTC_BOOTSTRAP=1, which is set for the fuzz builds alone (fuzz/ is a
# workspace of its own, with its own target folder). Each target runs
# FUZZ_RUNS executions from the seeds fuzz/seed.py lays out.
FUZZ_RUN = cd fuzz && PATH="$(abspath $(CARGO_FUZZ_ROOT))/bin:$$PATH" RUSTC_BOOTSTRAP=1 cargo fuzz run -O -s $(FUZZ_SANITIZER)
define fuzz_targets
	@$(CARGO) build -q -p flagcore-cli
	@python3 fuzz/seed.py
	@total=0; for target in $(FUZZ_TARGETS); do \
	  out=$$($(FUZZ_RUN) $$target -- -runs=$(1) -print_final_stats=1 2>&1) \
	    || { echo "$$out" | tail -40; \
	         if echo "$$out" | grep -q 'failed to build fuzz script'; then echo "fuzz target $$target does not build" >&2; \
	         else echo "fuzz target $$target failed: the crashing input is in fuzz/artifacts/$$target/" >&2; fi; exit 1; }; \
	  runs=$$(echo "$$out" | sed -n 's/^stat::number_of_executed_units: *//p'); \
	  test -n "$$runs" || { echo "$$out" | tail -20; echo "fuzz target $$target ran no executions" >&2; exit 1; }; \
	  echo "fuzz $$target: $$runs executions, no crash"; total=$$((total + runs)); \
	done; echo "fuzz: $$total executions in all, no crash"
endef

fuzz: setup-rust $(CARGO_FUZZ_ROOT)/bin/cargo-fuzz ## coverage-guided fuzzing of snapshot parsing, contexts, token verification and the published layout's reading (FUZZ_RUNS each), then a long property-test run (FUZZ_CASES, FUZZ_SEED)
	$(call fuzz_targets,$(FUZZ_RUNS))
	FLAGCORE_PROPERTY_CASES=$${FUZZ_CASES:-200000} FLAGCORE_PROPERTY_SEED=$${FUZZ_SEED:-$$(date +%s)} \
	  $(CARGO) test --release -p flagcore --test properties -- --nocapture

test-fuzz: setup-rust $(CARGO_FUZZ_ROOT)/bin/cargo-fuzz ## builds every fuzz target and runs each briefly (FUZZ_SMOKE_RUNS executions), so that none stops building unnoticed
	@$(SUITE) rust "fuzz targets, briefly" -- $(MAKE) --no-print-directory fuzz-smoke

fuzz-smoke:
	$(call fuzz_targets,$(FUZZ_SMOKE_RUNS))

# Cross builds: zig as the linker (ziglang and cargo-zigbuild from PyPI, in a
# virtual environment of their own, with auditwheel), the rustup target for
# arm64, and a glibc 2.17 floor (manylinux2014, which Amazon Linux 2's 2.26 loads).
CROSS_VENV := .tools/cross
CROSS_PATH := PATH="$(abspath $(CROSS_VENV))/bin:$$PATH"
CROSS_TOOLS := ziglang==0.17.1 cargo-zigbuild==0.24.1 auditwheel==6.8.2
DIST_ARCHES := x86_64 aarch64
NATIVE_OUT := target/native
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -1)
NPM_MAIN := dist/npm/flagcore-$(VERSION).tgz
NPM_WASM := dist/npm/flagcore-wasm-$(VERSION).tgz
# A Lambda architecture, npm's name for its CPU, and the wheel's.
LAMBDA_ARCHES := x86_64:x64:x86_64 arm64:arm64:aarch64
PIP_FOR_LAMBDA := $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-index --no-deps --only-binary=:all:

# The stamp names the pinned versions, so a new pin installs again.
CROSS_STAMP := $(CROSS_VENV)/.installed-$(shell echo '$(CROSS_TOOLS)' | md5sum | cut -c1-12)

$(CROSS_STAMP):
	@test -x $(CROSS_VENV)/bin/pip || python3 -m venv $(CROSS_VENV)
	$(CROSS_VENV)/bin/pip install --quiet --disable-pip-version-check $(CROSS_TOOLS)
	@rm -f $(CROSS_VENV)/.installed-* && touch $@

setup-cross: $(CROSS_STAMP)
	@rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

# The native module, the abi3 wheel and the CLI for both architectures,
# release and stripped, at the same glibc 2.17 floor.
dist-native: setup-cross setup-node setup-python
	@rm -rf $(NATIVE_OUT) dist/wheels dist/cli && mkdir -p dist/cli
	@for arch in $(DIST_ARCHES); do \
	  $(CROSS_PATH) $(CARGO) zigbuild --quiet --release -p flagcore-cli --target $$arch-unknown-linux-gnu.2.17 || exit 1; \
	  cp target/$$arch-unknown-linux-gnu/release/flagcore dist/cli/flagcore-$$arch-linux || exit 1; \
	  (cd $(NODE_DIR) && $(CROSS_PATH) npx napi build --platform --release --target $$arch-unknown-linux-gnu.2.17 -x \
	    --no-js --dts native.d.ts --output-dir ../$(NATIVE_OUT)/$$arch) || exit 1; \
	  rm -f $(NATIVE_OUT)/$$arch/native.d.ts; \
	  $(CROSS_PATH) $(PYTHON) -m maturin build --quiet --release --zig --target $$arch-unknown-linux-gnu \
	    --compatibility manylinux2014 -m $(PY_DIR)/Cargo.toml --out dist/wheels || exit 1; \
	done

dist: dist-native wasm ## every artifact into dist/: npm tarballs (flagcore, its linux x64/arm64 packages, flagcore-wasm), manylinux2014 wheels and the sdist, Lambda layers; checked for the glibc 2.17 floor
	@rm -rf dist/npm dist/layers target/layers && mkdir -p dist/layers
	node $(NODE_DIR)/pack.js target/npm dist/npm x64=$(NATIVE_OUT)/x86_64/flagcore.linux-x64-gnu.node \
	  arm64=$(NATIVE_OUT)/aarch64/flagcore.linux-arm64-gnu.node
	@$(PYTHON) -m maturin sdist -m $(PY_DIR)/Cargo.toml --out dist/wheels > target/sdist.log 2>&1 || { cat target/sdist.log; exit 1; }
	@tail -1 target/sdist.log
	@# The layers, as Lambda mounts them at /opt: nodejs/node_modules and python/.
	@for spec in $(LAMBDA_ARCHES); do IFS=: read lambda cpu wheel <<< "$$spec"; layer=target/layers/$$lambda; \
	  $(NODE_DIR)/install-tarballs.sh $$layer/nodejs $(NPM_MAIN) $(NPM_WASM) dist/npm/flagcore-linux-$$cpu-gnu-$(VERSION).tgz >/dev/null || exit 1; \
	  rm -f $$layer/nodejs/package.json $$layer/nodejs/package-lock.json $$layer/nodejs/node_modules/.package-lock.json; \
	  $(PIP_FOR_LAMBDA) --platform manylinux2014_$$wheel --target $$layer/python dist/wheels/flagcore-$(VERSION)-*manylinux2014_$$wheel.*.whl || exit 1; \
	  for runtime in nodejs python; do \
	    (cd $$layer && zip -q -r -X $(abspath dist/layers)/flagcore-$$runtime-$$lambda.zip $$runtime) || exit 1; \
	  done; \
	done
	python3 tests/dist/elf_floor.py dist/npm/flagcore-linux-*.tgz dist/wheels/*.whl dist/layers/*.zip dist/cli/flagcore-*-linux
	@for wheel in dist/wheels/*.whl; do \
	  out=$$($(CROSS_VENV)/bin/auditwheel show $$wheel) || exit 1; \
	  echo "$$out" | tr '\n' ' ' | grep -q 'consistent with the following platform tag: *"manylinux_2_17_' || \
	    { echo "$$out"; echo "auditwheel: $$wheel is not manylinux_2_17" >&2; exit 1; }; \
	  echo "auditwheel show: $$(basename $$wheel): manylinux_2_17"; \
	done
	python3 tests/dist/sizes.py dist

# Running arm64 builds here: qemu-user and Debian's arm64 Node and Python,
# extracted into a sysroot (never installed: they would replace the
# machine's own). Node's test runner starts its files as child processes
# that qemu would not catch, so each file runs on its own.
ARM64_ROOT := .tools/arm64
ARM64_SYSROOT := $(ARM64_ROOT)/sysroot
ARM64_DEBS := nodejs:arm64 libnode108:arm64 libc6:arm64 libuv1:arm64 libbrotli1:arm64 libc-ares2:arm64 \
  libicu72:arm64 libssl3:arm64 zlib1g:arm64 libstdc++6:arm64 libgcc-s1:arm64 libnghttp2-14:arm64 node-acorn \
  node-cjs-module-lexer node-undici python3.11-minimal:arm64 libpython3.11-minimal:arm64 libpython3.11-stdlib:arm64 \
  libexpat1:arm64 libffi8:arm64 libbz2-1.0:arm64 liblzma5:arm64 libsqlite3-0:arm64 libncursesw6:arm64 \
  libtinfo6:arm64 libreadline8:arm64 libuuid1:arm64 libcrypt1:arm64 libdb5.3:arm64 libgdbm6:arm64 libnsl2:arm64 \
  libtirpc3:arm64 libgssapi-krb5-2:arm64 libkrb5-3:arm64 libk5crypto3:arm64 libcom-err2:arm64 \
  libkrb5support0:arm64 libkeyutils1:arm64 media-types
QEMU := qemu-aarch64-static -L $(abspath $(ARM64_SYSROOT))
ARM64_BIN := $(abspath $(ARM64_SYSROOT))/usr/bin
INSTALLED := target/installed
INSTALLED_NODE_TESTS := test/installed.test.js $(addprefix ../js/test/,corpus.test.js vectors.test.js token-vectors.test.js \
  context-vectors.test.js openfeature-vectors.test.js metrics-vectors.test.js published-vectors.test.js client-vectors.test.js)
INSTALLED_PY_TESTS := tests/test_dist.py tests/test_corpus.py tests/test_vectors.py tests/test_token_vectors.py \
  tests/test_context_vectors.py tests/test_openfeature_vectors.py tests/test_refresh_vectors.py tests/test_metrics_vectors.py \
  tests/test_published_vectors.py tests/test_client_vectors.py
VENV_SITE := $(abspath $(VENV))/lib/python3.11/site-packages

$(ARM64_ROOT)/.installed:
	@command -v qemu-aarch64-static >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-user-static >/dev/null; }
	@dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64 && apt-get update -qq; }
	rm -rf $(ARM64_ROOT)/debs $(ARM64_SYSROOT) && mkdir -p $(ARM64_ROOT)/debs $(ARM64_SYSROOT)
	cd $(ARM64_ROOT)/debs && apt-get download $(ARM64_DEBS)
	for deb in $(ARM64_ROOT)/debs/*.deb; do dpkg -x $$deb $(ARM64_SYSROOT) || exit 1; done
	@touch $@

test-dist: dist node $(ARM64_ROOT)/.installed ## what make dist built, installed as users install it: npm tarballs into empty folders (native, no platform package, FLAGCORE_ENGINE=wasm, arm64 under qemu), the wheels and the sdist, the layers unpacked as /opt
	@if python3 tests/dist/elf_floor.py $(NODE_DIR)/flagcore.linux-x64-gnu.node >/dev/null; then \
	  echo "elf_floor.py passed the development build, which needs this machine's glibc" >&2; exit 1; \
	else echo "elf floor: the development build (this machine's glibc) is refused, as it must be"; fi
	$(NODE_DIR)/install-tarballs.sh $(INSTALLED)/native $(NPM_MAIN) $(NPM_WASM) dist/npm/flagcore-linux-x64-gnu-$(VERSION).tgz
	$(NODE_DIR)/install-tarballs.sh $(INSTALLED)/wasm $(NPM_MAIN) $(NPM_WASM)
	$(NODE_DIR)/install-tarballs.sh $(INSTALLED)/arm64 $(NPM_MAIN) $(NPM_WASM) dist/npm/flagcore-linux-arm64-gnu-$(VERSION).tgz
	$(SUITE) node "installed, x64 package" --cwd $(NODE_DIR) -- env FLAGCORE_PACKAGE=$(abspath $(INSTALLED))/native/node_modules/flagcore \
	  FLAGCORE_EXPECT_ENGINE=native node --test $(INSTALLED_NODE_TESTS)
	$(SUITE) wasm "installed, no platform package" --cwd $(NODE_DIR) -- env FLAGCORE_PACKAGE=$(abspath $(INSTALLED))/wasm/node_modules/flagcore \
	  FLAGCORE_EXPECT_ENGINE=wasm node --test $(INSTALLED_NODE_TESTS)
	$(SUITE) wasm "installed, FLAGCORE_ENGINE=wasm" --cwd $(NODE_DIR) -- env FLAGCORE_ENGINE=wasm \
	  FLAGCORE_PACKAGE=$(abspath $(INSTALLED))/native/node_modules/flagcore FLAGCORE_EXPECT_ENGINE=wasm node --test $(INSTALLED_NODE_TESTS)
	@# One file at a time: under qemu-user, node --test could not start its children.
	$(SUITE) node-arm64 "installed, arm64 package (qemu)" --cwd $(NODE_DIR) -- bash -c 'for file in $(INSTALLED_NODE_TESTS); do \
	  FLAGCORE_PACKAGE=$(abspath $(INSTALLED))/arm64/node_modules/flagcore FLAGCORE_EXPECT_ENGINE=native \
	    $(QEMU) $(ARM64_BIN)/node $$file || exit 1; done'
	@for spec in $(LAMBDA_ARCHES); do IFS=: read lambda cpu wheel <<< "$$spec"; \
	  rm -rf $(INSTALLED)/python-$$wheel; \
	  $(PIP_FOR_LAMBDA) --platform manylinux2014_$$wheel --target $(INSTALLED)/python-$$wheel dist/wheels/flagcore-$(VERSION)-*manylinux2014_$$wheel.*.whl || exit 1; \
	done
	$(SUITE) python "installed, x86_64 wheel" --cwd $(PY_DIR) -- env FLAGCORE_INSTALLED=$(abspath $(INSTALLED))/python-x86_64 FLAGCORE_DIST=$(abspath dist) \
	  PYTHONPATH=$(abspath $(INSTALLED))/python-x86_64:$(VENV_SITE) ../$(PYTHON) -m pytest $(INSTALLED_PY_TESTS) -q -s -p no:cacheprovider
	$(SUITE) python-arm64 "installed, aarch64 wheel (qemu)" --cwd $(PY_DIR) -- env FLAGCORE_INSTALLED=$(abspath $(INSTALLED))/python-aarch64 \
	  PYTHONPATH=$(abspath $(INSTALLED))/python-aarch64:$(VENV_SITE) $(QEMU) $(ARM64_BIN)/python3.11 -m pytest $(INSTALLED_PY_TESTS) -q -s -p no:cacheprovider
	$(SUITE) dist "Lambda layers as /opt" -- env QEMU="$(QEMU)" ARM64_BIN=$(ARM64_BIN) python3 tests/dist/layers.py dist/layers
	@# The CLI's release binaries, each on its architecture (arm64 under qemu),
	@# and `cargo install --path cli` as the docs give it (--debug reuses this
	@# checkout's debug build, where a release build would take minutes).
	$(SUITE) dist "the command: release binaries, cargo install" -- bash -euo pipefail -c 'for arch in $(DIST_ARCHES); do \
	  cli=dist/cli/flagcore-$$arch-linux; run=; test $$arch = x86_64 || run="$(QEMU)"; \
	  $$run $$cli check --snapshot $(EXAMPLE) | grep -x "0 errors, 0 warnings" || { echo "$$cli does not run" >&2; exit 1; }; \
	  echo "$$cli: runs, $$(wc -c < $$cli) bytes"; done; \
	CARGO_TARGET_DIR=target $(CARGO) install --quiet --locked --debug --force --path cli --root $(INSTALLED)/cargo-install; \
	$(INSTALLED)/cargo-install/bin/flagcore check --snapshot $(EXAMPLE) | grep -x "0 errors, 0 warnings"'
	@# The docs' installs from dist/, run beside the clone as a user runs them.
	$(SUITE) docs "installs from dist/, beside the clone" -- python3 tests/docs/check.py --beside-dist

clean: ## remove build output
	$(CARGO) clean
