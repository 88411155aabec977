import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";
import { bodies, newUser, roomLink, send, startDirect } from "./helpers";

/// How far the message list is wider than its box (0 when nothing overflows).
async function sidewaysOverflow(page: Page): Promise<number> {
  return page.locator("#messages").evaluate((el) => el.scrollWidth - el.clientWidth);
}

test("a long unbroken string wraps in every bubble, for sender and receiver, on a desktop and a phone", async ({ browser }) => {
  const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob", phone);
  await startDirect(ada.page, bob.email);
  const hash = "f".repeat(40) + "0123456789abcdef".repeat(12);
  const url = `https://example.com/${"very-long-path-segment-".repeat(8)}${"x".repeat(120)}`;
  await send(ada.page, hash);
  await send(ada.page, url);
  await expect(roomLink(bob.page, "Ada")).toBeVisible();
  await roomLink(bob.page, "Ada").click();
  await expect(bodies(bob.page).last()).toHaveText(url);
  await send(bob.page, hash + hash);
  await expect(bodies(ada.page).last()).toHaveText(hash + hash);
  for (const page of [ada.page, bob.page]) {
    expect(await sidewaysOverflow(page)).toBe(0);
    // Every bubble stays inside the list.
    const list = await page.locator("#messages").boundingBox();
    for (const bubble of await page.locator("#messages .message .body").all()) {
      const box = await bubble.boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(list!.x + list!.width + 1);
    }
  }
});
