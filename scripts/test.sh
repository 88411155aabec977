#!/usr/bin/env bash
# Every test Glasschat has, as `make test` runs it: lint, unit and server tests
# (SQLite and a throwaway Postgres), then the browser tests against the real
# release server, once per database.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

scripts/setup.sh --test

step "Formatting and lints"
cargo fmt --all -- --check
cargo clippy --all-targets --features ssr -- -D warnings
cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

step "Starting a throwaway PostgreSQL"
eval "$(scripts/pg-throwaway.sh start)"
SERVER_PID=""
SMTP_PID=""
OIDC_PID=""
WORK=$(mktemp -d /tmp/glasschat-e2e.XXXXXX)
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "$SMTP_PID" ] && kill "$SMTP_PID" 2>/dev/null || true
  [ -n "$OIDC_PID" ] && kill "$OIDC_PID" 2>/dev/null || true
  scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "Postgres at $GLASSCHAT_TEST_PG"

step "Unit and server tests (SQLite and Postgres)"
cargo test --features ssr

step "Building the release app (server and WASM client)"
scripts/build.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

run_browser_tests() {
  local label=$1 url=$2 port smtp_port maildir clock issuer
  port=$(free_port)
  step "Browser tests on $label (Chromium, port $port)"
  # A real SMTP server (aiosmtpd) keeps what the server mails in a
  # Maildir the specs read (the password reset link).
  smtp_port=$(free_port)
  maildir="$WORK/mail-$label"
  target/tools/python/bin/python -m aiosmtpd -n -l "127.0.0.1:$smtp_port" \
    -c aiosmtpd.handlers.Mailbox "$maildir" >"$WORK/smtp-$label.log" 2>&1 &
  SMTP_PID=$!
  for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $smtp_port), 1)" 2>/dev/null && break
    kill -0 "$SMTP_PID" 2>/dev/null || { cat "$WORK/smtp-$label.log"; exit 1; }
    sleep 0.1
  done
  # The send limit is raised so one spec can seed 500 messages; the limit
  # itself is covered by the server tests.
  # Postgres needs a master key for messages at rest (SQLite makes a key
  # file next to its database); a fresh one per run.
  # A real OpenID Provider (npm oidc-provider) for single sign-on, told
  # the server's callback before the server starts.
  node tests/oidc/provider.mjs "http://127.0.0.1:$port/auth/sso/callback" >"$WORK/oidc-$label.log" 2>&1 &
  OIDC_PID=$!
  issuer=""
  for _ in $(seq 1 100); do
    issuer=$(sed -n 's/^oidc provider listening on //p' "$WORK/oidc-$label.log")
    [ -n "$issuer" ] && break
    kill -0 "$OIDC_PID" 2>/dev/null || { cat "$WORK/oidc-$label.log"; exit 1; }
    sleep 0.1
  done
  # The retention spec moves the retention job's clock (a file it writes)
  # and sees the pass within a second.
  clock="$WORK/clock-$label"
  : >"$clock"
  GLASSCHAT_TEST_CLOCK_FILE="$clock" GLASSCHAT_RETENTION_CHECK_SECS=1 \
  GLASSCHAT_OIDC_ISSUER="$issuer" GLASSCHAT_OIDC_CLIENT_ID=glasschat \
  GLASSCHAT_OIDC_CLIENT_SECRET=glasschat-test-client-secret GLASSCHAT_OIDC_NAME="Test IdP" \
  DATABASE_URL="$url" GLASSCHAT_ADDR="127.0.0.1:$port" RUST_LOG=warn GLASSCHAT_SEND_RATE=1000/1 \
    GLASSCHAT_SIGNUP_RATE=100000/1 GLASSCHAT_SIGNUP_RATE_TOTAL=100000/1 \
    GLASSCHAT_SMTP_HOST=127.0.0.1 GLASSCHAT_SMTP_PORT="$smtp_port" GLASSCHAT_SMTP_SECURITY=none \
    GLASSCHAT_SMTP_FROM="Glasschat <chat@example.com>" \
    GLASSCHAT_MASTER_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')" \
    ./target/release/glasschat >"$WORK/server-$label.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    grep -q "glasschat listening on" "$WORK/server-$label.log" && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server-$label.log"; exit 1; }
    sleep 0.1
  done
  if ! (cd end2end && BASE_URL="http://127.0.0.1:$port" E2E_DB="$label" E2E_MAILDIR="$maildir" E2E_CLOCK="$clock" E2E_OIDC="$issuer" npx playwright test); then
    # A CI log is shown by its tail, so the server's log comes first, then
    # each failed test's errors and page, and last one line per failed test
    # naming it and its first error.
    step "Browser tests failed on $label: the server's log, the failed pages, then which tests failed"
    tail -n 40 "$WORK/server-$label.log"
    for context in end2end/test-results/*/error-context.md; do
      [ -f "$context" ] || continue
      # (`|| true`: head closing the pipe early must not end the branch.)
      sed -n '/^# Test info/,/^# Test source/p' "$context" | head -n 80 || true
    done
    for context in end2end/test-results/*/error-context.md; do
      [ -f "$context" ] || continue
      name=$(sed -n 's/^- Name: //p' "$context")
      location=$(sed -n 's/^- Location: //p' "$context")
      error=$(sed -n '/^# Error details/,$p' "$context" | grep -m1 '^Error' || true)
      line=$(sed -n '/^# Test source/,$p' "$context" | grep -m1 '^> ' || true)
      echo "FAILED on $label: $name ($location): $error"
      echo "    at line ${line#> }"
    done
    exit 1
  fi
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  kill "$SMTP_PID"; wait "$SMTP_PID" 2>/dev/null || true
  kill "$OIDC_PID"; wait "$OIDC_PID" 2>/dev/null || true
  SERVER_PID=""
  SMTP_PID=""
  OIDC_PID=""
}

psql -q -h 127.0.0.1 -p "${GLASSCHAT_TEST_PG##*:}" -U postgres -c "CREATE DATABASE glasschat_e2e" >/dev/null
run_browser_tests sqlite "sqlite://$WORK/e2e.db"
run_browser_tests postgres "$GLASSCHAT_TEST_PG/glasschat_e2e"
step "All tests passed"
