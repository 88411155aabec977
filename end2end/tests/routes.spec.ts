import { test, expect } from "./fixtures";
import { flood, hydrated, newUser, online, roomLink, send, startDirect } from "./helpers";

test("every conversation has an address: reload, Back and Forward, the tab title, and not found", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  const cy = await newUser(browser, "Cy");
  await startDirect(ada.page, bob.email);
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  await expect(ada.page).toHaveURL(/\/c\/\d+$/);
  const withBob = new URL(ada.page.url()).pathname;
  await expect(ada.page).toHaveTitle("Bob · Glasschat");
  await send(ada.page, "hello Bob");

  // A reload opens the same conversation.
  await ada.page.reload();
  await hydrated(ada.page);
  await online(ada.page);
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  await expect(ada.page.locator("#messages .message .body").last()).toHaveText("hello Bob");

  // Another conversation, then Back and Forward.
  await startDirect(ada.page, cy.email);
  await expect(ada.page.locator("#room-title")).toHaveText("Cy");
  const withCy = new URL(ada.page.url()).pathname;
  expect(withCy).not.toBe(withBob);
  await ada.page.goBack();
  await expect(ada.page).toHaveURL(new RegExp(`${withBob}$`));
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  await ada.page.goForward();
  await expect(ada.page.locator("#room-title")).toHaveText("Cy");
  await roomLink(ada.page, "Bob").click();
  await expect(ada.page).toHaveURL(new RegExp(`${withBob}$`));

  // Cy may not see Ada and Bob's chat: the same answer as no chat at all.
  for (const path of [withBob, "/c/987654321"]) {
    await cy.page.goto(path);
    await hydrated(cy.page);
    await expect(cy.page.locator("#room-not-found")).toContainText("Conversation not found");
    await expect(cy.page.locator("#room-title")).toHaveCount(0);
  }
});

test("an address with a message opens the conversation at it, loading older pages", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await startDirect(ada.page, bob.email);
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  const room = Number(new URL(ada.page.url()).pathname.split("/")[2]);
  await flood(ada.page, room, 300);
  await bob.page.goto(`/c/${room}/7`);
  await hydrated(bob.page);
  const target = bob.page.locator('#messages .message[data-seq="7"]');
  await expect(target).toHaveClass(/\btarget\b/);
  await expect(target).toBeInViewport();
  await expect(target.locator(".body")).toHaveText(/^message \d+$/);
});
