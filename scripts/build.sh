#!/usr/bin/env bash
# The release build every command uses (make run, make test, the benchmarks):
# the server, and the WASM client under content-hashed names with a brotli
# (quality 11) and a gzip (-9) copy of each text file in the site root, made
# once here so that the server never compresses a build file per request.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo leptos build --release --split --precompress "$@"

# cargo-leptos compresses every file: drop the copies of what is already
# compressed (PNG), and remake its gzip copies at gzip's best level (its
# own encoder leaves the WASM 17% larger than `gzip -9`).
find target/site -name '*.png.br' -delete -o -name '*.png.gz' -delete
find target/site -name '*.gz' | while read -r copy; do
  gzip -9 -n -c "${copy%.gz}" >"$copy"
done
