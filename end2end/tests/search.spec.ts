import { test, expect } from "./fixtures";
import { bodies, createGroup, expectAccessible, flood, newUser, send } from "./helpers";

// Keyboard only: Ctrl+Shift+F opens search, results come as you type with
// the matching word marked, Down and Enter open the conversation at the
// hit far back in its history, from where older and newer messages scroll.
test("search: as you type, marked, and into a long conversation at the hit", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await createGroup(ada.page, "Harbour", [bob.email]);
  const room = Number(new URL(ada.page.url()).pathname.split("/")[2]);
  await send(ada.page, "warm-up before the report");
  await send(ada.page, "The lighthouse keeper's report is in");
  const hit = ada.page.locator("#messages .message", { hasText: "lighthouse keeper" });
  const seq = Number(await hit.getAttribute("data-seq"));
  await flood(ada.page, room, 400);
  await createGroup(ada.page, "Elsewhere");

  const page = bob.page;
  await page.keyboard.press("Control+Shift+F");
  const input = page.locator("#search-input");
  await expect(input).toBeFocused();
  await input.pressSequentially("LIGHTHOU");
  const results = page.locator(".search-hit");
  await expect(results).toHaveCount(1);
  await expect(results.first().locator("mark")).toHaveText("lighthouse");
  await expect(results.first()).toContainText("The lighthouse keeper's report is in");
  await expect(page.locator("#search-results h3")).toHaveText(["Harbour"]);
  await expectAccessible(page, "#search-panel");

  // Down to the result, Enter: the conversation opens at it, marked.
  await input.press("ArrowDown");
  await expect(results.first()).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("#room-title")).toHaveText("Harbour");
  await expect(page).toHaveURL(new RegExp(`/c/${room}/${seq}$`));
  const there = page.locator(`#messages .message[data-seq="${seq}"]`);
  await expect(there).toBeInViewport();
  await expect(there).toHaveClass(/target/);
  // Both ways from there: the message before it and those after it.
  await expect(page.locator(`#messages .message[data-seq="${seq - 1}"]`)).toHaveCount(1);
  await expect(page.locator(`#messages .message[data-seq="${seq + 5}"]`)).toContainText("message 5");
  // Down to the newest, a window at a time.
  await expect
    .poll(async () => {
      await page.locator("#messages").evaluate((el) => (el.scrollTop = el.scrollHeight));
      return bodies(page).last().textContent();
    })
    .toBe("message 400");

  // Nothing found says what was searched; a bad filter says why.
  await page.keyboard.press("Control+Shift+F");
  await input.fill("zzqxj ");
  await expect(page.locator("#search-empty")).toHaveText("No messages match “zzqxj” in your conversations.");
  await input.fill("report before:someday");
  await expect(page.locator("#search-error")).toContainText("before: takes a date like before:2026-12-01");
  // Esc closes it, back to the conversations; "/" in an empty composer opens it.
  await input.press("Escape");
  await expect(page.locator("#search-panel")).toHaveCount(0);
  await expect(page.locator("#search-open")).toBeFocused();
  await page.locator("#composer-input").click();
  await page.keyboard.press("/");
  await expect(input).toBeFocused();
  await expect(page.locator("#composer-input")).toHaveValue("");
});
