#!/usr/bin/env bash
# Runs every Rebound test: formatting and lints, the native unit and integration tests (the API over
# a real socket on SQLite and PostgreSQL, the classifier's corpus floors), the wasm32 builds and tests,
# the fuzz targets' build, the bounce lab (real Postfix, Exim, Sendmail and OpenSMTPD bouncing to a scripted receiver,
# their bounces classified by the real binary), and the console's end-to-end tests in headless
# Chromium against the real server. Installs what is missing first.
#
#   REBOUND_TEST_POSTGRES_URL  PostgreSQL for the tests (default postgres://postgres@127.0.0.1:5432/test);
#                              each test creates and drops its own database on that server
#   REBOUND_SKIP_POSTGRES=1    leave the PostgreSQL tests out (they fail, not skip, without this)
#   REBOUND_SKIP_LAB=1         leave the bounce lab out (real Postfix, Exim, Sendmail and OpenSMTPD; it needs root)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ensure_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
}

ensure_postgres() {
  if [ "${REBOUND_SKIP_POSTGRES:-}" = 1 ]; then
    step "PostgreSQL tests left out (REBOUND_SKIP_POSTGRES=1)"
    return
  fi
  local url="${REBOUND_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
  command -v pg_isready >/dev/null || apt_install postgresql-client
  if pg_isready -q -d "$url"; then return; fi
  # Start (and if need be install) a local server only for the default URL, and only as root.
  if [ -z "${REBOUND_TEST_POSTGRES_URL:-}" ] && is_root; then
    local fresh=""
    if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fresh=1; fi
    local version; version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    if [ -n "$fresh" ]; then
      # A fresh install trusts loopback connections, as the test machines do.
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "/etc/postgresql/$version/main/pg_hba.conf"
    fi
    step "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
    su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'test'\"" | grep -q 1 \
      || su postgres -c "createdb test"
  fi
  pg_isready -q -d "$url" || die "PostgreSQL is not reachable at $url: start it, set REBOUND_TEST_POSTGRES_URL, or set REBOUND_SKIP_POSTGRES=1 to leave those tests out"
}

ensure_build_tools
ensure_browser
ensure_postgres
# The bounce mailbox's test sends with Python's smtplib and makes its certificate with openssl.
command -v python3 >/dev/null || apt_install python3
command -v openssl >/dev/null || apt_install openssl

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (native, all targets)"
cargo clippy --all-targets -- -D warnings

step "cargo clippy (wasm32: core, api, console)"
cargo clippy --target wasm32-unknown-unknown -p rebound-core -p rebound-api -p rebound-console -- -D warnings
# The wasm bench's exports (scripts/bench-wasm.sh) are checked too, so that they cannot rot unseen.
cargo clippy --target wasm32-unknown-unknown -p rebound-core --features bench -- -D warnings

build_console

step "console download size (brotli)"
check_console_size

step "native tests: unit, API over a real socket (SQLite and PostgreSQL), architecture"
cargo test --all-targets

step "wasm32 tests of core (Node)"
cargo test -p rebound-core --target wasm32-unknown-unknown

step "fuzz targets build (fuzz/)"
cargo build --manifest-path fuzz/Cargo.toml

cargo build -p rebound-server
tests/lab/run.sh "$REPO_ROOT/target/debug/rebound"

step "browser end-to-end tests (headless Chromium, real server)"
REBOUND_BIN="$REPO_ROOT/target/debug/rebound" REBOUND_DIST="$REPO_ROOT/dist" node --test tests/e2e/

step "all tests passed"
