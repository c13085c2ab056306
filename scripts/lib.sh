# Shared by scripts/run.sh and scripts/test.sh: installs what Rebound's build needs (only what is
# missing, at pinned versions) and builds the console. Source it; don't run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION="0.21.14"
export PATH="$REPO_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  is_root || die "missing $*: install them (Debian: apt-get install $*) or run as root"
  step "installing $* (apt)"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The wasm-bindgen version the lockfile pins; the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO_ROOT/Cargo.lock"
}

ensure_build_tools() {
  command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (https://rustup.rs)"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local wb; wb="$(wasm_bindgen_version)"
  [ -n "$wb" ] || die "Cargo.lock names no wasm-bindgen version"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ]; then
    step "installing wasm-bindgen-cli $wb (a few minutes, once)"
    # Without --locked: its lockfile wants crate versions this registry mirror may lack.
    cargo install wasm-bindgen-cli --version "$wb" --force
  fi
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    step "installing trunk $TRUNK_VERSION (about ten minutes, once)"
    cargo install trunk --version "$TRUNK_VERSION" --locked --force
  fi
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -x "$REPO_ROOT/node_modules/.bin/wasm-opt" ] || [ "$REPO_ROOT/package-lock.json" -nt "$REPO_ROOT/node_modules/.package-lock.json" ]; then
    step "installing wasm-opt and playwright-core (npm ci)"
    (cd "$REPO_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  command -v brotli >/dev/null || apt_install brotli
}

# Builds the console into dist/ (release, wasm-opt -Oz and more: see frontend/index.html) and writes .br/.gz siblings for the server.
build_console() {
  step "building the console (trunk build --release)"
  (cd "$REPO_ROOT" && trunk build --release)
  python3 "$REPO_ROOT/scripts/boot-script.py" "$REPO_ROOT/dist" "$REPO_ROOT/frontend/sw-register.js"
  local f
  for f in "$REPO_ROOT"/dist/*.wasm "$REPO_ROOT"/dist/*.js "$REPO_ROOT"/dist/*.css "$REPO_ROOT"/dist/*.html; do
    [ -e "$f" ] || continue
    brotli -f -q 11 -k "$f"
    gzip -f -9 -k "$f"
  done
}

# The console's budget: everything a browser downloads (wasm + js + css), brotli-compressed, at most
# 500,000 bytes. Prints the figures and fails when the built dist/ is over.
check_console_size() {
  local limit=500000 total=0 size f
  for f in "$REPO_ROOT"/dist/*.wasm.br "$REPO_ROOT"/dist/*.js.br "$REPO_ROOT"/dist/*.css.br; do
    [ -e "$f" ] || continue
    size="$(stat -c %s "$f")"
    printf '  %8d  %s\n' "$size" "$(basename "$f")" >&2
    total=$((total + size))
  done
  printf '  %8d  total (brotli), budget %d\n' "$total" "$limit" >&2
  [ "$total" -gt 0 ] || die "no built console in dist/"
  [ "$total" -le "$limit" ] || die "the console download is $total bytes brotli, over the $limit budget"
}
