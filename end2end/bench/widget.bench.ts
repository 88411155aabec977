import { test, expect, request } from "@playwright/test";
import { createServer } from "node:http";
import { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { adminEmail, password } from "../tests/helpers";

// The website widget on a host page of another site: the loader's bytes
// (as served, and gzip -9), and the time from the first click on the
// launcher to a usable panel (hydrated, its visitor form on screen), each
// run in a new browser context (a cold cache). Prints WIDGET lines.

const RUNS = Number(process.env.BENCH_WIDGET_RUNS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test("the widget: loader bytes, click to a usable panel on a cold cache", async ({ browser }) => {
  const glasschat = `http://localhost:${new URL(process.env.BASE_URL ?? "http://127.0.0.1:3000").port}`;
  const api = await request.newContext({ baseURL: glasschat, extraHTTPHeaders: { Origin: glasschat } });
  // The run's first account is its admin (a fresh database), or it exists.
  const signup = await api.post("/api/signup", { form: { email: adminEmail, display_name: "Root", password } });
  if (!signup.ok()) {
    expect((await api.post("/api/login", { form: { email: adminEmail, password } })).ok()).toBe(true);
  }
  const departments = await (await api.post("/api/support/departments", { form: {} })).json();
  const host = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><script src="${glasschat}/widget.js" data-site="${key}" async></script></body></html>`);
  });
  await new Promise<void>((done) => host.listen(0, "127.0.0.1", done));
  const hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  const made = await api.post("/api/sites/create", {
    form: { name: "Bench shop", origins: hostOrigin, departments: String(departments[0].id), anonymous: "true" },
  });
  expect(made.ok()).toBe(true);
  const key: string = (await made.json()).site.key;

  const raw = await (await api.get("/widget.js", { headers: { "Accept-Encoding": "identity" } })).body();
  console.log(`WIDGET loader ${raw.length} B plain, ${gzipSync(raw, { level: 9 }).length} B gzip -9 (target 5120)`);

  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(hostOrigin);
    await expect(page.locator("#gc-launch")).toBeVisible();
    const started = Date.now();
    await page.locator("#gc-launch").click();
    const frame = page.frameLocator("#gc-panel iframe");
    await expect(frame.locator("#app")).toHaveAttribute("data-hydrated", "true");
    await expect(frame.locator("#visitor-form")).toBeVisible();
    times.push(Date.now() - started);
    await context.close();
  }
  console.log(`WIDGET click to a usable panel, cold cache: median ${median(times)} ms of ${RUNS} (${times.join(", ")} ms)`);
  await new Promise((done) => host.close(done));
  await api.dispose();
});
