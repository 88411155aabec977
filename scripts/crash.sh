#!/usr/bin/env bash
# The crash loop for N rounds on SQLite and Postgres (a throwaway cluster):
#   scripts/crash.sh 50        (make crash N=50)
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/pg-throwaway.sh start)"
trap 'scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"' EXIT
GLASSCHAT_CRASH_ROUNDS="${1:-50}" cargo test --features ssr --test crash -- --nocapture --test-threads 1
