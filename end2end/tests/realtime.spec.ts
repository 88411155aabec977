import { test, expect } from "./fixtures";
import { hydrated, newUser, online } from "./helpers";
const shots = `screenshots/${process.env.E2E_DB ?? "local"}`;

test("two people exchange messages live, and a reload shows the history", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");

  await ada.page.locator("#new-group-open").click();
  await ada.page.locator("#group-name").fill("Launch");
  await ada.page.locator("#group-members").fill(bob.email);
  await ada.page.getByRole("button", { name: "Create group" }).click();
  await expect(ada.page.locator("#room-title")).toHaveText("Launch");

  // Bob's sidebar gets the room live, without a reload.
  const bobRoom = bob.page.locator("button.room-link", { hasText: "Launch" });
  await expect(bobRoom).toBeVisible();

  await ada.page.locator("#composer-input").fill("Hello Bob <b>not bold</b>");
  await ada.page.locator("#composer-input").press("Enter");
  await expect(ada.page.locator("#messages .message .body").last()).toHaveText("Hello Bob <b>not bold</b>");

  // Unread badge on Bob's side, cleared when he opens the room.
  await expect(bobRoom.locator(".unread")).toHaveText("1");
  await bobRoom.click();
  await expect(bob.page.locator("#messages .message .body").last()).toHaveText("Hello Bob <b>not bold</b>");
  await expect(bobRoom.locator(".unread")).toHaveCount(0);

  await bob.page.locator("#composer-input").fill("Hi Ada!");
  await bob.page.getByRole("button", { name: "Send" }).click();
  await expect(ada.page.locator("#messages .message .body").last()).toHaveText("Hi Ada!");
  await ada.page.screenshot({ path: `${shots}/conversation.png`, fullPage: true });

  await bob.page.reload();
  await expect(bob.page.locator("#connection")).toHaveAttribute("data-state", "online");
  await bob.page.locator("button.room-link", { hasText: "Launch" }).click();
  await expect(bob.page.locator("#messages .message .body")).toHaveText(["Hello Bob <b>not bold</b>", "Hi Ada!"]);
});

test("the connection line follows the network: offline at once, back at once, and a silent line is noticed", async ({ browser }) => {
  test.setTimeout(90_000);
  const ada = await newUser(browser, "Ada");
  const conn = ada.page.locator("#connection");
  // The browser says the network is gone: shown at once (the socket itself
  // may stay "open" for minutes).
  await ada.page.context().setOffline(true);
  await expect(conn).toHaveAttribute("data-state", /offline|connecting/, { timeout: 3_000 });
  await expect(conn).not.toHaveAttribute("data-state", "online", { timeout: 3_000 });
  await ada.page.context().setOffline(false);
  await expect(conn).toHaveAttribute("data-state", "online", { timeout: 3_000 });

  // A line that goes silent without closing (a proxy that dropped it):
  // the heartbeat notices, and the tab reconnects once frames flow again.
  const page = await ada.page.context().newPage();
  let silent = false;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((message) => {
      if (!silent) ws.send(message);
    });
    ws.onMessage((message) => {
      if (!silent) server.send(message);
    });
  });
  await page.goto("/");
  await hydrated(page);
  await online(page);
  silent = true;
  await expect(page.locator("#connection")).not.toHaveAttribute("data-state", "online", { timeout: 20_000 });
  silent = false;
  await online(page);
});
