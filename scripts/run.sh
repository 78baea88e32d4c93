#!/usr/bin/env bash
# Sets up, builds (release) and runs energyapp-llm on http://127.0.0.1:3000 with SQLite in data/.
#   scripts/run.sh           real Ollama at ollama.host (default http://127.0.0.1:11434)
#   scripts/run.sh --demo    with the built-in Ollama simulator (no model needed)
# Other arguments go to `energyapp-llm serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cargo leptos build --release --precompress
export LEPTOS_SITE_ROOT=target/site
exec target/release/energyapp-llm serve "$@"
