#!/usr/bin/env bash
# Browser benchmarks on the release build (scripts/build.sh): the first load
# of the chat page on a throttled 10 Mbit/s, 40 ms link (bytes per file as
# served, in total, and the time to usable; FIRSTLOAD lines), and a room
# holding 10,000 messages (BENCH_MESSAGES to change it): time to open it and
# to append one (RENDER line); the website widget: its loader's bytes and the
# time from the first click to a usable panel on a cold cache (WIDGET lines).
# Server on a temp SQLite file, pinned to core 0;
# Chromium on core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/build.sh
WORK=$(mktemp -d /tmp/glasschat-bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
DATABASE_URL="sqlite://$WORK/bench.db" GLASSCHAT_ADDR="127.0.0.1:$PORT" RUST_LOG=warn GLASSCHAT_SEND_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE_TOTAL=1000000/1 \
  taskset -c 0 ./target/release/glasschat >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do grep -q "glasschat listening on" "$WORK/server.log" && break; sleep 0.1; done
cd end2end && BASE_URL="http://127.0.0.1:$PORT" taskset -c 1 npx playwright test -c playwright.bench.config.ts
