#!/usr/bin/env bash
# The long fuzz run (make test runs a short one of each):
#   scripts/fuzz.sh DECODER_CASES SERVER_CASES     (make fuzz)
# DECODER_CASES inputs per decoder property in-process (src/realtime/protocol.rs),
# SERVER_CASES inputs per target against the real server on SQLite and a
# throwaway Postgres (tests/fuzz.rs: server-function forms, socket frames).
set -euo pipefail
cd "$(dirname "$0")/.."
decoder="${1:-1000000}"
server="${2:-50000}"
eval "$(scripts/pg-throwaway.sh start)"
trap 'scripts/pg-throwaway.sh stop "$GLASSCHAT_PG_DIR"' EXIT
start=$(date +%s)
FUZZ_CASES="$decoder" cargo test --features ssr --lib realtime::protocol::fuzz -- --nocapture
FUZZ_CASES="$server" cargo test --features ssr --test fuzz -- --nocapture 2>&1 | grep -v "WARN"
echo "fuzz: $decoder cases per decoder property, $server per server target, $(( $(date +%s) - start )) s"
