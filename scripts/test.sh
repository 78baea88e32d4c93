#!/usr/bin/env bash
# Runs every test level: formatting and lints (server and WASM), unit tests, integration tests
# against the real server (SQLite always; PostgreSQL when ENERGYAPP_TEST_POSTGRES_URL is set),
# and the Playwright end-to-end tests in Debian's Chromium. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
started=$(date +%s)

step "format"
cargo fmt --all -- --check

step "lint: server build"
cargo clippy --features ssr --all-targets -- -D warnings
step "lint: browser (WASM) build"
cargo clippy --features hydrate --lib --target wasm32-unknown-unknown -- -D warnings

# The browser tests run the WASM people download: built in release (wasm-opt, pre-compressed)
# as `scripts/run.sh` and the deployment build it. The server stays a debug build, shared
# with the tests below.
step "build: site bundle, release (cargo leptos build --release --frontend-only)"
cargo leptos build --release --precompress --frontend-only
step "build: server (cargo leptos build --server-only)"
cargo leptos build --server-only

step "unit tests"
timeout 10m cargo test --features ssr --lib

step "integration tests (real server, simulator, SQLite + PostgreSQL)"
if [ -z "${ENERGYAPP_TEST_POSTGRES_URL:-}" ]; then
  printf '\033[33mNOTE: ENERGYAPP_TEST_POSTGRES_URL is not set: the PostgreSQL integration tests are SKIPPED.\n'
  printf '      e.g. ENERGYAPP_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres\033[0m\n'
fi
# One test at a time: each test starts its own server in this process, and Leptos keeps some
# rendering state process-wide; servers starting while another one renders a page were seen
# to stall that render. (One server serving many requests at once is not affected.)
timeout 20m cargo test --features ssr --test integration -- --test-threads=1

step "the OpenAPI document is valid OpenAPI 3.1"
cargo run --quiet --features ssr -- openapi > target/openapi.json
target/pytools/bin/openapi-spec-validator target/openapi.json

step "end-to-end tests (Playwright + Chromium)"
(cd end2end && timeout 15m npx playwright test)

if [ -z "${ENERGYAPP_TEST_POSTGRES_URL:-}" ]; then
  printf '\n\033[33mAll tests passed, but the PostgreSQL integration tests were SKIPPED (no ENERGYAPP_TEST_POSTGRES_URL).\033[0m\n'
else
  printf '\nAll tests passed (SQLite and PostgreSQL) in %ss.\n' $(( $(date +%s) - started ))
fi
