import { test, expect } from "@playwright/test";
import { newUser } from "../tests/helpers";

// The first visit of a signed-in user to the chat page, with an empty cache,
// over a link throttled by Chromium to 10 Mbit/s each way and 40 ms of
// latency: every file the page loads (bytes on the wire, as served, so
// compressed where the server compresses) and the time from navigation to
// usable (the WASM client hydrated and its socket online). Then the same
// visit with a warm cache. Prints one FIRSTLOAD line per file and a total.

const RUNS = Number(process.env.BENCH_FIRST_LOAD_RUNS ?? 5);
const LINK = { offline: false, latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 10e6 / 8 };
const TARGET_BYTES = 400 * 1024;
const TARGET_MS = 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

type Loaded = { url: string; bytes: number; encoding: string };

test("first load of the chat page on a 10 Mbit/s, 40 ms link", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const context = ada.page.context();
  await ada.page.close();

  // Marks the moment the client is usable, from inside the page.
  await context.addInitScript(() => {
    const mark = () => {
      const app = document.getElementById("app");
      const connection = document.getElementById("connection");
      if (app?.dataset.hydrated === "true" && connection?.dataset.state === "online") {
        (window as unknown as { usableAt: number }).usableAt = performance.now();
        return true;
      }
      return false;
    };
    const watch = new MutationObserver(() => mark() && watch.disconnect());
    watch.observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated", "data-state"] });
  });

  async function visit(cold: boolean): Promise<{ ms: number; files: Loaded[] }> {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", LINK);
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: cold });
    const seen = new Map<string, { url: string; encoding: string }>();
    const files: Loaded[] = [];
    cdp.on("Network.responseReceived", (e) => {
      const h = e.response.headers as Record<string, string>;
      const encoding = Object.entries(h).find(([k]) => k.toLowerCase() === "content-encoding")?.[1] ?? "";
      seen.set(e.requestId, { url: e.response.url, encoding: e.response.fromDiskCache ? "cache" : encoding });
    });
    cdp.on("Network.loadingFinished", (e) => {
      const r = seen.get(e.requestId);
      if (r) files.push({ url: r.url, bytes: e.encodedDataLength, encoding: r.encoding });
    });
    await page.goto("/");
    await page.waitForFunction(() => (window as unknown as { usableAt?: number }).usableAt !== undefined, null, {
      timeout: 60_000,
    });
    const ms = await page.evaluate(() => (window as unknown as { usableAt: number }).usableAt);
    await page.waitForLoadState("networkidle");
    await page.close();
    return { ms, files };
  }

  // One warm-up visit (the server's first page render), then the runs.
  await visit(true);
  const cold: { ms: number; files: Loaded[] }[] = [];
  for (let i = 0; i < RUNS; i++) cold.push(await visit(true));
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) warm.push((await visit(false)).ms);

  const base = new URL(ada.page.url()).origin;
  const files = cold[cold.length - 1].files.filter((f) => !f.url.startsWith("ws"));
  let total = 0;
  for (const f of files) {
    total += f.bytes;
    const name = f.url.startsWith(base) ? f.url.slice(base.length) : f.url;
    console.log(`FIRSTLOAD file ${name}: ${f.bytes} bytes on the wire (${f.encoding || "identity"})`);
  }
  const times = cold.map((c) => c.ms);
  console.log(
    `FIRSTLOAD total ${files.length} files, ${total} bytes (${(total / 1024).toFixed(1)} KiB, target < ${TARGET_BYTES / 1024} KiB: ${total < TARGET_BYTES ? "met" : "missed"}); ` +
      `usable after median ${median(times).toFixed(0)} ms cold (runs ${times.map((x) => x.toFixed(0)).join(", ")}; target < ${TARGET_MS} ms: ${median(times) < TARGET_MS ? "met" : "missed"}), ` +
      `${median(warm).toFixed(0)} ms with a warm cache (runs ${warm.map((x) => x.toFixed(0)).join(", ")}); link 10 Mbit/s, 40 ms`,
  );
  expect(files.some((f) => f.url.includes(".wasm"))).toBe(true);
});
