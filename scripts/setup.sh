#!/usr/bin/env bash
# Installs what building energyapp-llm needs, from the package registries only, skipping what
# is already there:  the pinned Rust toolchain (rust-toolchain.toml) with the wasm32 target,
# cargo-leptos (built with no_downloads), the wasm-bindgen CLI matching Cargo.lock, and
# wasm-opt for release builds: Binaryen from the npm registry (it runs on Node.js), linked into
# ~/.cargo/bin. Not Debian's binaryen: its version 108 rewrites the module so that the JS
# wasm-bindgen generates cannot start it in the browser (docs/BENCHMARKS.md, "the release WASM did not start; type-erased views").
#   scripts/setup.sh          build tools
#   scripts/setup.sh --test   also the test tools: Debian's chromium, caddy and fail2ban, the end2end npm packages
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.11
BINARYEN_VERSION=132.0.0
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

command -v rustup >/dev/null || { echo "rustup is required (https://rustup.rs)" >&2; exit 1; }
TOOLCHAIN=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1 \
   || ! rustup +"$TOOLCHAIN" target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
  say "rustup: installing toolchain $TOOLCHAIN (+ wasm32 target, rustfmt, clippy)"
  rustup toolchain install "$TOOLCHAIN" --profile minimal -t wasm32-unknown-unknown -c rustfmt -c clippy
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "cargo: installing cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads; takes several minutes once)"
  cargo +"$TOOLCHAIN" install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "cargo: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (matches Cargo.lock)"
  # Not --locked: its lock file names a webpki-roots release the registry no longer has.
  cargo +"$TOOLCHAIN" install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

binaryen_major=${BINARYEN_VERSION%%.*}
if ! wasm-opt --version 2>/dev/null | grep -q "version $binaryen_major\b"; then
  command -v npm >/dev/null || apt_install nodejs npm
  tools="${XDG_DATA_HOME:-$HOME/.local/share}/energyapp-llm/binaryen-$BINARYEN_VERSION"
  say "npm: installing binaryen $BINARYEN_VERSION (wasm-opt) into $tools"
  npm install --prefix "$tools" --no-save --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_VERSION"
  mkdir -p "${CARGO_HOME:-$HOME/.cargo}/bin"
  ln -sf "$tools/node_modules/binaryen/bin/wasm-opt" "${CARGO_HOME:-$HOME/.cargo}/bin/wasm-opt"
fi

if [ "${1:-}" = "--test" ]; then
  # chromium: Playwright; caddy: the reverse-proxy tests run the repo's Caddyfile;
  # fail2ban: its fail2ban-regex checks deploy/fail2ban against the app's log lines.
  apt_install chromium caddy fail2ban
  if [ ! -d end2end/node_modules ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "npm: installing the end2end packages"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # Python test tools (from PyPI) in their own virtual environment.
  PYTOOLS=target/pytools
  if ! "$PYTOOLS/bin/python" -c 'import openapi_spec_validator' 2>/dev/null; then
    say "pip: installing the Python test tools into $PYTOOLS"
    if ! python3 -m venv "$PYTOOLS" 2>/dev/null; then
      apt_install python3-venv
      python3 -m venv "$PYTOOLS"
    fi
    "$PYTOOLS/bin/pip" install --quiet --disable-pip-version-check -r scripts/test-requirements.txt
  fi
fi
say "tools ready: $(cargo leptos --version), wasm-bindgen $WASM_BINDGEN_VERSION, $(wasm-opt --version 2>/dev/null | head -1)"
