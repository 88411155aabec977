import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";
import { bodies, createGroup, expectAccessible, newUser, recordNotifications, roomLink, roomMenu, send } from "./helpers";

// Screenshots are kept as artifacts in end2end/screenshots/.
const shots = `screenshots/${process.env.E2E_DB ?? "local"}`;

function shown(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).shownNotifications);
}

// Ada calls Bob with the @ list (keyboard), then the whole group with
// @room (Tab): Bob's muted room still shows a mention badge, counts in the
// title, notifies him, and marks his name; reading clears it.
test("mentions: the @ list, the badge, the title, through a mute", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  const cy = await newUser(browser, "Cy");
  await recordNotifications(bob.page);

  await createGroup(ada.page, "Crew", [bob.email, cy.email]);
  await send(ada.page, "hello crew");

  // Bob mutes Crew and looks at another room.
  await roomLink(bob.page, "Crew").click();
  await expect(bodies(bob.page).last()).toHaveText("hello crew");
  await roomMenu(bob.page, "Mute");
  await expect(roomLink(bob.page, "Crew")).toContainText("muted");
  await createGroup(bob.page, "Notes");

  // "@" lists @room and the members (not Ada herself).
  const input = ada.page.locator("#composer-input");
  const list = ada.page.locator("#mention-list");
  await input.pressSequentially("Hey @");
  await expect(list).toBeVisible();
  await expect(list.getByRole("option")).toHaveText([/^@room/, "Bob", "Cy"]);
  await expectAccessible(ada.page, "#composer");
  // Typing narrows it; Down and Enter pick (Enter does not send).
  await input.pressSequentially("b");
  await expect(list.getByRole("option")).toHaveText(["Bob"]);
  await input.press("ArrowDown");
  await expect(list.getByRole("option").first()).toHaveAttribute("aria-selected", "true");
  await input.press("Enter");
  await expect(list).toHaveCount(0);
  await expect(input).toHaveValue("Hey @Bob ");
  await input.pressSequentially("can you review?");
  await input.press("Enter");
  await expect(bodies(ada.page).last()).toHaveText("Hey @Bob can you review?");

  // Bob: a mention badge on the muted room, the title, a notification.
  const crew = roomLink(bob.page, "Crew");
  await expect(crew.locator(".mentions")).toHaveText("@1");
  await expect(crew.locator(".unread")).toHaveText("1");
  await expect(bob.page).toHaveTitle("(@1 · 1) Notes · Glasschat");
  // (The first message, before the mute, was shown as "Ada · Crew".)
  await expect.poll(async () => (await shown(bob.page)).at(-1)).toBe("Ada mentioned you in Crew");
  // Cy was not called.
  await expect(roomLink(cy.page, "Crew").locator(".mentions")).toHaveCount(0);

  // Opening it reads it: the message stands out, his name is marked.
  await crew.click();
  const called = bob.page.locator("#messages .message.mentioned");
  await expect(called).toHaveCount(1);
  await expect(called.locator(".mention-me")).toHaveText("@Bob");
  await expect(crew.locator(".mentions")).toHaveCount(0);
  await expect(bob.page).toHaveTitle("Crew · Glasschat");
  await expect(roomLink(cy.page, "Crew").locator(".unread")).toHaveText("2");

  // Esc closes the list and keeps the text; Tab picks @room.
  await input.pressSequentially("@C");
  await expect(list.getByRole("option")).toHaveText(["Cy"]);
  await input.press("Escape");
  await expect(list).toHaveCount(0);
  await expect(input).toHaveValue("@C");
  await input.fill("");
  await input.pressSequentially("@ro");
  await expect(list.getByRole("option")).toHaveText([/^@room/]);
  await input.press("Tab");
  await expect(input).toHaveValue("@room ");
  await expect(input).toBeFocused();
  await input.pressSequentially("standup in 5");
  await input.press("Enter");
  await expect(roomLink(cy.page, "Crew").locator(".mentions")).toHaveText("@1");
  await expect(cy.page).toHaveTitle(/^\(@1 · 3\) /);
  await expect(bob.page.locator("#messages .message.mentioned")).toHaveCount(2);
  await expect(bob.page.locator("#messages .message.mentioned .mention-me").last()).toHaveText("@room");
  // Ada's own message marks the names, not the row.
  await expect(ada.page.locator("#messages .message.mentioned")).toHaveCount(0);
  await expect(ada.page.locator("#messages .mention").first()).toHaveText("@Bob");
});

function message(page: Page, text: string) {
  return page.locator("#messages .message", { has: page.locator(".body", { hasText: text }) });
}

// A conversation that uses everything issue 22 added, live between three
// people: Markdown, a reply, a mention, an edit, a delete and reactions.
// Its screenshot (Ada's view: Bob's reply mentions her) is the README's.
test("a conversation with Markdown, a reply, a mention, an edit, a delete and reactions", async ({ browser }) => {
  const ada = await newUser(browser, "Ada", { viewport: { width: 1100, height: 860 } });
  const bob = await newUser(browser, "Bob");
  const cy = await newUser(browser, "Cy");
  await createGroup(ada.page, "Launch", [bob.email, cy.email]);
  const adaInput = ada.page.locator("#composer-input");
  await adaInput.fill("**Launch plan** for Friday:\n- freeze at `15:00`\n- deploy at *16:00*");
  await adaInput.press("Enter");
  await expect(message(ada.page, "Launch plan").locator("strong")).toHaveText("Launch plan");

  // Bob answers the plan with a reply that mentions Ada.
  await roomLink(bob.page, "Launch").click();
  const plan = message(bob.page, "Launch plan");
  await plan.hover();
  await plan.getByRole("button", { name: "Reply to Ada" }).click();
  const bobInput = bob.page.locator("#composer-input");
  await bobInput.pressSequentially("@Ad");
  await expect(bob.page.locator("#mention-list").getByRole("option")).toHaveText(["Ada"]);
  await bobInput.press("Enter");
  await bobInput.pressSequentially("can we freeze at 14:00 instead?");
  await bobInput.press("Enter");
  const question = message(ada.page, "can we freeze");
  await expect(question.locator(".quote")).toContainText("Ada");
  await expect(question.locator(".mention-me")).toHaveText("@Ada");

  // Ada answers with a code block; Bob sends one to the wrong chat and takes it back.
  await adaInput.fill("Fine by me. Tag it with:\n```\nmake release VERSION=2.4 && ./deploy --prod\n```");
  await adaInput.press("Enter");
  await send(bob.page, "sorry, wrong chat");
  const wrong = message(bob.page, "sorry, wrong chat");
  await wrong.hover();
  await wrong.getByRole("button", { name: "Delete Bob's message" }).click();
  await bob.page.locator("#confirm-delete").getByRole("button", { name: "Delete", exact: true }).click();
  await expect(bodies(ada.page).last()).toHaveText("This message was deleted");

  // Cy's typo, fixed with the Up arrow.
  await roomLink(cy.page, "Launch").click();
  await send(cy.page, "Deploy at fiev works for me 🚀");
  const cyInput = cy.page.locator("#composer-input");
  await cyInput.press("ArrowUp");
  await cyInput.fill("Deploy at five works for me 🚀");
  await cyInput.press("Enter");
  await expect(message(ada.page, "Deploy at five works").locator(".edited")).toHaveText("(edited)");

  // Reactions from all three.
  for (const [page, text, name, emoji] of [
    [ada.page, "can we freeze", "Bob", "thumbs up"],
    [cy.page, "can we freeze", "Bob", "thumbs up"],
    [bob.page, "Launch plan", "Ada", "party popper"],
    [cy.page, "Launch plan", "Ada", "party popper"],
  ] as const) {
    const target = message(page, text);
    await target.hover();
    await target.getByRole("button", { name: `React to ${name}'s message` }).click();
    await page.locator("#emoji-search").fill(emoji);
    await page.locator("#emoji-picker").getByRole("button", { name: emoji, exact: true }).first().click();
    await expect(page.locator("#emoji-picker")).toHaveCount(0);
  }
  await expect(message(cy.page, "can we freeze").locator(".reaction .count")).toHaveText("2");
  await expect(message(cy.page, "Launch plan").locator(".reaction .count")).toHaveText("2");
  await expect(message(ada.page, "Launch plan").locator(".reaction .count")).toHaveText("2");
  // The box is one line again after a message of several.
  expect((await adaInput.boundingBox())?.height).toBeLessThan(60);
  await ada.page.mouse.move(0, 0);
  await ada.page.screenshot({ path: `${shots}/conversation-actions.png` });
});
