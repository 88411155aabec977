import { test, expect } from "./fixtures";
import { bodies, newUser, roomLink, startDirect } from "./helpers";

// Markdown in messages, as the other person sees it live: the everyday
// elements drawn, a code block copied with its button, links only to web
// and mail addresses (checklist row 6), HTML shown as text.
test("Markdown: bold, italic, strikethrough, code, a code block with a copy button, quotes, lists and safe links", async ({
  browser,
}) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob", { permissions: ["clipboard-read", "clipboard-write"] });
  await startDirect(ada.page, bob.email);
  await roomLink(bob.page, "Ada").click();

  const text = [
    "**Deploy** is *done*, ~~maybe~~ `v1.2` is live",
    "",
    "```sh",
    "cargo leptos build --release",
    "echo <done>",
    "```",
    "",
    "> quoted line",
    "",
    "- first",
    "- second",
    "",
    "[docs](https://example.com/docs) [bad](javascript:alert(1)) [data](data:text/html,x) <b>not bold</b>",
  ].join("\n");
  await ada.page.locator("#composer-input").fill(text);
  await ada.page.locator("#composer-input").press("Enter");

  const body = bodies(bob.page).last();
  await expect(body.locator("strong")).toHaveText("Deploy");
  await expect(body.locator("em")).toHaveText("done");
  await expect(body.locator("del")).toHaveText("maybe");
  await expect(body.locator("p code")).toHaveText("v1.2");
  await expect(body.locator("pre code")).toHaveText("cargo leptos build --release\necho <done>");
  await expect(body.locator("blockquote")).toHaveText("quoted line");
  await expect(body.locator("ul li")).toHaveText(["first", "second"]);
  // One link, to the web address; the others are text.
  await expect(body.locator("a")).toHaveCount(1);
  await expect(body.locator("a")).toHaveAttribute("href", "https://example.com/docs");
  await expect(body.locator("a")).toHaveAttribute("rel", /noopener/);
  // A refused link keeps its words, as text.
  await expect(body.locator("p").last()).toHaveText("docs bad data <b>not bold</b>");
  await expect(body.locator("b, script, img")).toHaveCount(0);

  // The code block's copy button puts the code on the clipboard.
  await body.getByRole("button", { name: "Copy" }).click();
  await expect(body.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await bob.page.evaluate(() => navigator.clipboard.readText())).toBe(
    "cargo leptos build --release\necho <done>",
  );
  // A long line scrolls inside its block; the bubble keeps its width.
  await ada.page.locator("#composer-input").fill("```\n" + "x".repeat(400) + "\n```");
  await ada.page.locator("#composer-input").press("Enter");
  // The first message has a code block too: wait for the second message,
  // or the checks below may measure the first one's block.
  await expect(bodies(bob.page)).toHaveCount(2);
  const pre = bodies(bob.page).last().locator("pre");
  await expect(pre).toHaveText("x".repeat(400));
  const [scroll, client] = await pre.evaluate((el) => [el.scrollWidth, el.clientWidth]);
  expect(scroll).toBeGreaterThan(client);
  const pane = await bob.page.locator("#messages").evaluate((el) => [el.scrollWidth, el.clientWidth]);
  expect(pane[0]).toBeLessThanOrEqual(pane[1]);
});
