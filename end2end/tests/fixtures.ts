import { test as base, expect, Browser, BrowserContext, Page } from "@playwright/test";

export { expect };

/// What a page showed that must fail the test: an uncaught error, or a Rust
/// panic (logged by the panic hook as "panicked at ...") or the WASM trap
/// that follows one.
function crashText(message: string): boolean {
  return /panicked at|RuntimeError|unreachable executed/.test(message);
}

type CrashGuard = {
  /// Panics this test causes on purpose (the crash notice's own test).
  allowCrashes: (allowed: boolean) => void;
};

/// Every spec imports `test` from here: on every page of every browser
/// context a test opens, a page error or a panic fails the test, so no
/// change can bring a crash back unseen (tests/source_rules.rs checks the
/// imports). And every context a test opens is closed when it ends:
/// Playwright closes only its own `context`, so each signed-in user of every
/// earlier test stayed open (a live page and socket, traced at every test's
/// start and end), and the suite's last tests ran beside a hundred of them.
export const test = base.extend<{ crashGuard: CrashGuard }>({
  crashGuard: [
    async ({ browser, context }, use) => {
      const seen: string[] = [];
      let allowed = false;
      const watchPage = (page: Page) => {
        page.on("pageerror", (err) => seen.push(`page error on ${page.url()}: ${err.message}`));
        page.on("console", (msg) => {
          if (msg.type() === "error" && crashText(msg.text())) {
            seen.push(`console on ${page.url()}: ${msg.text()}`);
          }
        });
      };
      const watchContext = (ctx: BrowserContext) => {
        ctx.pages().forEach(watchPage);
        ctx.on("page", watchPage);
      };
      // E2E_WS_DELAY_MS holds back every frame the server sends a page by
      // that long (in order): a run with it finds the tests and screens
      // that race the socket, as a slow or loaded machine would.
      const delay = Number(process.env.E2E_WS_DELAY_MS ?? 0);
      const slow = async (ctx: BrowserContext) => {
        if (delay > 0) {
          await ctx.routeWebSocket(/\/ws/, (ws) => {
            const server = ws.connectToServer();
            server.onMessage((m) => setTimeout(() => ws.send(m), delay));
          });
        }
      };
      watchContext(context);
      await slow(context);
      const newContext = browser.newContext.bind(browser);
      const patched = browser as Browser & { newContext: Browser["newContext"] };
      const opened: BrowserContext[] = [];
      patched.newContext = async (options) => {
        const ctx = await newContext(options);
        opened.push(ctx);
        watchContext(ctx);
        await slow(ctx);
        return ctx;
      };
      try {
        await use({ allowCrashes: (yes) => (allowed = yes) });
      } finally {
        patched.newContext = newContext;
      }
      try {
        if (!allowed) {
          expect(seen, "page errors or panics").toEqual([]);
        }
      } finally {
        // (Closing one twice is harmless: a test may close its own.)
        await Promise.all(opened.map((ctx) => ctx.close()));
      }
    },
    { auto: true },
  ],
});
