# flagcore: `make help` lists the targets. `make demo` and `make test` set up
# what they need on a fresh machine, and are quick when it is already there.

SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
FLAGCORE := target/debug/flagcore
EXAMPLE := examples/snapshot.json

# WASM: the rustup target where it exists, otherwise Debian's rustc-web with
# -Zbuild-std (the rustup toolchain here cannot download the wasm32 target).
WASM_TARGET := wasm32-unknown-unknown
WASM_DEBIAN := env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=target/wasm /usr/bin/cargo
WASM_APT := rustc-web cargo-web rust-web-src lld-22

NODE_DIR := bindings-node
NAPI_BUILD := npx napi build --platform --js native.js --dts native.d.ts

.PHONY: help setup setup-rust setup-wasm setup-node build demo test test-rust test-node node wasm lint bench bench-node fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: setup-rust setup-wasm setup-node ## install what the build and tests need (idempotent)

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

build: setup-rust ## build the core and the CLI
	$(CARGO) build

demo: build ## show `flagcore rollout` and `flagcore eval` on the bundled example
	@echo '$$ flagcore check $(EXAMPLE)'
	@$(FLAGCORE) check $(EXAMPLE)
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

test: setup lint wasm test-node test-rust ## lint, the wasm32 build of the core, the Node package's tests, unit, CLI, property, differential and conformance tests

# The conformance runner goes last: its `N passed, M failed` closes the output.
test-rust:
	$(CARGO) test --workspace --exclude flagcore-bench --exclude flagcore-node --lib --bins --test cli --test properties -- --nocapture
	$(CARGO) test -p flagcore --doc
	$(CARGO) run -q -p flagcore --example evaluate
	$(CARGO) test -p flagcore-bench --test differential -- --nocapture
	$(CARGO) test -p flagcore --test conformance

node: setup-node ## build the Node package's native module; fails when its generated loader or typings drift from the committed ones
	cd $(NODE_DIR) && $(NAPI_BUILD)
	@git diff --exit-code -- $(NODE_DIR)/native.js $(NODE_DIR)/native.d.ts || \
	  { echo "bindings-node/native.js or native.d.ts changed: commit the regenerated files" >&2; exit 1; }

test-node: node ## the Node package's tests (node --test)
	cd $(NODE_DIR) && node --test test/

wasm: setup-wasm ## build the core for wasm32-unknown-unknown (it must stay pure)
	@if rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET); then \
	  $(CARGO) build -p flagcore --target $(WASM_TARGET); \
	else \
	  $(WASM_DEBIAN) build -p flagcore --target $(WASM_TARGET) -Zbuild-std=std,panic_abort; \
	fi

lint: setup-rust ## rustfmt and clippy, warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: setup-rust ## criterion benchmarks beside LaunchDarkly's Rust evaluator, then the table for the README
	$(CARGO) bench -p flagcore-bench --bench eval
	@python3 bench/report.py

bench-node: setup-node ## the Node package beside LaunchDarkly's Node SDK: per evaluation and cold start
	cd $(NODE_DIR) && $(NAPI_BUILD) --release
	$(CARGO) run -q --release -p flagcore-bench --example snapshot_json > target/bench-snapshot.json
	cd $(NODE_DIR) && node bench/bench.js ../target/bench-snapshot.json

fuzz: ## a long property-test run (FUZZ_CASES, FUZZ_SEED) in release mode
	FLAGCORE_PROPERTY_CASES=$${FUZZ_CASES:-200000} FLAGCORE_PROPERTY_SEED=$${FUZZ_SEED:-$$(date +%s)} \
	  $(CARGO) test --release -p flagcore --test properties -- --nocapture

clean: ## remove build output
	$(CARGO) clean
