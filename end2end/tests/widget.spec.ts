import { test, expect } from "./fixtures";
import type { Browser, FrameLocator, Page } from "@playwright/test";
import { createHmac } from "node:crypto";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { adminEmail, expectNoSeriousViolations, hydrated, logIn } from "./helpers";

// The website widget in a real embedding: a host page served from another
// site (127.0.0.1 on its own port, while Glasschat is reached as
// localhost), the loader from Glasschat, the panel in its iframe with a
// partitioned cookie (Chromium blocks third-party cookies here).

const glasschat = (() => {
  const url = new URL(process.env.BASE_URL ?? "http://127.0.0.1:3000");
  return `http://localhost:${url.port}`;
})();

let host: Server;
let hostOrigin = "";
let siteKey = "";
let siteSecret = "";

/// The host site: `/` embeds the widget; `/?token=T` also vouches for its
/// user with `Glasschat.identify(T)` (queued before the loader arrives).
function hostPage(token: string | null): string {
  const identify = token
    ? `<script>window.Glasschat = { q: [["identify", ${JSON.stringify(token)}]] };</script>`
    : "";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title></head>
<body><h1>The shop</h1>${identify}
<script src="${glasschat}/widget.js" data-site="${siteKey}" async></script></body></html>`;
}

/// An HS256 token as the shop's backend signs it.
function sign(secret: string, claims: object): string {
  const b64 = (value: object | Buffer) =>
    (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString("base64url");
  const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${head}.${b64(createHmac("sha256", secret).update(head).digest())}`;
}

function token(sub: string, name: string, secret = siteSecret): string {
  return sign(secret, { sub, email: `${sub}@shop.test`, name, exp: Math.floor(Date.now() / 1000) + 600 });
}

test.beforeAll(async () => {
  host = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(hostPage(url.searchParams.get("token")));
  });
  await new Promise<void>((done) => host.listen(0, "127.0.0.1", done));
  hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await new Promise((done) => host.close(done));
});

/// The admin adds the shop on the admin page (Billing, anyone may chat)
/// and keeps the secret it is shown once.
async function addSite(admin: Page) {
  await admin.goto(`${glasschat}/admin`);
  await hydrated(admin);
  await admin.locator("#site-name").fill(`Shop ${Date.now()}`);
  await admin.locator("#site-origins").fill(hostOrigin);
  await admin.locator("#sites-section label", { hasText: "Billing" }).locator("input").check();
  await expect(admin.locator("#site-anonymous")).toBeChecked();
  await admin.locator("#site-save").click();
  await expect(admin.locator("#site-secret")).toBeVisible();
  siteSecret = await admin.locator("#site-secret-value").inputValue();
  const snippet = await admin.locator("#site-secret code").textContent();
  siteKey = /data-site="([^"]+)"/.exec(snippet ?? "")?.[1] ?? "";
  expect(snippet).toContain(`${glasschat}/widget.js`);
  expect(siteKey).not.toBe("");
}

async function visitHost(browser: Browser, token: string | null = null, options = {}) {
  const page = await (await browser.newContext(options)).newPage();
  await page.goto(token ? `${hostOrigin}/?token=${encodeURIComponent(token)}` : hostOrigin);
  await expect(page.locator("#gc-launch")).toBeVisible();
  return page;
}

function panel(page: Page): FrameLocator {
  return page.frameLocator("#gc-panel iframe");
}

function panelTexts(page: Page) {
  return panel(page).locator("#messages .message:not(.system) .body");
}

async function say(page: Page, text: string) {
  await panel(page).locator("#composer-input").fill(text);
  await panel(page).locator("#composer-input").press("Enter");
  await expect(panelTexts(page).last()).toHaveText(text);
}

function queueRow(page: Page, member: string) {
  return page.locator("#support-queue button.queue-row", { has: page.locator(".queue-member", { hasText: member }) });
}

async function answer(agent: Page, member: string, text: string) {
  await queueRow(agent, member).click();
  await agent.locator("#composer-input").fill(text);
  await agent.locator("#composer-input").press("Enter");
  await expect(agent.locator("#messages .message .body").last()).toHaveText(text);
}

test("visitors from a website chat with the team: anonymous and verified, badge and title, close and reopen, a phone", async ({ browser }) => {
  // Several browsers (visitors, a second device, an agent, a forger) and
  // about forty steps: 11 s alone, but 23-30 s late in the suite on either
  // database, and 30 s is the default budget.
  test.setTimeout(60_000);
  const stamp = Date.now() % 1_000_000;
  const annaName = `Anna ${stamp}`;
  const kimName = `Kim ${stamp}`;
  const kimId = `cust-${stamp}`;
  const admin = await logIn(browser, adminEmail, glasschat);
  await addSite(admin);
  await admin.goto(`${glasschat}/`);
  await hydrated(admin);
  await admin.locator("#tab-queue").click();

  // An anonymous visitor: nothing of the panel until the first click.
  const anna = await visitHost(browser);
  await expect(anna.locator("#gc-panel")).toHaveCount(0);
  await anna.locator("#gc-launch").click();
  await expect(anna.locator("#gc-launch")).toHaveAttribute("aria-expanded", "true");
  await panel(anna).locator("#visitor-name").fill(annaName);
  await panel(anna).locator("#visitor-email").fill("anna@example.com");
  await panel(anna).locator("#visitor-start").click();
  await say(anna, "Hello from the shop");

  // The team sees it in the queue, marked with the site, and who it is.
  await expect(queueRow(admin, annaName).locator(".queue-site")).toContainText("not verified");
  await answer(admin, annaName, "Hi Anna, how can we help?");
  await expect(admin.locator("#visitor-details")).toContainText("anna@example.com");
  await expect(admin.locator("#visitor-details .visitor-page")).toContainText(hostOrigin);
  await expect(admin.locator("#visitor-details .visitor-time")).toBeVisible();
  await expect(panelTexts(anna).last()).toHaveText("Hi Anna, how can we help?");

  // Closed: the reply waits on the launcher's badge and in the host tab's title.
  await panel(anna).locator("#panel-close").click();
  await expect(anna.locator("#gc-panel")).toBeHidden();
  await expect(anna.locator("#gc-launch")).toBeFocused();
  // An internal note: the team sees it among the messages, styled apart;
  // the visitor never does (not on the badge, not in the panel).
  await admin.locator("#write-note").click();
  await expect(admin.locator("#composer[data-note=true]")).toBeVisible();
  await admin.locator("#composer-input").fill("Anna asked twice about order 7");
  await admin.locator("#composer-input").press("Enter");
  await expect(admin.locator("#messages .message.note .body").last()).toHaveText("Anna asked twice about order 7");
  await expect(admin.locator("#messages .message.note").last()).toContainText("Internal note");
  await expectNoSeriousViolations(admin, "a support conversation with an internal note");
  await admin.locator("#write-reply").click();
  await expect(admin.locator("#composer[data-note=false]")).toBeVisible();
  await admin.locator("#composer-input").fill("Are you still there?");
  await admin.locator("#composer-input").press("Enter");
  await expect(anna.locator("#gc-badge")).toHaveText("1");
  await expect(anna).toHaveTitle("(1) Shop");
  // Reopened with the keyboard: nothing lost, the reply read, badge gone.
  await anna.locator("#gc-launch").focus();
  await anna.keyboard.press("Enter");
  await expect(panelTexts(anna)).toHaveText(["Hello from the shop", "Hi Anna, how can we help?", "Are you still there?"]);
  await expect(anna.locator("#gc-badge")).toBeHidden();
  await expect(anna).toHaveTitle("Shop");

  // A new page of the site: the same conversation in that browser; a
  // reply made meanwhile shows on the badge before the panel is opened.
  await anna.goto(hostOrigin);
  await admin.locator("#composer-input").fill("We shipped it today.");
  await admin.locator("#composer-input").press("Enter");
  await anna.reload();
  await expect(anna.locator("#gc-badge")).toHaveText("1");
  await anna.locator("#gc-launch").click();
  await expect(panelTexts(anna).last()).toHaveText("We shipped it today.");

  // Resolved: Anna is asked "How did we do?" and rates it once; the team
  // sees the rating in the conversation.
  await admin.locator("#support-resolve").click();
  await expect(panel(anna).locator("#rating")).toBeVisible();
  await expectNoSeriousViolations(anna, "widget panel: the rating question");
  await panel(anna).locator('#rating button[data-score="5"]').click();
  await panel(anna).locator("#rating-comment").fill("Fast and friendly");
  await panel(anna).locator("#rating-send").click();
  await expect(panel(anna).locator("#rating")).toHaveCount(0);
  const ratedLine = `${annaName} rated the help 5 of 5: \u201cFast and friendly\u201d`;
  await expect(admin.locator("#messages .message.system .body").last()).toHaveText(ratedLine);
  await expect(panel(anna).locator("#messages .message.system .body").last()).toHaveText(ratedLine);

  // A verified visitor: signed in by the shop's token, straight to the chat.
  const kim = await visitHost(browser, token(kimId, kimName));
  await kim.locator("#gc-launch").click();
  await say(kim, "I am signed in on the shop");
  await expect(queueRow(admin, kimName).locator(".queue-site")).toContainText("· verified");
  await answer(admin, kimName, "Welcome back, Kim");
  await expect(panelTexts(kim).last()).toHaveText("Welcome back, Kim");
  // On another device (a new browser), the same account and history.
  const kimPhone = await visitHost(browser, token(kimId, kimName), {
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
  await kimPhone.locator("#gc-launch").click();
  await expect(panelTexts(kimPhone)).toHaveText(["I am signed in on the shop", "Welcome back, Kim"]);
  // A phone: the panel takes the whole screen.
  const box = await kimPhone.locator("#gc-panel").boundingBox();
  expect(box).toEqual({ x: 0, y: 0, width: 390, height: 844 });

  // Kim signs out of the shop: the panel forgets Kim in this browser; the
  // next page without a token offers the form, not Kim's conversation.
  await kim.evaluate(() => (window as unknown as { Glasschat: { logout(): void } }).Glasschat.logout());
  await expect(panel(kim).locator("#visitor-form")).toBeVisible();
  await kim.goto(hostOrigin);
  await kim.locator("#gc-launch").click();
  await expect(panel(kim).locator("#visitor-form")).toBeVisible();
  await expect(panel(kim).locator("#messages")).toHaveCount(0);

  // A forged token is refused: no chat, a clear line.
  const mallory = await visitHost(browser, token(kimId, kimName, "not-the-shops-secret-at-all"));
  await mallory.locator("#gc-launch").click();
  await expect(panel(mallory).locator("#panel-refused")).toContainText("could not be checked");
  await expect(panel(mallory).locator("#composer-input")).toHaveCount(0);
});

test("the panel is accessible, and framed by the site's origins only", async ({ browser }) => {
  const admin = await logIn(browser, adminEmail, glasschat);
  await addSite(admin);
  // Opened on its own (not framed), it shows the visitor form.
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${glasschat}/widget/${siteKey}?host=${encodeURIComponent(hostOrigin)}`);
  await hydrated(page);
  await expect(page.locator("#visitor-form")).toBeVisible();
  await expectNoSeriousViolations(page, "widget panel: the visitor form");
  await page.locator("#visitor-name").fill("Axe Visitor");
  await page.locator("#visitor-email").fill("axe@example.com");
  await page.locator("#visitor-start").click();
  await expect(page.locator("#composer-input")).toBeVisible();
  await expectNoSeriousViolations(page, "widget panel: the conversation");
  // Another origin gets no panel at all.
  const refused = await page.request.get(`${glasschat}/widget/${siteKey}?host=${encodeURIComponent("https://evil.test")}`);
  expect(refused.status()).toBe(403);
  // The loader stays small: at most 5 KB gzip.
  const loader = await page.request.get(`${glasschat}/widget.js`);
  expect(loader.status()).toBe(200);
  expect(gzipSync(await loader.body(), { level: 9 }).length).toBeLessThanOrEqual(5 * 1024);
});
