#!/usr/bin/env bash
# The same build on SQLite, on one Postgres node and on two Postgres nodes
# (one throwaway cluster), measured by the load test's scenarios one after
# the other; prints each run's figures, then Postgres's ratios to SQLite.
# Nodes run on core 0, the load generator on core 1; Postgres is not
# pinned (it shares both cores). With two nodes, senders stay on node A
# and every other receiver connects to node B, so half the deliveries
# cross nodes through LISTEN/NOTIFY.
#   scripts/bench-scaleout.sh [SECONDS] [SCENARIO...]   (default: ramp persist fanout idle)
# SETUPS="postgres-1" runs only the setups named (default: all three);
# loadtest's options go among the scenarios (--rooms 500 welcome).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-20}
shift || true
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(ramp persist fanout idle)
cargo build --release --features ssr --bin glasschat --bin loadtest

eval "$(scripts/pg-throwaway.sh start)"
WORK=$(mktemp -d /tmp/glasschat-scaleout.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')

node() { # node DATABASE_URL PORT PUBLIC_PORT LOG
  DATABASE_URL="$1" GLASSCHAT_ADDR="127.0.0.1:$2" GLASSCHAT_PUBLIC_URL="http://127.0.0.1:$3" \
    GLASSCHAT_MASTER_KEY="$KEY" GLASSCHAT_SEND_RATE=1000000/1 GLASSCHAT_CHANGE_RATE=1000000/1 GLASSCHAT_FRAME_RATE=1000000/1 \
    GLASSCHAT_SIGNUP_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE_TOTAL=1000000/1 GLASSCHAT_MAX_SOCKETS_PER_USER=100000 \
    GLASSCHAT_WORKERS=1 RUST_LOG=warn \
    taskset -c 0 ./target/release/glasschat >"$4" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do grep -q "glasschat listening on" "$4" && return; sleep 0.1; done
  cat "$4"; exit 1
}

for setup in ${SETUPS:-sqlite postgres-1 postgres-2}; do
  a=$(free_port); b=$(free_port)
  extra=()
  case $setup in
    sqlite) node "sqlite://$WORK/bench.db" "$a" "$a" "$WORK/sqlite.log" ;;
    postgres-*)
      db="bench_${setup/-/_}"
      psql -q -h 127.0.0.1 -p "${GLASSCHAT_TEST_PG##*:}" -U postgres -c "CREATE DATABASE $db" >/dev/null
      node "$GLASSCHAT_TEST_PG/$db" "$a" "$a" "$WORK/node-a-$setup.log"
      if [ "$setup" = postgres-2 ]; then
        node "$GLASSCHAT_TEST_PG/$db" "$b" "$a" "$WORK/node-b-$setup.log"
        extra=(--url2 "http://127.0.0.1:$b")
      fi
      ;;
  esac
  echo "== $setup"
  taskset -c 1 ./target/release/loadtest --url "http://127.0.0.1:$a" "${extra[@]}" \
    --seconds "$SECONDS_PER_RUN" "${SCENARIOS[@]}" | tee "$WORK/$setup.out"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  PIDS=()
  sleep 1
done

# Postgres beside SQLite, from the headline lines of each run.
ramp_of() { grep -o "highest sustained: [0-9]*" "$WORK/$1.out" | awk '{print $NF}' || true; }
persist_of() { grep -o "s: [0-9]* msgs/s" "$WORK/$1.out" | head -1 | awk '{print $2}' || true; }
echo "== Postgres beside SQLite (same build, this run)"
for setup in postgres-1 postgres-2; do
  [ -f "$WORK/$setup.out" ] && [ -f "$WORK/sqlite.out" ] || continue
  r_sql=$(ramp_of sqlite); r_pg=$(ramp_of "$setup")
  p_sql=$(persist_of sqlite); p_pg=$(persist_of "$setup")
  if [ -n "$r_sql" ] && [ -n "$r_pg" ]; then awk -v a="$r_pg" -v b="$r_sql" -v s="$setup" 'BEGIN{printf "  %s ramp: %d deliveries/s, %.2fx SQLite (%d)\n", s, a, a/b, b}'; fi
  if [ -n "$p_sql" ] && [ -n "$p_pg" ]; then awk -v a="$p_pg" -v b="$p_sql" -v s="$setup" 'BEGIN{printf "  %s persist: %d msgs/s, %.2fx SQLite (%d)\n", s, a, a/b, b}'; fi
done
