#!/usr/bin/env bash
# Starts the built (debug) server for the Playwright tests: demo mode (built-in Ollama
# simulator), a fresh SQLite database, a known admin, on 127.0.0.1:3100.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export ENERGYAPP_DATABASE__URL="sqlite://$dir/e2e.db"
export ENERGYAPP_SERVER__BIND=127.0.0.1:3100
export ENERGYAPP_AUTH__JWT_SECRET=e2e-secret-e2e-secret-e2e-secret-e2e
export ENERGYAPP_AUTH__BCRYPT_COST=4
export ENERGYAPP_BOOTSTRAP_ADMIN_EMAIL="${E2E_ADMIN_EMAIL:-admin@e2e.test}"
export ENERGYAPP_BOOTSTRAP_ADMIN_PASSWORD="${E2E_ADMIN_PASSWORD:-e2e-password-123}"
# A short access-token lifetime, so the tests cross expiries and prove the silent refresh.
export ENERGYAPP_AUTH__ACCESS_TTL_SECS=4
export ENERGYAPP_DEMO__TOKENS=12 ENERGYAPP_DEMO__TOKEN_DELAY_MS=10 ENERGYAPP_DEMO__FIRST_TOKEN_DELAY_MS=0
export LEPTOS_SITE_ROOT=target/site
bin=${E2E_SERVER_BIN:-target/debug/energyapp-llm}
echo "${E2E_USER_PASSWORD:-e2e-user-password-1}" |
  "$bin" user create --email "${E2E_USER_EMAIL:-user@e2e.test}" --role user --password-stdin
"$bin" serve --demo &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
wait $pid
