import { test, expect } from "./fixtures";
import { hydrated, newUser } from "./helpers";

test("the app runs under its strict CSP, and an injected inline script does not", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations: string[] = [];
  page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) violations.push(m.text());
  });
  const reply = await page.goto("/signup");
  expect(reply?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  await hydrated(page);
  await context.close();

  // A whole session: sign up, the live chat shell, a reload.
  const ada = await newUser(browser, "Csp");
  ada.page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) violations.push(m.text());
  });
  await ada.page.reload();
  await hydrated(ada.page);
  await expect(ada.page.locator("#connection")).toHaveAttribute("data-state", "online");
  expect(violations).toEqual([]);

  // What an XSS would try: an inline script without the nonce never runs.
  const ran = await ada.page.evaluate(async () => {
    const script = document.createElement("script");
    script.textContent = "window.__injected = true";
    document.body.appendChild(script);
    await new Promise((ok) => setTimeout(ok, 200));
    return (window as unknown as { __injected?: boolean }).__injected === true;
  });
  expect(ran).toBe(false);
  await expect.poll(() => violations.length).toBeGreaterThan(0);
});
