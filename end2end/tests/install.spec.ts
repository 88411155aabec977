import { test, expect } from "./fixtures";
import { hydrated } from "./helpers";

test("the app is installable: a manifest, icons that load, and Chromium finds nothing missing", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  const manifestUrl = await page.locator('link[rel="manifest"]').evaluate((el) => (el as HTMLLinkElement).href);
  const manifest = await (await page.request.get(manifestUrl)).json();
  expect(manifest.display).toBe("standalone");
  expect(manifest.theme_color).toBe("#0f172a");
  const sizes = manifest.icons.map((i: any) => i.sizes);
  expect(sizes).toEqual(expect.arrayContaining(["192x192", "512x512"]));
  for (const icon of [...manifest.icons.map((i: any) => i.src), "/favicon.ico", "/apple-touch-icon.png"]) {
    const reply = await page.request.get(icon);
    expect(reply.status(), icon).toBe(200);
  }
  const cdp = await page.context().newCDPSession(page);
  const parsed = await cdp.send("Page.getAppManifest");
  expect(parsed.errors, "manifest parse errors").toEqual([]);
  const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
  // A Playwright context is off the record, which alone keeps Chromium from
  // offering "Install"; every other reason would be ours.
  const ours = installabilityErrors.map((e) => e.errorId).filter((id) => id !== "in-incognito");
  expect(ours).toEqual([]);
});
