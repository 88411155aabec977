#!/usr/bin/env bash
# Scale where deployments meet it, beside the machine's floor and the relay
# (src/bin/relay.rs), on SQLite; prints figures (make bench-scale):
#   floor + bigroom  one room of 10,000 members, a socket each, one sender at
#                    1, 10, 50 and 100 msgs/s, first against the relay, then
#                    against Glasschat
#   manysockets      as many idle sockets as one node can hold, then a
#                    restart and the reconnect storm
#   ramp, persist    beside the relay (with SCALE_ALL=1)
# Servers run on core 0 (one runtime thread), the generator on core 1.
# The 10,000 accounts are made once by `glasschat loadtest-seed` (for load
# tests only) into a database kept in target/bench-scale between runs.
#   scripts/bench-scale.sh [SECONDS_PER_RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_SECONDS=${1:-10}
cargo build --release --features ssr --bin glasschat --bin loadtest --bin relay

WORK=target/bench-scale
mkdir -p "$WORK"
PIDS=()
cleanup() {
  touch "$WORK/stop"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/pid" ] && kill "$(cat "$WORK/pid")" 2>/dev/null || true
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { # LOG LINE
  for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.1; done
  cat "$1"; exit 1
}
export DATABASE_URL="sqlite://$PWD/$WORK/big.db"
if [ ! -s "$WORK/seeded.txt" ]; then
  echo "==> Seeding 10,000 accounts and their room (once; kept in $WORK)"
  ./target/release/glasschat loadtest-seed --users 10000 --out "$WORK/seeded.txt"
fi

RELAY=$(free_port); PORT=$(free_port)
rm -f "$WORK/relay.db"*
taskset -c 0 ./target/release/relay --addr "127.0.0.1:$RELAY" --db "$WORK/relay.db" >"$WORK/relay.log" 2>&1 &
PIDS+=($!)
wait_for "$WORK/relay.log" "relay listening"

# The server restarts whenever it stops (manysockets stops it for the
# storm); its pid is kept in $WORK/pid.
rm -f "$WORK/stop" "$WORK/pid"
: >"$WORK/server.log"
(
  while [ ! -f "$WORK/stop" ]; do
    GLASSCHAT_ADDR="127.0.0.1:$PORT" RUST_LOG=warn GLASSCHAT_WORKERS=1 \
      GLASSCHAT_SEND_RATE=1000000/1 GLASSCHAT_CHANGE_RATE=1000000/1 GLASSCHAT_FRAME_RATE=1000000/1 \
      GLASSCHAT_SIGNUP_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE_TOTAL=1000000/1 \
      GLASSCHAT_MAX_SOCKETS_PER_USER=100000 \
      taskset -c 0 ./target/release/glasschat >>"$WORK/server.log" 2>&1 &
    echo $! >"$WORK/pid"
    wait $! || true
  done
) &
PIDS+=($!)
wait_for "$WORK/server.log" "glasschat listening on"
grep "can hold" "$WORK/server.log" | head -1

LOADTEST=(taskset -c 1 ./target/release/loadtest --url "http://127.0.0.1:$PORT" --relay "http://127.0.0.1:$RELAY"
  --seeded "$WORK/seeded.txt" --seconds "$RUN_SECONDS")
"${LOADTEST[@]}" bigroom
# A fresh node for manysockets, so its memory per socket is not memory the
# big room's run left for reuse.
old=$(cat "$WORK/pid"); lines=$(grep -c "glasschat listening on" "$WORK/server.log")
kill "$old"
for _ in $(seq 1 200); do
  [ "$(grep -c "glasschat listening on" "$WORK/server.log")" -gt "$lines" ] && break
  sleep 0.1
done
"${LOADTEST[@]}" --pid-file "$WORK/pid" manysockets
if [ "${SCALE_ALL:-0}" = 1 ]; then
  "${LOADTEST[@]}" ramp persist
fi
