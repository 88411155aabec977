#!/usr/bin/env bash
# One node vs two nodes on one (throwaway) Postgres, measured with the load
# test's fanout scenario. Nodes run on core 0, the load generator on core 1
# (Postgres is not pinned). With two nodes, senders stay on node A and every
# other receiver connects to node B, so half the deliveries cross nodes
# through LISTEN/NOTIFY. Prints the load test's figures for each run.
#   scripts/bench-scaleout.sh [SECONDS] [SCENARIO]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-20}
SCENARIO=${2:-fanout}
cargo build --release --features ssr --bin glasschat --bin loadtest

eval "$(scripts/pg-throwaway.sh start)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')

node() { # node DB PORT PUBLIC_PORT LOG
  DATABASE_URL="$GLASSCHAT_TEST_PG/$1" GLASSCHAT_ADDR="127.0.0.1:$2" GLASSCHAT_PUBLIC_URL="http://127.0.0.1:$3" \
    GLASSCHAT_MASTER_KEY="$KEY" GLASSCHAT_SEND_RATE=1000000/1 GLASSCHAT_FRAME_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE_TOTAL=1000000/1 GLASSCHAT_WORKERS=1 RUST_LOG=warn \
    taskset -c 0 ./target/release/glasschat >"$4" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do grep -q "glasschat listening on" "$4" && return; sleep 0.1; done
  cat "$4"; exit 1
}

for nodes in 1 2; do
  db="bench_scaleout_$nodes"
  psql -q -h 127.0.0.1 -p "${GLASSCHAT_TEST_PG##*:}" -U postgres -c "CREATE DATABASE $db" >/dev/null
  a=$(free_port); b=$(free_port)
  node "$db" "$a" "$a" "$GLASSCHAT_PG_DIR/node-a-$nodes.log"
  extra=()
  if [ "$nodes" = 2 ]; then
    node "$db" "$b" "$a" "$GLASSCHAT_PG_DIR/node-b-$nodes.log"
    extra=(--url2 "http://127.0.0.1:$b")
  fi
  echo "== $nodes node(s)"
  taskset -c 1 ./target/release/loadtest --url "http://127.0.0.1:$a" "${extra[@]}" --seconds "$SECONDS_PER_RUN" "$SCENARIO"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  PIDS=()
  sleep 1
done
