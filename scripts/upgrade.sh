#!/usr/bin/env bash
# Upgrades the installed energyapp-llm from this checkout, the seed's flow made safe:
#   pull -> build (release) -> [test] -> back up -> migrate (the old release keeps serving)
#   -> switch to the new release -> restart (SIGTERM: answers in flight get their grace
#   period, then are stored `interrupted` with their text) -> check /health, else roll back.
#
#   sudo scripts/upgrade.sh [--test] [--no-pull] [--ref REF] [--no-build] [--skip-backup]
#   sudo scripts/upgrade.sh --rollback      # back to the previous release (no migration undone)
#
#   --no-build  install target/release/energyapp-llm and target/site as they are (a release
#               built elsewhere and copied here)
#
# Run it as root from the checkout (e.g. /srv/energyapp-llm); it builds as the checkout's
# owner. Layout and settings: docs/DEPLOY.md. Paths can be changed through the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${ENERGYAPP_PREFIX:-/opt/energyapp-llm}
SERVICE=${ENERGYAPP_SERVICE:-energyapp-llm}
CTL=${ENERGYAPP_CTL:-/usr/local/sbin/energyapp-llm-ctl}
ENV_FILE=${ENERGYAPP_ENV_FILE:-/etc/energyapp-llm/energyapp-llm.env}
BACKUPS=${ENERGYAPP_BACKUPS:-/var/backups/energyapp-llm}
HEALTH_URL=${ENERGYAPP_HEALTH_URL:-http://127.0.0.1:3000/health}
KEEP_RELEASES=${ENERGYAPP_KEEP_RELEASES:-5}
SERVICE_USER=${ENERGYAPP_USER:-energyapp}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mupgrade: %s\033[0m\n' "$*" >&2; exit 1; }

run_tests=0 pull=1 ref="" build=1 backup=1 rollback=0
while [ $# -gt 0 ]; do
  case "$1" in
    --test) run_tests=1 ;;
    --no-pull) pull=0 ;;
    --ref) ref=${2:?--ref needs a value}; shift ;;
    --no-build) build=0 ;;
    --skip-backup) backup=0 ;;
    --rollback) rollback=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || die "run it as root (sudo): it installs into $PREFIX and restarts $SERVICE"

# The owner of the checkout builds (cargo, rustup and the target/ folder are theirs).
BUILDER=$(stat -c %U .)
BUILDER_PATH="$(getent passwd "$BUILDER" | cut -d: -f6)/.cargo/bin:$PATH"
as_builder() {
  if [ "$BUILDER" = root ]; then env PATH="$BUILDER_PATH" "$@"
  else runuser -u "$BUILDER" -- env PATH="$BUILDER_PATH" "$@"; fi
}

releases() { # installed releases, oldest first (names start with a UTC timestamp)
  local r
  for r in "$PREFIX"/releases/*/; do [ -d "$r" ] && printf '%s\n' "${r%/}"; done
}

switch_to() { # atomically point $PREFIX/current at a release
  ln -sfn "$1" "$PREFIX/current.new"
  mv -T "$PREFIX/current.new" "$PREFIX/current"
}

healthy() { # waits up to 60 s for /health to answer 200
  for _ in $(seq 60); do
    curl -fs -o /dev/null --max-time 2 "$HEALTH_URL" && return 0
    sleep 1
  done
  return 1
}

restart() {
  say "restarting $SERVICE (answers in flight get server.shutdown_grace_secs)"
  systemctl restart "$SERVICE"
}

previous=""
[ -L "$PREFIX/current" ] && previous=$(readlink -f "$PREFIX/current")

if [ "$rollback" = 1 ]; then
  [ -n "$previous" ] || die "no release installed"
  target=""
  while read -r r; do [ "$r" = "$previous" ] && break; target=$r; done < <(releases)
  [ -n "$target" ] || die "no older release to go back to in $PREFIX/releases"
  say "rolling back: $(basename "$previous") -> $(basename "$target")"
  switch_to "$target"
  restart
  healthy || die "$SERVICE is not healthy after the rollback: journalctl -u $SERVICE"
  say "rolled back to $(basename "$target"). Migrations are not undone (they are additive: the older binary runs on the newer schema)."
  exit 0
fi

if [ "$pull" = 1 ]; then
  say "git: updating the checkout"
  as_builder git fetch --quiet --tags origin
  if [ -n "$ref" ]; then as_builder git checkout --quiet "$ref"; else as_builder git pull --ff-only --quiet; fi
fi
rev=$(git rev-parse --short HEAD)
release="$PREFIX/releases/$(date -u +%Y%m%dT%H%M%SZ)-$rev"

if [ "$build" = 1 ]; then
  say "build: release binary and site bundle ($rev)"
  as_builder bash scripts/setup.sh
  as_builder cargo leptos build --release --precompress
fi
if [ ! -x target/release/energyapp-llm ] || [ ! -d target/site/pkg ]; then
  die "no release build in target/ (target/release/energyapp-llm and target/site)"
fi

if [ "$run_tests" = 1 ]; then
  say "tests: scripts/test.sh (the whole suite)"
  as_builder bash scripts/test.sh
fi

say "install: $release"
install -d -m 0755 "$release"
install -m 0755 target/release/energyapp-llm "$release/energyapp-llm"
cp -a target/site "$release/site"
install -m 0644 docs/DEPLOY.md "$release/DEPLOY.md"
"$release/energyapp-llm" --version

if [ "$backup" = 1 ] && [ -n "$previous" ]; then
  install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$BACKUPS"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  db_url=$(sed -n 's/^ENERGYAPP_DATABASE__URL=//p' "$ENV_FILE" 2>/dev/null | tail -1)
  if [[ "$db_url" == postgres* ]]; then
    say "backup: pg_dump -> $BACKUPS/pre-upgrade-$stamp.dump"
    pg_dump -Fc -f "$BACKUPS/pre-upgrade-$stamp.dump" "$db_url"
  else
    say "backup: SQLite online copy -> $BACKUPS/pre-upgrade-$stamp.db"
    "$CTL" backup --to "$BACKUPS/pre-upgrade-$stamp.db"
  fi
fi

say "migrate with the new release (the old one keeps serving)"
ENERGYAPP_BIN="$release/energyapp-llm" "$CTL" migrate \
  || die "migrating with the new release failed: nothing was switched, $(basename "${previous:-none}") still serves"

switch_to "$release"
restart
if ! healthy; then
  if [ -n "$previous" ]; then
    say "the new release is not healthy: going back to $(basename "$previous")"
    switch_to "$previous"
    restart
  fi
  die "upgrade to $rev failed: journalctl -u $SERVICE -n 100"
fi

# Keep the newest releases (the one in use is never removed).
mapfile -t installed < <(releases)
if [ "${#installed[@]}" -gt "$KEEP_RELEASES" ]; then
  for old in "${installed[@]:0:${#installed[@]}-KEEP_RELEASES}"; do
    [ "$old" = "$(readlink -f "$PREFIX/current")" ] || rm -rf -- "$old"
  done
fi
say "energyapp-llm $rev is serving ($(curl -fsS "$HEALTH_URL" | head -c 200))"
