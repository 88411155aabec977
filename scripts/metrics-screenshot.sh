#!/usr/bin/env bash
# The metrics under load, as a picture: a node on SQLite with /metrics on
# its own address, a real Prometheus (Debian's) scraping it every second,
# the load test's `fanout` for a minute (and a few failed logins), then
# Chromium's screenshot of Prometheus's graph page showing the Grafana
# dashboard's own queries (docs/grafana-dashboard.json; Grafana itself is
# not in the package registries this machine reaches). Writes
# docs/screenshots/metrics-under-load.png and prints the figures it read.
#   scripts/metrics-screenshot.sh [SECONDS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_SECONDS=${1:-60}
RATE=${2:-20}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v prometheus >/dev/null; then
  echo "==> Installing Prometheus (Debian)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
fi
cargo build --release --features ssr --bin glasschat --bin loadtest

WORK=$(mktemp -d /tmp/glasschat-metrics.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port); METRICS=$(free_port); PROM=$(free_port)

GLASSCHAT_ADDR="127.0.0.1:$PORT" GLASSCHAT_METRICS_ADDR="127.0.0.1:$METRICS" \
  DATABASE_URL="sqlite://$WORK/glasschat.db" RUST_LOG=warn GLASSCHAT_WORKERS=1 \
  GLASSCHAT_SEND_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE=1000000/1 GLASSCHAT_SIGNUP_RATE_TOTAL=1000000/1 \
  GLASSCHAT_MAX_SOCKETS_PER_USER=100000 \
  taskset -c 0 ./target/release/glasschat >"$WORK/server.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: glasschat
    static_configs:
      - targets: ["127.0.0.1:$METRICS"]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM" >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PROM/-/ready" >/dev/null && curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 0.2
done

echo "==> fanout at $RATE msgs/s per room for $RUN_SECONDS s"
for _ in 1 2 3; do
  curl -s -o /dev/null -H "Origin: http://127.0.0.1:$PORT" -d "email=nobody@example.com&password=wrong" \
    "http://127.0.0.1:$PORT/api/login" || true
done
taskset -c 1 ./target/release/loadtest --url "http://127.0.0.1:$PORT" --seconds "$RUN_SECONDS" --rate "$RATE" fanout | tee "$WORK/load.log"
sleep 3

# The dashboard's queries, $__rate_interval as 5s.
node - "$PROM" "docs/screenshots/metrics-under-load.png" <<'JS'
const { chromium } = require(require.resolve("@playwright/test", { paths: [process.cwd() + "/end2end", process.cwd()] }));
const [prom, out] = process.argv.slice(2);
const dashboard = require(process.cwd() + "/docs/grafana-dashboard.json");
const wanted = ["Open sockets", "Messages stored per second", "Writer batch size (writes per transaction)",
  "Writer commit latency", "Delivery queues", "Process memory"];
const params = new URLSearchParams();
let i = 0;
for (const title of wanted) {
  const panel = dashboard.panels.find((p) => p.title === title);
  // Each of a panel's queries as its own series (p50 and p99 apart).
  const expr = panel.targets
    .map((t, n) => `label_replace(${t.expr.replaceAll("$__rate_interval", "5s")}, "series", "${n}", "", "")`)
    .join(" or ");
  params.set(`g${i}.expr`, expr);
  params.set(`g${i}.tab`, "0");
  params.set(`g${i}.range_input`, "2m");
  i++;
}
(async () => {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--headless"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${prom}/graph?${params}`);
  await page.waitForTimeout(4000);
  // Prometheus's fixed top bar would land mid-picture in a full-page shot.
  await page.addStyleTag({ content: "nav.navbar { display: none !important; }" });
  await page.screenshot({ path: out, fullPage: true });
  await browser.close();
  console.log(`wrote ${out}`);
})().catch((e) => { console.error(e); process.exit(1); });
JS
q() { curl -s "http://127.0.0.1:$PROM/api/v1/query" --data-urlencode "query=$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'; }
echo "==> read back from Prometheus (over the last minute of load)"
echo "messages stored/s (max of 5s rates): $(q 'max_over_time(rate(glasschat_messages_stored_total[5s])[1m:1s])')"
echo "writer batch p99 (writes):           $(q 'histogram_quantile(0.99, sum by (le) (rate(glasschat_writer_batch_size_bucket[1m])))')"
echo "writer commit p99 (s):               $(q 'histogram_quantile(0.99, sum by (le) (rate(glasschat_writer_commit_seconds_bucket[1m])))')"
echo "open sockets (max):                  $(q 'max_over_time(glasschat_sockets_open[2m])')"
echo "login failures:                      $(q 'glasschat_login_failures_total')"
