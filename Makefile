# Glasschat: the two commands a newcomer needs.
#   make run   install what is missing, build in release, serve http://127.0.0.1:3000 on SQLite
#   make test  install what is missing, run every test (lint, unit, server, browser; SQLite and Postgres)

.PHONY: run test setup build lint bench-ui bench-files bench-presence bench-scaleout bench-restart bench-reports bench-scale metrics-screenshot crash storm fuzz

run: build
	./target/release/glasschat

test:
	scripts/test.sh

setup:
	scripts/setup.sh

build: setup
	scripts/build.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --features ssr -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

# Browser benchmarks (first load on a throttled link; 10,000 messages in a room); prints figures.
bench-ui:
	scripts/bench-ui.sh

# Files: upload and download speed beside cp, a 12 MP thumbnail, memory during ten 25 MB uploads; prints figures.
bench-files:
	scripts/bench-files.sh

# Presence and typing beside the fan-out: quiet, then 500 sockets churning per second; prints figures.
bench-presence:
	scripts/bench-presence.sh

# Support reports over 100,000 conversations (a year of history), SQLite; prints figures.
bench-reports:
	cargo build --release --no-default-features --features ssr --bin glasschat
	scripts/bench-reports.py

# SQLite, one Postgres node and two (fan-out through LISTEN/NOTIFY), same build; prints figures and Postgres's ratios.
bench-scaleout:
	scripts/bench-scaleout.sh

# A rolling restart of two Postgres nodes behind nginx (deploy/nginx/) under a running fan-out; prints stop times, lost and doubled.
bench-restart:
	scripts/bench-restart.sh

# Scale beside the machine's floor and a minimal relay: a room of 10,000
# (1 to 100 msgs/s), a node full of idle sockets and its reconnect storm;
# prints figures. SCALE_ALL=1 adds ramp and persist beside the relay.
bench-scale:
	scripts/bench-scale.sh

metrics-screenshot:
	scripts/metrics-screenshot.sh

# The crash loop, N rounds per database (make test runs 3): make crash N=50
N ?= 50
crash:
	scripts/crash.sh $(N)

# The reconnect storm at 2,000 sockets on a release build, on SQLite and Postgres (make test runs 200); prints figures.
storm:
	scripts/storm.sh 2000

# The long fuzz run (make test runs 3,000 decoder and 300 server inputs per
# target): make fuzz DECODER_CASES=1000000 SERVER_CASES=50000
DECODER_CASES ?= 1000000
SERVER_CASES ?= 50000
fuzz:
	scripts/fuzz.sh $(DECODER_CASES) $(SERVER_CASES)
