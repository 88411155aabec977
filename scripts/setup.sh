#!/usr/bin/env bash
# Installs what Glasschat's build needs, skipping whatever is already there.
#   scripts/setup.sh          tools to build and serve (make run)
#   scripts/setup.sh --test   plus Chromium, PostgreSQL, nginx and an SMTP server for the tests (make test)
# Versions follow the verified recipe: cargo-leptos 0.3.10 (with no_downloads,
# so it never fetches binaries), the wasm-bindgen CLI matching Cargo.toml's pin,
# Tailwind/binaryen/Playwright from package.json, Chromium from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

command -v cargo >/dev/null || { echo "cargo is not installed: install Rust with rustup first" >&2; exit 1; }
command -v npm >/dev/null || { step "Installing Node.js and npm (Debian)"; apt_install nodejs npm; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "Adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  step "Installing cargo-leptos $CARGO_LEPTOS_VERSION (compiles from source: about 14 minutes, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  step "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked --force
fi

if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ] || [ ! -f node_modules/axe-core/axe.min.js ] || [ package.json -nt node_modules/.package-lock.json ]; then
  step "Installing npm packages (Tailwind, wasm-opt, Playwright)"
  # npm install, not npm ci: the registry lacks Tailwind's non-Linux optional packages.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund
fi

if [ "${1:-}" = "--test" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    step "Installing Chromium from Debian (for the browser tests)"
    apt_install chromium
  fi
  if [ ! -x /usr/sbin/nginx ]; then
    step "Installing nginx (tests/deploy.rs checks the documented proxy configuration)"
    apt_install nginx-light
  fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    step "Installing PostgreSQL (tests start their own throwaway cluster)"
    apt_install postgresql
  fi
  # A real SMTP server for the email tests (aiosmtpd, from PyPI), in a
  # virtual environment of its own under target/ (tests/common/smtp.rs).
  if ! target/tools/python/bin/python -c 'import aiosmtpd' 2>/dev/null; then
    step "Installing aiosmtpd (a local SMTP server for the email tests)"
    command -v python3 >/dev/null || apt_install python3
    python3 -m venv target/tools/python 2>/dev/null || { apt_install python3-venv; python3 -m venv target/tools/python; }
    target/tools/python/bin/pip install -q "aiosmtpd==1.4.6"
  fi
fi
step "Tools ready"
