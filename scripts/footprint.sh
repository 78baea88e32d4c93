#!/usr/bin/env bash
# Measures the release server's footprint on this machine:
#   - time from exec to the first 200 from /health (fresh SQLite database, migrations included,
#     and with an existing one),
#   - resident memory (VmRSS) when idle, and after 20 streamed chat turns.
# Uses the built-in Ollama simulator (--demo). Build first: cargo leptos build --release
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/energyapp-llm
[ -x "$bin" ] || { echo "build first: cargo leptos build --release" >&2; exit 1; }
dir=$(mktemp -d)
port=${FOOTPRINT_PORT:-3299}
export ENERGYAPP_DATABASE__URL="sqlite://$dir/fp.db" ENERGYAPP_SERVER__BIND="127.0.0.1:$port"
export ENERGYAPP_AUTH__JWT_SECRET=footprint-secret-footprint-secret-xx ENERGYAPP_AUTH__BCRYPT_COST=10
export ENERGYAPP_BOOTSTRAP_ADMIN_EMAIL=fp@example.com ENERGYAPP_BOOTSTRAP_ADMIN_PASSWORD=footprint-password
export ENERGYAPP_DEMO__TOKEN_DELAY_MS=0 ENERGYAPP_DEMO__FIRST_TOKEN_DELAY_MS=0 ENERGYAPP_DEMO__TOKENS=100
export RUST_LOG=warn LEPTOS_SITE_ROOT=target/site
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

# Starts the server; sets $pid and $elapsed_ms (exec to first healthy answer).
start() {
  local t0 t1
  t0=$(date +%s%N)
  "$bin" serve --demo >>"$dir/server.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.005; done
  t1=$(date +%s%N)
  elapsed_ms=$(( (t1 - t0) / 1000000 ))
}
rss() {
  [ -e "/proc/$pid/status" ] || { echo "server exited:" >&2; cat "$dir/server.log" >&2; exit 1; }
  awk '/VmRSS/ {print $2}' "/proc/$pid/status"
}

start; cold=$elapsed_ms
kill "$pid"; wait "$pid" 2>/dev/null || true
start; warm=$elapsed_ms
sleep 2
idle=$(rss)
token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"fp@example.com","password":"footprint-password"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
for i in $(seq 20); do
  curl -sf -N "http://127.0.0.1:$port/api/v1/chat" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d "{\"message\":\"pregunta $i\"}" >/dev/null
done
sleep 1
after=$(rss)
printf 'start to healthy: %s ms (new database), %s ms (existing)\n' "$cold" "$warm"
printf 'RSS idle: %s KiB; after 20 chat turns: %s KiB\n' "$idle" "$after"
