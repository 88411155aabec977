import { expect, Browser, BrowserContextOptions, Page } from "@playwright/test";

export const password = "correct horse battery";

/// The admin account global-setup.ts creates before any test runs.
export const adminEmail = "e2e-admin@example.com";

export function uniqueEmail(tag: string): string {
  return `${tag.toLowerCase()}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/// Waits until the WASM client has taken over the page.
export async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

/// Fills and submits the sign-up form already on screen.
export async function submitSignUp(page: Page, email: string, name: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Display name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
}

export type User = { page: Page; email: string; name: string };

/// A new account in its own browser context, signed in, socket online.
export async function newUser(browser: Browser, name: string, options: BrowserContextOptions = {}): Promise<User> {
  const email = uniqueEmail(name);
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto("/signup");
  await hydrated(page);
  await submitSignUp(page, email, name);
  await expect(page.locator("#me-name")).toHaveText(name);
  await online(page);
  return { page, email, name };
}

/// An existing account signed in in its own browser context (at `origin`
/// when the test reaches Glasschat under another name than BASE_URL).
export async function logIn(browser: Browser, email: string, origin = ""): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${origin}/login`);
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await online(page);
  return page;
}

export async function online(page: Page) {
  await expect(page.locator("#connection")).toHaveAttribute("data-state", "online");
}

/// Another tab of the same signed-in user.
export async function secondTab(user: User): Promise<Page> {
  const page = await user.page.context().newPage();
  await page.goto("/");
  await hydrated(page);
  await online(page);
  return page;
}

export function roomLink(page: Page, name: string) {
  return page.locator("button.room-link", { has: page.locator(".room-name", { hasText: name }) });
}

export function bodies(page: Page) {
  return page.locator("#messages .message .body");
}

export async function send(page: Page, text: string) {
  await page.locator("#composer-input").fill(text);
  await page.locator("#composer-input").press("Enter");
  await expect(bodies(page).last()).toHaveText(text);
}

export async function startDirect(page: Page, email: string) {
  await page.locator("#new-chat-open").click();
  await page.locator("#new-chat-email").fill(email);
  await page.getByRole("button", { name: "Start chat" }).click();
}

export async function roomMenu(page: Page, item: string) {
  await page.locator("#room-menu").click();
  await page.getByRole("menuitem", { name: item }).click();
}

/// Sends `count` messages to `room` over a socket of the page's own
/// session, at most 500 unacknowledged at a time; resolves when all are acked.
export async function flood(page: Page, room: number, count: number, tag = "flood") {
  await page.evaluate(
    async ({ room, count, tag }) => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      await new Promise((ok) => (ws.onopen = ok));
      let acked = 0;
      let waiter: (() => void) | null = null;
      ws.onmessage = (e) => {
        if (JSON.parse(e.data).type === "ack") {
          acked++;
          if (waiter) waiter();
        }
      };
      for (let i = 1; i <= count; i++) {
        ws.send(JSON.stringify({ type: "send", room, client_id: `${tag}-${room}-${i}`, body: `message ${i}` }));
        while (i - acked >= 500) await new Promise<void>((ok) => (waiter = ok));
      }
      while (acked < count) await new Promise<void>((ok) => (waiter = ok));
      ws.close();
    },
    { room, count, tag },
  );
}

// axe-core's own script, run in the page by `expectAccessible` (evaluated
// through the DevTools protocol, so the page's CSP does not apply to it).
import { readFileSync } from "fs";
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/// Fails on any WCAG 2.1 A/AA violation axe finds inside `selector`.
export async function expectAccessible(page: Page, selector: string) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async (include) => {
    const axe = (window as any).axe;
    const result = await axe.run(include, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.map(
      (v: any) => `${v.id}: ${v.help} at ${v.nodes.map((n: any) => n.target.join(" ")).join(", ")}`,
    );
  }, selector);
  expect(violations, `accessibility of ${selector}`).toEqual([]);
}

/// Sets the sign-up rule as the signed-in admin on `page` would on the
/// admin page (a same-origin form post, like the page's own).
export async function setRegistration(page: Page, mode: string, domains = "") {
  const status = await page.evaluate(
    async ([mode, domains]) => {
      const body = new URLSearchParams({ mode, domains });
      const r = await fetch("/api/admin/registration/set", { method: "POST", body });
      return r.status;
    },
    [mode, domains],
  );
  expect(status).toBe(200);
}

/// Fails on any serious or critical WCAG 2.1 A/AA violation on the page.
export async function expectNoSeriousViolations(page: Page, what: string) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as any).axe;
    const result = await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations
      .filter((v: any) => v.impact === "serious" || v.impact === "critical")
      .map((v: any) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 5).map((n: any) => n.target.join(" ")).join(", ")}`);
  });
  expect(violations, `accessibility of ${what}`).toEqual([]);
}

/// Grants notifications and records the title of each one the page shows
/// (in `window.shownNotifications`), from a reload on.
export async function recordNotifications(page: Page) {
  await page.context().grantPermissions(["notifications"]);
  await page.addInitScript(() => {
    const Real = window.Notification;
    const shown: string[] = [];
    (window as any).shownNotifications = shown;
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        shown.push(title);
      }
    }
    Object.defineProperty(window, "Notification", { value: Recorded });
  });
  await page.reload();
  await online(page);
}

/// Creates a group named `name` with the accounts of `emails` (the page's
/// user owns it) and waits for it to open.
export async function createGroup(page: Page, name: string, emails: string[] = []) {
  await page.locator("#new-group-open").click();
  await page.locator("#group-name").fill(name);
  if (emails.length > 0) await page.locator("#group-members").fill(emails.join(", "));
  await page.getByRole("button", { name: "Create group" }).click();
  await expect(page.locator("#room-title")).toHaveText(name);
}

/// A department of the test's own (other specs count what Billing's and
/// Technical Support's agents have unread), made by an admin's page.
export async function createDepartment(admin: Page, name: string) {
  const origin = new URL(admin.url()).origin;
  const made = await admin.request.post(`${origin}/api/admin/department/create`, {
    form: { name },
    headers: { Origin: origin },
  });
  expect(made.ok()).toBe(true);
}

/// A member opens their conversation with `department` from Contact support.
export async function contactSupport(page: Page, department: string) {
  await page.locator("#contact-support-open").click();
  await page.locator("#contact-support button.department-choice", { hasText: department }).click();
  await expect(page.locator("#room-title")).toHaveText(department);
}

/// The text of the `n`th mail (1-based) the server sent to `email`, read
/// from the Maildir of the SMTP server the test script runs (E2E_MAILDIR),
/// quoted-printable decoded.
export async function readMail(email: string, n = 1): Promise<string> {
  const fs = await import("node:fs");
  const path = await import("node:path");
  const dir = process.env.E2E_MAILDIR;
  if (!dir) throw new Error("E2E_MAILDIR is not set: run the browser tests through scripts/test.sh");
  const box = path.join(dir, "new");
  for (let i = 0; i < 100; i++) {
    const files = fs.existsSync(box) ? fs.readdirSync(box).map((f) => path.join(box, f)) : [];
    const mails = files
      .map((f) => ({ f, t: fs.statSync(f).mtimeMs }))
      .sort((a, b) => a.t - b.t)
      .map(({ f }) => fs.readFileSync(f, "utf8"))
      .filter((m) => new RegExp(`^To:.*${email.replace(/[.+]/g, "\\$&")}`, "mi").test(m));
    if (mails.length >= n) {
      const body = mails[n - 1].split(/\r?\n\r?\n/).slice(1).join("\n\n");
      return body
        .replace(/=\r?\n/g, "")
        .replace(/(=[0-9A-F]{2})+/g, (m) => Buffer.from(m.replace(/=/g, ""), "hex").toString("utf8"));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail #${n} to ${email} within 10 s`);
}
