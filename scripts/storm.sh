#!/usr/bin/env bash
# The reconnect storm at N sockets on a release build, on SQLite and a
# throwaway Postgres, one after the other; prints figures:
#   scripts/storm.sh 2000        (make storm)
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/pg-throwaway.sh start)"
trap 'scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"' EXIT
STORM_SOCKETS="${1:-2000}" cargo test --release --features ssr --test storm -- --nocapture --test-threads 1
