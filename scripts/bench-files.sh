#!/usr/bin/env bash
# What files cost, on SQLite and on a throwaway Postgres: the load test's
# `files` scenario (20 MB up and down beside `cp`, a 12-megapixel JPEG's
# thumbnail, the server's memory during ten 25 MB uploads). The server runs
# on core 0 with one worker thread, the load generator on core 1.
#   scripts/bench-files.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --no-default-features --features ssr --bin glasschat --bin loadtest

WORK=$(mktemp -d /tmp/glasschat-bench-files.XXXXXX)
eval "$(scripts/pg-throwaway.sh start)"
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
psql -q -h 127.0.0.1 -p "${GLASSCHAT_TEST_PG##*:}" -U postgres -c "CREATE DATABASE bench_files" >/dev/null

for db in "sqlite://$WORK/files.db" "$GLASSCHAT_TEST_PG/bench_files"; do
  DATABASE_URL="$db" GLASSCHAT_ADDR="127.0.0.1:$PORT" GLASSCHAT_MASTER_KEY="$KEY" GLASSCHAT_WORKERS=1 \
    GLASSCHAT_UPLOAD_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE_TOTAL=1000000/1 RUST_LOG=warn \
    taskset -c 0 ./target/release/glasschat >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do grep -q "glasschat listening on" "$WORK/server.log" && break; sleep 0.1; done
  echo "== ${db%%:*}"
  taskset -c 1 ./target/release/loadtest --url "http://127.0.0.1:$PORT" --server-pid "$PID" --db "$WORK/files.db" files
  kill "$PID"; wait "$PID" 2>/dev/null || true
  PID=""
done
