import { test, expect } from "./fixtures";
import type { Route } from "@playwright/test";
import {
  bodies,
  flood,
  hydrated,
  newUser,
  online,
  recordNotifications,
  roomLink,
  roomMenu,
  secondTab,
  send,
  startDirect,
  submitSignUp,
  uniqueEmail,
} from "./helpers";

const shots = `screenshots/${process.env.E2E_DB ?? "local"}`;

test("a direct chat by email: live messages, unread in both tabs, hide and reappear, clear", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  const bob2 = await secondTab(bob);

  await startDirect(ada.page, bob.email.toUpperCase());
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  await send(ada.page, "Hi Bob, see https://example.com/docs. <i>plain</i>");

  // Bob's two tabs: the chat appears live, with a badge and the title count.
  for (const page of [bob.page, bob2]) {
    const link = roomLink(page, "Ada");
    await expect(link.locator(".unread")).toHaveText("1");
    await expect(link.locator(".preview")).toContainText("Hi Bob");
    await expect(page).toHaveTitle("(1) Glasschat");
  }
  await roomLink(bob.page, "Ada").click();
  const first = bodies(bob.page).first();
  await expect(first).toHaveText("Hi Bob, see https://example.com/docs. <i>plain</i>");
  // Links are real links, everything else plain text.
  await expect(first.locator("a")).toHaveAttribute("href", "https://example.com/docs");
  await expect(first.locator("a")).toHaveAttribute("rel", /noopener/);
  await expect(first.locator("i")).toHaveCount(0);
  for (const page of [bob.page, bob2]) {
    await expect(roomLink(page, "Ada").locator(".unread")).toHaveCount(0);
    // The title names the open conversation; the other tab has none open.
    await expect(page).toHaveTitle(page === bob.page ? "Ada · Glasschat" : "Glasschat");
  }

  // Security checklist row 6: markup in a message is text, never run.
  let dialogs = 0;
  for (const page of [ada.page, bob.page]) page.on("dialog", (d) => { dialogs++; d.dismiss(); });
  await send(bob.page, "<img src=x onerror=alert(1)><script>alert(2)</script>");
  await expect(bodies(ada.page).last()).toHaveText("<img src=x onerror=alert(1)><script>alert(2)</script>");
  await expect(ada.page.locator("#messages img, #messages script")).toHaveCount(0);
  expect(dialogs).toBe(0);

  await send(bob.page, "Hello Ada!");
  await expect(bodies(ada.page).last()).toHaveText("Hello Ada!");
  await expect(ada.page.locator('#messages .message[data-own="true"]')).toHaveCount(1);
  await ada.page.screenshot({ path: `${shots}/desktop.png` });

  // Remove chat (hide): gone from both of Bob's tabs, back on a new message.
  await roomMenu(bob.page, "Remove chat");
  await expect(roomLink(bob.page, "Ada")).toHaveCount(0);
  await expect(roomLink(bob2, "Ada")).toHaveCount(0);
  await send(ada.page, "Still there?");
  await expect(roomLink(bob.page, "Ada").locator(".unread")).toHaveText("1");
  await expect(roomLink(bob2, "Ada")).toBeVisible();

  // Clear history, after a confirm: both views empty, and stay so.
  await roomLink(bob.page, "Ada").click();
  await roomMenu(bob.page, "Clear history…");
  await expect(bob.page.locator("#confirm-clear")).toBeVisible();
  await bob.page.getByRole("button", { name: "Clear history", exact: true }).click();
  for (const page of [ada.page, bob.page]) {
    await expect(bodies(page)).toHaveText(["Bob cleared the history"]);
  }
  await expect(roomLink(bob2, "Ada").locator(".unread")).toHaveCount(0);
  await ada.page.reload();
  await online(ada.page);
  await roomLink(ada.page, "Bob").click();
  await expect(bodies(ada.page)).toHaveText(["Bob cleared the history"]);
});

test("an invitation to an unknown email becomes a chat when they sign up", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const carolEmail = uniqueEmail("carol");
  await startDirect(ada.page, carolEmail);
  const invite = ada.page.locator(".invitation", { hasText: carolEmail });
  await expect(invite).toBeVisible();
  const link = await invite.locator(".invite-link").inputValue();
  expect(link).toContain("/signup?email=");

  // Inviting yourself or a malformed email: a clear message.
  await ada.page.locator("#new-chat-open").click();
  await ada.page.locator("#new-chat-email").fill(ada.email);
  await ada.page.getByRole("button", { name: "Start chat" }).click();
  await expect(ada.page.locator("#new-chat [role=alert]")).toContainText("your own email");
  await ada.page.keyboard.press("Escape");
  await expect(ada.page.locator("#new-chat")).toHaveCount(0);

  const context = await browser.newContext();
  const carol = await context.newPage();
  await carol.goto(new URL(link).pathname + new URL(link).search);
  await hydrated(carol);
  await expect(carol.getByLabel("Email")).toHaveValue(carolEmail);
  await submitSignUp(carol, carolEmail, "Carol");
  await online(carol);
  await expect(roomLink(carol, "Ada")).toBeVisible();
  await expect(roomLink(ada.page, "Carol")).toBeVisible();
  await expect(invite).toHaveCount(0);
});

test("a group of three: members, rename, remove, and Ctrl+K", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  const cy = await newUser(browser, "Cy");

  await ada.page.locator("#new-group-open").click();
  await ada.page.locator("#group-name").fill("Trio");
  await ada.page.locator("#group-members").fill(`${bob.email}, ${cy.email}`);
  await ada.page.getByRole("button", { name: "Create group" }).click();
  await expect(ada.page.locator("#room-title")).toHaveText("Trio");
  await send(ada.page, "hello trio");
  for (const user of [bob, cy]) {
    await roomLink(user.page, "Trio").click();
    await expect(bodies(user.page).last()).toHaveText("hello trio");
  }
  await send(cy.page, "hi from cy");
  await expect(bodies(bob.page).last()).toHaveText("hi from cy");

  await ada.page.locator("#members-toggle").click();
  await expect(ada.page.locator("#members-panel .member")).toHaveCount(3);
  await ada.page.locator("#rename-room").fill("Trio HQ");
  await ada.page.locator("#rename-room").press("Enter");
  await expect(bob.page.locator("#room-title")).toHaveText("Trio HQ");
  await ada.page.getByRole("button", { name: "Remove Cy" }).click();
  await expect(ada.page.locator("#members-panel .member")).toHaveCount(2);
  await expect(roomLink(cy.page, "Trio HQ")).toHaveCount(0);
  await expect(bodies(bob.page).last()).toHaveText("Ada removed Cy");

  // Ctrl+K jumps to a conversation by name; Esc closes dialogs.
  await bob.page.locator("#composer-input").click();
  await bob.page.keyboard.press("Control+k");
  await expect(bob.page.locator("#switcher")).toBeVisible();
  await bob.page.keyboard.type("trio");
  await bob.page.keyboard.press("Enter");
  await expect(bob.page.locator("#switcher")).toHaveCount(0);
  await expect(bob.page.locator("#room-title")).toHaveText("Trio HQ");
});

test("scrolling back through 500 messages loads older pages without jumping", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await startDirect(ada.page, bob.email);
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  const room = Number(await roomLink(ada.page, "Bob").getAttribute("data-room"));
  await flood(ada.page, room, 500);

  // A fresh page holds none of them: it pages back through history.
  await bob.page.reload();
  await online(bob.page);
  await roomLink(bob.page, "Ada").click();
  await expect(bodies(bob.page).last()).toHaveText("message 500");
  const list = bob.page.locator("#messages");
  for (let i = 0; i < 30; i++) {
    if ((await bodies(bob.page).first().textContent()) === "message 1") break;
    const top = bodies(bob.page).first();
    const before = await top.textContent();
    await list.evaluate((el) => (el.scrollTop = 0));
    await expect(bodies(bob.page).first()).not.toHaveText(before ?? "");
    // The message that was on top is still where the reader left it.
    const box = await bodies(bob.page).filter({ hasText: new RegExp(`^${before}$`) }).first().boundingBox();
    const view = await list.boundingBox();
    expect(box && view && box.y >= view.y - 5 && box.y < view.y + view.height).toBeTruthy();
  }
  await expect(bodies(bob.page).first()).toHaveText("message 1");
  // The DOM holds a bounded window, not all 500.
  expect(await bob.page.locator("#messages .message").count()).toBeLessThanOrEqual(300);
  await expect(bob.page.getByText("Start of the conversation")).toBeVisible();

  // Scrolled up, a new message shows the "new messages" button, which
  // brings the newest back.
  await send(ada.page, "fresh news");
  await expect(bob.page.locator("#new-messages")).toHaveText("1 new message ↓");
  await bob.page.locator("#new-messages").click();
  await expect(bodies(bob.page).last()).toHaveText("fresh news");
  await expect(bodies(bob.page).last()).toBeInViewport();
});

test("a page of older messages keeps the reader's place when a message arrives while it loads", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await startDirect(ada.page, bob.email);
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  const room = Number(await roomLink(ada.page, "Bob").getAttribute("data-room"));
  await flood(ada.page, room, 300);

  // Bob's requests for older pages wait until the test lets each one go.
  const held: Route[] = [];
  await bob.page.route(/\/api\/history/, (route) => {
    held.push(route);
  });
  const releaseAll = async () => {
    while (held.length > 0) await held.shift()!.continue();
  };
  await bob.page.reload();
  await online(bob.page);
  await roomLink(bob.page, "Ada").click();
  // Let the first pages through until Bob's view asks for no more.
  const list = bob.page.locator("#messages");
  await expect(async () => {
    await releaseAll();
    await expect(bodies(bob.page).last()).toHaveText("message 300", { timeout: 1_000 });
    await bob.page.waitForTimeout(500);
    expect(held).toHaveLength(0);
  }).toPass();

  // Scrolled to the top, the next page is asked for and held.
  await list.evaluate((el) => (el.scrollTop = 0));
  await expect.poll(() => held.length).toBe(1);
  const before = await bodies(bob.page).first().textContent();
  // (The row, not its text: once older messages of the same sender are
  // above it, its name line folds away.)
  const row = bob.page.locator("#messages .message", {
    has: bob.page.locator(".body", { hasText: new RegExp(`^${before}$`) }),
  });
  const y = (await row.boundingBox())!.y;
  // Something else changes meanwhile: a new message comes in below.
  await send(ada.page, "while the page loads");
  await expect(bob.page.locator("#new-messages")).toHaveText("1 new message ↓");
  await releaseAll();
  await expect(bodies(bob.page).first()).not.toHaveText(before ?? "");
  // The row the reader had on top is still where it was.
  await expect.poll(async () => Math.abs(((await row.boundingBox())?.y ?? Infinity) - y)).toBeLessThan(5);
  await expect(row).toBeInViewport();
});

test("on a phone one pane shows at a time, with a back button", async ({ browser }) => {
  const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
  const ada = await newUser(browser, "Ada", phone);
  const bob = await newUser(browser, "Bob");
  await startDirect(bob.page, ada.email);
  await send(bob.page, "on your phone?");

  await expect(roomLink(ada.page, "Bob")).toBeVisible();
  await expect(ada.page.locator("#composer-input")).toHaveCount(0);
  await roomLink(ada.page, "Bob").click();
  await expect(bodies(ada.page).last()).toHaveText("on your phone?");
  await expect(roomLink(ada.page, "Bob")).toBeHidden();
  await ada.page.screenshot({ path: `${shots}/mobile.png` });
  await ada.page.locator("#back").click();
  await expect(roomLink(ada.page, "Bob")).toBeVisible();
});

test("browser notifications: asked on a click, shown for rooms out of view, not when muted", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await recordNotifications(ada.page);

  await startDirect(bob.page, ada.email);
  await send(bob.page, "ping");
  await expect.poll(() => ada.page.evaluate(() => (window as any).shownNotifications.length)).toBe(1);
  expect(await ada.page.evaluate(() => (window as any).shownNotifications[0])).toBe("Bob");

  await roomLink(ada.page, "Bob").click();
  await roomMenu(ada.page, "Mute");
  await expect(roomLink(ada.page, "Bob")).toContainText("muted");
  // Look at another room, so Bob's is out of view.
  await ada.page.locator("#new-group-open").click();
  await ada.page.locator("#group-name").fill("Notes");
  await ada.page.getByRole("button", { name: "Create group" }).click();
  await expect(ada.page.locator("#room-title")).toHaveText("Notes");
  await send(bob.page, "pong");
  await expect(roomLink(ada.page, "Bob").locator(".preview")).toContainText("pong");
  expect(await ada.page.evaluate(() => (window as any).shownNotifications.length)).toBe(1);

  // Drafts survive switching rooms.
  await ada.page.locator("#composer-input").fill("half-written thought");
  await roomLink(ada.page, "Bob").click();
  await expect(ada.page.locator("#composer-input")).toHaveValue("");
  await roomLink(ada.page, "Notes").click();
  await expect(ada.page.locator("#composer-input")).toHaveValue("half-written thought");
});
