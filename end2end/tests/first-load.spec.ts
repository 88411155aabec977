import { test, expect } from "./fixtures";
import { newUser } from "./helpers";

// The chat page's first load carries only what the first screen needs: the
// dialogs' code is split off and fetched when a dialog first opens, and the
// build files come compressed and cached for good. (Bytes and timings on a
// throttled link are printed by `make bench-ui`, not asserted here.)
test("the first screen loads no split-off code; a dialog fetches its own once, compressed and cached", async ({
  browser,
}) => {
  const ada = await newUser(browser, "Ada");
  const page = ada.page;
  const fetched: { url: string; encoding?: string; cache?: string }[] = [];
  page.on("response", (r) => {
    const h = r.headers();
    fetched.push({ url: r.url(), encoding: h["content-encoding"], cache: h["cache-control"] });
  });
  await page.reload();
  await expect(page.locator("#connection")).toHaveAttribute("data-state", "online");

  const wasm = fetched.filter((f) => f.url.endsWith(".wasm"));
  expect(wasm.map((f) => f.url.split("/").pop())).toEqual([expect.stringMatching(/^glasschat\.[\w-]{16,}\.wasm$/)]);
  for (const f of fetched.filter((f) => f.url.includes("/pkg/"))) {
    expect(f.encoding, f.url).toBe("br");
    expect(f.cache, f.url).toBe("public, max-age=31536000, immutable");
  }

  // What the page itself fetched, as its resource timing lists it (an entry
  // exists before the fetched code runs).
  const splitOff = () =>
    page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .map((e) => e.name)
        .filter((u) => /\/(split|chunk)_[\w.-]+\.wasm$/.test(u)),
    );
  expect(await splitOff(), "the first screen needs no split-off code").toEqual([]);

  await page.locator("#new-chat-open").click();
  await expect(page.locator("#new-chat")).toBeVisible();
  await expect(page.locator("#new-chat-email")).toBeFocused();
  const loaded = await splitOff();
  expect(loaded.some((u) => u.includes("/split_new_chat_dialog_"))).toBe(true);
  await page.keyboard.press("Escape");
  await expect(page.locator("#new-chat")).toHaveCount(0);
  await page.locator("#new-chat-open").click();
  await expect(page.locator("#new-chat")).toBeVisible();
  await page.locator("#new-chat-email").fill("someone@example.com");
  expect(await splitOff(), "a dialog's code is fetched once").toEqual(loaded);
});
