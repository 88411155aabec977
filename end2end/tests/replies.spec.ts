import { test, expect } from "./fixtures";
import { bodies, flood, hydrated, newUser, online, startDirect } from "./helpers";

// A reply quotes its original (author and first line) above the composer
// and in the sent message; a click on the quote opens the conversation at
// the original, 300 messages up, loading the history in between.
test("reply to a message 300 up, then jump back to it from the quote", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await startDirect(ada.page, bob.email);
  await expect(ada.page.locator("#room-title")).toHaveText("Bob");
  const room = Number(new URL(ada.page.url()).pathname.split("/")[2]);
  await ada.page.locator("#composer-input").fill("Deploy at **five**?\nsecond line");
  await ada.page.locator("#composer-input").press("Enter");
  const original = ada.page.locator("#messages .message", { hasText: "Deploy at five?" });
  const seq = Number(await original.getAttribute("data-seq"));
  await flood(ada.page, room, 300);
  await expect(bodies(ada.page).last()).toHaveText("message 300");

  // Bob opens the original by its address and replies to it.
  await bob.page.goto(`/c/${room}/${seq}`);
  await hydrated(bob.page);
  await online(bob.page);
  const there = bob.page.locator(`#messages .message[data-seq="${seq}"]`);
  await expect(there).toBeInViewport();
  await there.hover();
  await there.getByRole("button", { name: "Reply to Ada" }).click();
  await expect(bob.page.locator("#replying")).toContainText("Replying to Ada: Deploy at five?");
  await expect(bob.page.locator("#composer-input")).toBeFocused();
  // Esc cancels; Reply again, then send.
  await bob.page.keyboard.press("Escape");
  await expect(bob.page.locator("#replying")).toHaveCount(0);
  await there.hover();
  await there.getByRole("button", { name: "Reply to Ada" }).click();
  await bob.page.locator("#composer-input").fill("Yes, at five");
  await bob.page.locator("#composer-input").press("Enter");
  await expect(bob.page.locator("#replying")).toHaveCount(0);

  // Both see the reply with its quote, live.
  // Sending from far up the history took Bob to the newest.
  await expect(bodies(bob.page).last()).toHaveText("Yes, at five");
  await expect(bodies(bob.page).last()).toBeInViewport();
  for (const page of [ada.page, bob.page]) {
    const reply = page.locator("#messages .message", { has: page.locator(".body", { hasText: "Yes, at five" }) });
    await expect(reply.locator(".quote")).toHaveText("Ada Deploy at five?");
    await expect(reply.locator(".quote")).toHaveAttribute("href", `/c/${room}/${seq}`);
  }

  // Ada, at the bottom, clicks the quote: the original, 300 up, is loaded,
  // scrolled to and highlighted.
  const reply = ada.page.locator("#messages .message", { has: ada.page.locator(".body", { hasText: "Yes, at five" }) });
  await reply.locator(".quote").click();
  await expect(ada.page).toHaveURL(new RegExp(`/c/${room}/${seq}$`));
  const target = ada.page.locator(`#messages .message[data-seq="${seq}"]`);
  await expect(target).toHaveClass(/\btarget\b/);
  await expect(target).toBeInViewport();
});
