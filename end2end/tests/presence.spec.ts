import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";
import { bodies, createGroup, expectAccessible, newUser, roomLink, send, startDirect } from "./helpers";

/// The presence dot of `name` in the page's sidebar.
function sidebarDot(page: Page, name: string) {
  return roomLink(page, name).locator(".presence");
}

/// Makes the page's tab hidden (or visible again), as switching tabs does.
async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
    Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
    document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
  }, hidden);
}

// Ada and Bo see each other come online, go away (idle, hidden), type,
// read, and go offline with "last seen".
test("presence, typing and read receipts in a direct chat", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bo = await newUser(browser, "Bo");
  // Bo's clock is one the test moves (for "away after 5 minutes idle").
  await bo.page.clock.install();
  await bo.page.reload();

  await startDirect(ada.page, bo.email);
  await expect(ada.page.locator("#room-title")).toHaveText("Bo");
  await send(ada.page, "hi Bo");
  // Both online, each in the other's sidebar and in the chat's header.
  await expect(sidebarDot(ada.page, "Bo")).toHaveAttribute("data-presence", "online");
  await expect(ada.page.locator("main header .presence")).toHaveAttribute("aria-label", "Bo: Online");
  await expect(sidebarDot(bo.page, "Ada")).toHaveAttribute("data-presence", "online");

  // Bo idle for five minutes: away; back at the keyboard: online.
  await bo.page.clock.fastForward("05:30");
  await expect(sidebarDot(ada.page, "Bo")).toHaveAttribute("data-presence", "away");
  await expect(ada.page.locator("main header")).toContainText("Away");
  await bo.page.mouse.move(20, 20);
  await bo.page.keyboard.press("Shift");
  await expect(sidebarDot(ada.page, "Bo")).toHaveAttribute("data-presence", "online");
  // Bo's tab hidden: away; shown: online.
  await setHidden(bo.page, true);
  await expect(sidebarDot(ada.page, "Bo")).toHaveAttribute("data-presence", "away");
  await setHidden(bo.page, false);
  await expect(sidebarDot(ada.page, "Bo")).toHaveAttribute("data-presence", "online");

  // Bo opens the chat and types: Ada sees it above her composer; he
  // clears the box: gone at once; he sends: gone, and his message is there.
  await roomLink(bo.page, "Ada").click();
  await expect(bodies(bo.page).last()).toHaveText("hi Bo");
  const typing = ada.page.locator("#typing");
  await bo.page.locator("#composer-input").pressSequentially("on my");
  await expect(typing).toHaveText("Bo is typing…");
  await bo.page.locator("#composer-input").fill("");
  await bo.page.locator("#composer-input").press("Backspace");
  await expect(typing).toHaveText("");
  await bo.page.locator("#composer-input").pressSequentially("on my way");
  await expect(typing).toHaveText("Bo is typing…");
  await bo.page.locator("#composer-input").press("Enter");
  await expect(bodies(ada.page).last()).toHaveText("on my way");
  await expect(typing).toHaveText("");

  // Read receipts: Bo has the chat open, so Ada's next message is read at
  // once: "Seen" under it, and under nothing else.
  await send(ada.page, "see you at 5");
  await expect(bodies(bo.page).last()).toHaveText("see you at 5");
  const mine = ada.page.locator("#messages .message", { hasText: "see you at 5" });
  await expect(mine.locator(".receipt")).toHaveText("Seen");
  await expect(ada.page.locator("#messages .receipt")).toHaveCount(1);
  await expectAccessible(ada.page, "main");

  // Bo leaves: offline, last seen just now.
  await bo.page.context().close();
  await expect(sidebarDot(ada.page, "Bo")).toHaveAttribute("data-presence", "offline");
  await expect(ada.page.locator("main header")).toContainText("Last seen just now");
});

// A group shows "Seen by 2" under the newest message, with the names on
// click; "Appear offline" and "Send read receipts" in the user menu work
// both ways.
test("seen by in a group, and the privacy settings", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bo = await newUser(browser, "Bo");
  const cy = await newUser(browser, "Cy");
  await createGroup(ada.page, "Standup", [bo.email, cy.email]);
  await send(ada.page, "standup in 5");
  for (const user of [bo, cy]) {
    await roomLink(user.page, "Standup").click();
    await expect(bodies(user.page).last()).toHaveText("standup in 5");
  }
  const seenBy = ada.page.locator("#messages .receipt button");
  await expect(seenBy).toHaveText("Seen by 2");
  await seenBy.click();
  await expect(ada.page.locator(".seen-by li")).toHaveText(["Bo", "Cy"]);
  // The member panel shows who is here.
  await ada.page.locator("#members-toggle").click();
  await expect(ada.page.locator("#members-panel .presence")).toHaveCount(2);
  await expect(ada.page.locator('#members-panel .presence[data-presence="online"]')).toHaveCount(2);

  // Bo appears offline: Ada sees him offline; his own view is unchanged.
  await bo.page.locator("#user-menu").click();
  await expect(bo.page.locator("#appear-offline")).toBeEnabled();
  await expectAccessible(bo.page, "#user-menu + div");
  await bo.page.locator("#appear-offline").check();
  await expect(ada.page.locator('#members-panel .presence[data-presence="online"]')).toHaveCount(1);
  await bo.page.locator("#appear-offline").uncheck();
  await expect(ada.page.locator('#members-panel .presence[data-presence="online"]')).toHaveCount(2);

  // Cy stops sending read receipts: Ada's next message is seen by Bo only,
  // and Cy no longer sees anyone's.
  await cy.page.locator("#user-menu").click();
  await expect(cy.page.locator("#send-receipts")).toBeEnabled();
  await cy.page.locator("#send-receipts").uncheck();
  await send(ada.page, "who is coming?");
  await expect(bodies(bo.page).last()).toHaveText("who is coming?");
  await expect(bodies(cy.page).last()).toHaveText("who is coming?");
  await expect(seenBy).toHaveText("Seen by 1");
  await send(bo.page, "me");
  await expect(bodies(cy.page).last()).toHaveText("me");
  await expect(cy.page.locator("#messages .receipt")).toHaveCount(0);
});
