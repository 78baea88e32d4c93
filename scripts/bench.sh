#!/usr/bin/env bash
# The benchmark suite (issue 8; figures in docs/BENCHMARKS.md).
#
#   scripts/bench.sh [--quick] [SCENARIO ...]
#
# Builds the release server (cargo leptos build --release --precompress, as scripts/run.sh and
# deploy do) and the load generator
# (benches/load, its own crate), then runs the scenarios against the Ollama simulator and a
# fresh server per scenario, all on 127.0.0.1 ports 3401-3499: footprint relay concurrency
# throughput login queries bundle (default: all). --quick: smaller counts, shorter runs.
# Prints a table and writes target/bench/results.json.
#
# Environment:
#   BENCH_POSTGRES_URL   PostgreSQL server for the PostgreSQL halves of `relay` and `queries` (a fresh
#                        database is created and dropped); default
#                        postgres://postgres@127.0.0.1:5432/postgres, "" to skip
#   BENCH_SKIP_BUILD=1   use the binaries already built
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  cargo leptos build --release --precompress
  cargo build --release --manifest-path benches/load/Cargo.toml --target-dir target/load
elif [ ! -f target/site/pkg/energyapp-llm.wasm.br ]; then
  # `cargo leptos build` (scripts/test.sh) puts a debug site in the same place: a 60 MB WASM
  # that the server fingerprints at start and the bundle scenario would measure.
  echo "target/site is not a release build: run cargo leptos build --release --precompress" >&2
  exit 1
fi

args=()
pg=${BENCH_POSTGRES_URL-postgres://postgres@127.0.0.1:5432/postgres}
if [ -n "$pg" ]; then
  if command -v pg_isready >/dev/null && ! pg_isready -q -d "$pg"; then
    echo "PostgreSQL at $pg is not answering: the PostgreSQL halves of relay and queries are skipped" >&2
  else
    args+=(--postgres "$pg")
  fi
fi
exec target/load/release/energyapp-load "${args[@]}" "$@"
