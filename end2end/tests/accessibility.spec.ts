import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";
import { adminEmail, expectNoSeriousViolations, hydrated, logIn, newUser, send, startDirect } from "./helpers";

// axe-core (WCAG 2.1 A and AA, colour contrast on the glass theme included)
// on every page and dialog: no serious or critical violation.

test("login and sign-up pages", async ({ page }) => {
  for (const path of ["/login", "/signup"]) {
    await page.goto(path);
    await hydrated(page);
    await expectNoSeriousViolations(page, path);
  }
});

test("the chat, its dialogs and menu, on a desktop and a phone", async ({ browser }) => {
  const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob", phone);
  await startDirect(ada.page, bob.email);
  await send(ada.page, "Hello, see https://example.com");
  await expectNoSeriousViolations(ada.page, "chat");
  await ada.page.locator("#room-menu").click();
  await expectNoSeriousViolations(ada.page, "conversation menu");
  await ada.page.keyboard.press("Escape");
  for (const [open, dialog] of [
    ["#new-chat-open", "#new-chat"],
    ["#new-group-open", "#new-group"],
    ["#contact-support-open", "#contact-support"],
  ]) {
    await ada.page.locator(open).click();
    await expect(ada.page.locator(dialog)).toBeVisible();
    await expectNoSeriousViolations(ada.page, dialog);
    await ada.page.keyboard.press("Escape");
    await expect(ada.page.locator(dialog)).toHaveCount(0);
  }
  await ada.page.keyboard.press("Control+k");
  await expect(ada.page.locator("#switcher")).toBeVisible();
  await expectNoSeriousViolations(ada.page, "quick switcher");
  await ada.page.keyboard.press("Escape");
  await expectNoSeriousViolations(bob.page, "phone: conversation list");
});

test("the admin page and the support queue", async ({ browser }) => {
  const admin = await logIn(browser, adminEmail);
  await admin.locator("#tab-queue").click();
  await expect(admin.locator("#support-queue")).toBeVisible();
  await expectNoSeriousViolations(admin, "support queue");
  await admin.goto("/admin");
  await hydrated(admin);
  await expect(admin.locator("tr.user-row").first()).toBeVisible();
  // This node's sizing figures, as /health gives them.
  await expect(admin.locator("#node-figures")).toContainText("it can hold");
  await expectNoSeriousViolations(admin, "admin");
});

test("keyboard: Esc closes the conversation menu, Ctrl+K lands in the composer, every stop shows focus", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await startDirect(ada.page, bob.email);
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  const page: Page = ada.page;
  await page.locator("#room-menu").click();
  await expect(page.getByRole("menu")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("menu")).toHaveCount(0);
  await expect(page.locator("#room-menu")).toBeFocused();

  await page.keyboard.press("Control+k");
  await page.locator("#switcher input").fill("Bob");
  await page.keyboard.press("Enter");
  await expect(page.locator("#composer-input")).toBeFocused();

  // Tab through the page: every stop draws a visible focus indicator.
  await page.locator("body").click({ position: { x: 1, y: 1 } });
  const missing: string[] = [];
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press("Tab");
    const shown = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
      const ring = style.boxShadow !== "none";
      return { name: el.id || el.tagName + ":" + (el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 30), ok: outline || ring };
    });
    if (shown && !shown.ok) missing.push(shown.name);
  }
  expect(missing, "tab stops without a focus indicator").toEqual([]);
});
