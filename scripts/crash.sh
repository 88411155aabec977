#!/usr/bin/env bash
# The crash loops for N rounds on SQLite and Postgres (a throwaway cluster):
# the messages' (tests/crash.rs) and the support desk's (tests/notes.rs).
#   scripts/crash.sh 50        (make crash N=50)
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/pg-throwaway.sh start)"
trap 'scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"' EXIT
GLASSCHAT_CRASH_ROUNDS="${1:-50}" cargo test --features ssr --test crash -- --nocapture --test-threads 1
GLASSCHAT_CRASH_ROUNDS="${1:-50}" cargo test --features ssr --test notes survive_kills -- --nocapture --test-threads 1
