#!/usr/bin/env bash
# A rolling restart under load: two nodes on one (throwaway) Postgres behind
# nginx with the documented configuration (deploy/nginx/glasschat-proxy.conf),
# the load test's `restart` scenario running through nginx, and the nodes
# stopped (SIGTERM) and started again one after the other during it. Prints
# how long each stop took and the load test's figures: lost and doubled
# must be 0. Nodes share core 0, nginx and the generator core 1.
#   scripts/bench-restart.sh [SECONDS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_SECONDS=${1:-24}
RATE=${2:-10}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "==> Installing nginx (Debian) for the proxy in front of the nodes"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
cargo build --release --features ssr --bin glasschat --bin loadtest

eval "$(scripts/pg-throwaway.sh start)"
WORK="$GLASSCHAT_PG_DIR"
declare -A PID
cleanup() {
  for p in "${PID[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  # The nodes' and nginx's logs, for a look after the run.
  mkdir -p target/bench-restart && cp "$WORK"/*.log target/bench-restart/ 2>/dev/null || true
  scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
A=$(free_port); B=$(free_port); FRONT=$(free_port)
psql -q -h 127.0.0.1 -p "${GLASSCHAT_TEST_PG##*:}" -U postgres -c "CREATE DATABASE bench_restart" >/dev/null

start_node() { # start_node NAME PORT
  local log="$WORK/node-$1.log"
  DATABASE_URL="$GLASSCHAT_TEST_PG/bench_restart" GLASSCHAT_ADDR="127.0.0.1:$2" \
    GLASSCHAT_PUBLIC_URL="http://127.0.0.1:$FRONT" GLASSCHAT_BEHIND_PROXY=1 \
    GLASSCHAT_MASTER_KEY="$KEY" GLASSCHAT_SEND_RATE=1000000/1 GLASSCHAT_FRAME_RATE=1000000/1 \
    GLASSCHAT_SIGNUP_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE_TOTAL=1000000/1 RUST_LOG=info \
    taskset -c 0 ./target/release/glasschat >>"$log" 2>&1 &
  PID[$1]=$!
  for _ in $(seq 1 100); do
    [ "$(grep -c "glasschat listening on" "$log")" -ge "${3:-1}" ] && return
    sleep 0.1
  done
  cat "$log"; exit 1
}

stop_node() { # stop_node NAME: SIGTERM, and how long until it exited
  local began=$(date +%s%N)
  kill -TERM "${PID[$1]}"
  wait "${PID[$1]}" || { echo "node $1 exited with an error"; exit 1; }
  echo "  node $1 stopped in $(( ($(date +%s%N) - began) / 1000000 )) ms"
}

start_node a "$A"
start_node b "$B"
# The documented proxy file, included as it is; only the upstream and the
# listening port are this run's.
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx-body;
    proxy_temp_path $WORK/nginx-proxy;
    upstream glasschat {
        server 127.0.0.1:$A max_fails=0;
        server 127.0.0.1:$B max_fails=0;
    }
    server {
        listen 127.0.0.1:$FRONT;
        include $PWD/deploy/nginx/glasschat-proxy.conf;
    }
}
CONF
taskset -c 1 "$NGINX" -c "$WORK/nginx.conf" -p "$WORK"
echo "== two nodes behind nginx on :$FRONT; each restarted once during the run"
taskset -c 1 ./target/release/loadtest --url "http://127.0.0.1:$FRONT" --seconds "$RUN_SECONDS" --rate "$RATE" restart >"$WORK/load.log" 2>&1 &
LOAD=$!
# The load test signs its accounts up first (argon2, a few seconds); the
# restarts happen while messages flow.
until grep -q "messages flowing" "$WORK/load.log"; do
  kill -0 "$LOAD" 2>/dev/null || { cat "$WORK/load.log"; exit 1; }
  sleep 0.2
done
sleep $(( RUN_SECONDS / 4 ))
stop_node a
start_node a "$A" 2
sleep $(( RUN_SECONDS / 4 ))
stop_node b
start_node b "$B" 2
status=0
wait "$LOAD" || status=$?
cat "$WORK/load.log"
exit "$status"
