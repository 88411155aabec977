#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: trust auth, loopback only, a free
# port, fsync off. `start` prints the base URL; `stop DIR` removes it all.
#   eval "$(scripts/pg-throwaway.sh start)"   # sets GLASSCHAT_TEST_PG and GLASSCHAT_PG_DIR
#   scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"
set -euo pipefail

pgbin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bin" ] || { echo "PostgreSQL server binaries not found (apt-get install -y postgresql)" >&2; exit 1; }
  echo "$bin"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

case "${1:-}" in
  start)
    PGBIN=$(pgbin)
    DIR=$(mktemp -d /tmp/glasschat-pg.XXXXXX)
    chmod 755 "$DIR"
    RUN=(); [ "$(id -u)" = 0 ] && { chown postgres "$DIR"; RUN=(runuser -u postgres --); }
    "${RUN[@]}" "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 1; }
    for attempt in 1 2 3 4 5; do
      PORT=$(free_port)
      if "${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 30 start \
          -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null 2>&1; then
        echo "export GLASSCHAT_TEST_PG=postgres://postgres@127.0.0.1:$PORT"
        echo "export GLASSCHAT_PG_DIR=$DIR"
        exit 0
      fi
    done
    cat "$DIR/log" >&2; exit 1
    ;;
  stop)
    DIR=${2:?usage: stop DIR}
    [ -d "$DIR/data" ] || exit 0
    PGBIN=$(pgbin)
    RUN=(); [ "$(id -u)" = 0 ] && RUN=(runuser -u postgres --)
    "${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
