import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";
import { bodies, expectAccessible, newUser, roomLink, send, startDirect } from "./helpers";

function message(page: Page, text: string) {
  return page.locator("#messages .message", { has: page.locator(".body", { hasText: text }) });
}

// Two people edit, delete and react to each other's messages, live: the
// hover actions, the Up arrow, the delete question, the emoji picker.
test("edit, delete and react, live on both sides", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await startDirect(ada.page, bob.email);
  await send(ada.page, "Deploy at fiev");
  await send(ada.page, "wrong chat, sorry");
  await roomLink(bob.page, "Ada").click();
  await expect(bodies(bob.page).last()).toHaveText("wrong chat, sorry");

  // "Edit" puts the text in the composer; Enter saves it.
  const typo = message(ada.page, "Deploy at fiev");
  await typo.hover();
  await typo.getByRole("button", { name: "Edit your message" }).click();
  const input = ada.page.locator("#composer-input");
  await expect(ada.page.locator("#editing")).toBeVisible();
  await expect(input).toHaveValue("Deploy at fiev");
  await expect(input).toBeFocused();
  await input.fill("Deploy at five");
  await input.press("Enter");
  await expect(ada.page.locator("#editing")).toHaveCount(0);
  await expect(input).toHaveValue("");
  for (const page of [ada.page, bob.page]) {
    const fixed = message(page, "Deploy at five");
    await expect(fixed.locator(".edited")).toHaveText("(edited)");
    await expect(fixed.locator(".edited")).toHaveAttribute("title", /^Edited at /);
    await expect(page.locator("#messages")).not.toContainText("fiev");
  }

  // Up in an empty composer edits the last message; Esc cancels.
  await input.fill("");
  await input.press("ArrowUp");
  await expect(input).toHaveValue("wrong chat, sorry");
  await input.press("Escape");
  await expect(ada.page.locator("#editing")).toHaveCount(0);
  await expect(input).toHaveValue("");
  // An emptied edit asks whether to delete; "Cancel" keeps the message.
  await input.press("ArrowUp");
  await input.fill("");
  await input.press("Enter");
  const question = ada.page.locator("#confirm-delete");
  await expect(question).toBeVisible();
  await question.getByRole("button", { name: "Cancel" }).click();
  await expect(question).toHaveCount(0);
  await expect(bodies(ada.page).last()).toHaveText("wrong chat, sorry");

  // Delete, confirmed: a tombstone on both sides and in Bob's sidebar.
  const wrong = message(ada.page, "wrong chat, sorry");
  await wrong.hover();
  await wrong.getByRole("button", { name: "Delete Ada's message" }).click();
  await expect(question).toBeVisible();
  await question.getByRole("button", { name: "Delete", exact: true }).click();
  for (const page of [ada.page, bob.page]) {
    await expect(bodies(page).last()).toHaveText("This message was deleted");
    await expect(page.locator("#messages")).not.toContainText("wrong chat");
  }
  await expect(roomLink(bob.page, "Ada").locator(".preview")).toHaveText("This message was deleted");
  // A tombstone offers no actions.
  await expect(bob.page.locator('#messages .message[data-deleted="true"] .actions')).toHaveCount(0);

  // Bob reacts through the picker, searching by name.
  const fixed = message(bob.page, "Deploy at five");
  await fixed.hover();
  await fixed.getByRole("button", { name: "React to Ada's message" }).click();
  const picker = bob.page.locator("#emoji-picker");
  await expect(picker).toBeVisible();
  await expect(bob.page.locator("#emoji-search")).toBeFocused();
  await expect(picker.getByRole("button", { name: "grinning face", exact: true })).toBeVisible();
  await expectAccessible(bob.page, "#emoji-picker");
  await bob.page.locator("#emoji-search").fill("zzzz");
  await expect(bob.page.locator("#no-emoji")).toHaveText("No emoji named “zzzz”");
  await bob.page.locator("#emoji-search").fill("party pop");
  await picker.getByRole("button", { name: "party popper", exact: true }).last().click();
  await expect(picker).toHaveCount(0);
  for (const page of [ada.page, bob.page]) {
    const reaction = message(page, "Deploy at five").locator('.reaction[data-emoji="🎉"]');
    await expect(reaction.locator(".count")).toHaveText("1");
    await expect(reaction).toHaveAttribute("title", "Bob reacted with 🎉");
  }
  // Ada adds hers by clicking it; Bob takes his back.
  const adas = message(ada.page, "Deploy at five").locator('.reaction[data-emoji="🎉"]');
  await expect(adas).toHaveAttribute("aria-pressed", "false");
  await adas.click();
  await expect(adas.locator(".count")).toHaveText("2");
  await expect(adas).toHaveAttribute("aria-pressed", "true");
  await expect(adas).toHaveAttribute("title", "Bob, Ada reacted with 🎉");
  const bobs = message(bob.page, "Deploy at five").locator('.reaction[data-emoji="🎉"]');
  await expect(bobs.locator(".count")).toHaveText("2");
  await bobs.click();
  for (const reaction of [adas, bobs]) {
    await expect(reaction.locator(".count")).toHaveText("1");
    await expect(reaction).toHaveAttribute("title", "Ada reacted with 🎉");
  }
});

// Unread counts what a person would call unread: a delete takes a message
// off the badge and the tab title; an edit or a reaction adds nothing.
test("a deleted unread message leaves the badge and the title", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await startDirect(ada.page, bob.email);
  await send(ada.page, "first news");
  await send(ada.page, "second news");
  const badge = roomLink(bob.page, "Ada").locator(".unread");
  await expect(badge).toHaveText("2");
  await expect(bob.page).toHaveTitle(/^\(2\) /);

  const second = message(ada.page, "second news");
  await second.hover();
  await second.getByRole("button", { name: "Delete Ada's message" }).click();
  await ada.page.locator("#confirm-delete").getByRole("button", { name: "Delete", exact: true }).click();
  await expect(badge).toHaveText("1");
  await expect(bob.page).toHaveTitle(/^\(1\) /);

  await ada.page.locator("#composer-input").press("ArrowUp");
  await ada.page.locator("#composer-input").fill("first news, corrected");
  await ada.page.locator("#composer-input").press("Enter");
  await expect(roomLink(bob.page, "Ada").locator(".preview")).toHaveText("This message was deleted");
  await expect(badge).toHaveText("1");
  // After a reload the server's count agrees.
  await bob.page.reload();
  await expect(roomLink(bob.page, "Ada").locator(".unread")).toHaveText("1");
});
