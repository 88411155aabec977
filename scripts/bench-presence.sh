#!/usr/bin/env bash
# What presence and typing cost beside the fan-out (issue 25): the load
# test's `presence` scenario on SQLite, quiet and then with typing at 1 Hz
# in 100 chats and 500 sockets closing and reopening per second. The server
# runs on core 0 with one worker thread, the load generator on core 1.
#   scripts/bench-presence.sh [--seconds N] [--rate R]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --no-default-features --features ssr --bin glasschat --bin loadtest

WORK=$(mktemp -d /tmp/glasschat-bench-presence.XXXXXX)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
DATABASE_URL="sqlite://$WORK/presence.db" GLASSCHAT_ADDR="127.0.0.1:$PORT" GLASSCHAT_WORKERS=1 \
  GLASSCHAT_SEND_RATE=1000000/1 GLASSCHAT_FRAME_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE=1000000/1 \
  GLASSCHAT_SIGNUP_RATE_TOTAL=1000000/1 RUST_LOG=warn \
  taskset -c 0 ./target/release/glasschat >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -q "glasschat listening on" "$WORK/server.log" && break; sleep 0.1; done
taskset -c 1 ./target/release/loadtest --url "http://127.0.0.1:$PORT" --server-pid "$PID" "$@" presence
