import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";
import { adminEmail, createGroup, expectAccessible, hydrated, logIn, newUser, roomLink } from "./helpers";

/// A PNG drawn in the page (a stand-in for a screenshot), as a File.
async function pngFile(page: Page, name: string, width: number, height: number, colour: string) {
  return page.evaluateHandle(
    async ({ name, width, height, colour }) => {
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const g = canvas.getContext("2d")!;
      g.fillStyle = colour;
      g.fillRect(0, 0, width, height);
      g.fillStyle = "#fff";
      g.fillRect(width / 4, height / 4, width / 2, height / 2);
      const blob: Blob = await new Promise((done) => canvas.toBlob((b) => done(b!), "image/png"));
      return new File([blob], name, { type: "image/png" });
    },
    { name, width, height, colour },
  );
}

/// Pastes `files` into the composer as the browser does for a screenshot
/// on the clipboard (a paste event whose clipboard data holds files).
async function paste(page: Page, files: Awaited<ReturnType<typeof pngFile>>[]) {
  await page.locator("#composer-input").focus();
  await page.evaluate((files) => {
    const data = new DataTransfer();
    for (const f of files) data.items.add(f);
    const input = document.querySelector("#composer-input")!;
    input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, files);
}

/// Drops a file of `bytes` named `name` on the conversation.
async function drop(page: Page, name: string, type: string, bytes: number, head = "") {
  const data = await page.evaluateHandle(
    ({ name, type, bytes, head }) => {
      const body = new Uint8Array(bytes);
      body.set(new TextEncoder().encode(head));
      const transfer = new DataTransfer();
      transfer.items.add(new File([body], name, { type }));
      return transfer;
    },
    { name, type, bytes, head },
  );
  await page.locator("#messages").dispatchEvent("dragover", { dataTransfer: data });
  await page.locator("#messages").dispatchEvent("drop", { dataTransfer: data });
}

async function makeAgent(admin: Page, email: string, department: string) {
  const row = admin.locator(`tr.user-row[data-email="${email}"]`);
  await row.locator("select.role-select").selectOption("agent");
  await row.locator("label", { hasText: department }).locator("input.agent-department").check();
  await expect(row.locator("label", { hasText: department }).locator("input")).toBeChecked();
}

// A customer pastes two screenshots into a support conversation; the agent
// sees them as thumbnails and pages through them in the viewer by keyboard.
test("files: pasted screenshots reach the agent, viewer with the keyboard", async ({ browser }) => {
  const admin = await logIn(browser, adminEmail);
  const mia = await newUser(browser, "Nell");
  const bill = await newUser(browser, "Otto");
  await admin.goto("/admin");
  await hydrated(admin);
  await makeAgent(admin, bill.email, "Billing");

  await mia.page.locator("#contact-support-open").click();
  await mia.page.locator("#contact-support button.department-choice", { hasText: "Billing" }).click();
  await expect(mia.page.locator("#room-title")).toHaveText("Billing");

  const first = await pngFile(mia.page, "", 1600, 900, "#c0392b");
  const second = await pngFile(mia.page, "error.png", 600, 800, "#2471a3");
  await paste(mia.page, [first, second]);
  const pending = mia.page.locator("#attachments .pending-file");
  await expect(pending).toHaveCount(2);
  await expect(pending.first()).toContainText("pasted image.png");
  await expect(mia.page.locator('#attachments .pending-file[data-state="ready"]')).toHaveCount(2);
  await mia.page.locator("#composer-input").fill("The payment page shows this");
  await mia.page.locator("#composer-input").press("Enter");
  await expect(mia.page.locator("#attachments")).toHaveCount(0);
  const mine = mia.page.locator("#messages .message", { hasText: "The payment page shows this" });
  await expect(mine.locator(".file-thumb img")).toHaveCount(2);

  // The agent: thumbnails made by the server, sized before they load.
  await bill.page.locator("#tab-queue").click();
  await bill.page.locator("#support-queue button.queue-row", { hasText: "Nell" }).click();
  const theirs = bill.page.locator("#messages .message", { hasText: "The payment page shows this" });
  const thumbs = theirs.locator(".file-thumb img");
  await expect(thumbs).toHaveCount(2);
  await expect(thumbs.first()).toHaveAttribute("width", "240");
  await expect(thumbs.first()).toHaveAttribute("height", "135");
  await expect.poll(() => thumbs.first().evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(480);

  // The viewer: Enter on a thumbnail, → to the next, Esc back to the thumbnail.
  await theirs.locator(".file-thumb").first().focus();
  await bill.page.keyboard.press("Enter");
  const viewer = bill.page.locator("#viewer");
  await expect(viewer).toBeVisible();
  await expect(viewer).toContainText("pasted image.png");
  await expect(viewer).toContainText("1 of 2");
  await expect(bill.page.locator("#viewer-close")).toBeFocused();
  await expectAccessible(bill.page, "#viewer");
  await expect.poll(() => viewer.locator("img").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1600);
  await bill.page.keyboard.press("ArrowRight");
  await expect(viewer).toContainText("error.png");
  await expect(viewer).toContainText("2 of 2");
  await bill.page.keyboard.press("ArrowRight");
  await expect(viewer).toContainText("1 of 2");
  await bill.page.keyboard.press("Escape");
  await expect(viewer).toHaveCount(0);
  await expect(theirs.locator(".file-thumb").first()).toBeFocused();

  // The agent takes the conversation, so it waits in no one else's queue
  // (other specs count Billing's unassigned ones).
  const room = new URL(bill.page.url()).pathname.split("/")[2];
  const claimed = await bill.page.evaluate(
    (room) =>
      fetch("/api/support/claim", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `room=${room}`,
      }).then((r) => r.status),
    room,
  );
  expect(claimed).toBe(200);
});

// A PDF dropped on a group: a card with its name, size and a download for
// the others; a removed member's open tab can no longer load it.
test("files: a dropped PDF, a card and a download; a removed member loses it", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await createGroup(ada.page, "Contracts", [bob.email]);
  await drop(ada.page, "Contract 2026.pdf", "application/pdf", 150_000, "%PDF-1.7\n");
  await expect(ada.page.locator('#attachments .pending-file[data-state="ready"]')).toHaveCount(1);
  await ada.page.locator("#composer-input").press("Enter");

  await roomLink(bob.page, "Contracts").click();
  const card = bob.page.locator("#messages .file-card");
  await expect(card).toHaveCount(1);
  await expect(card).toContainText("Contract 2026.pdf");
  await expect(card).toContainText("150 KB");
  const href = await card.locator("a.download").getAttribute("href");
  expect(href).toMatch(/^\/files\/\d+$/);
  const download = bob.page.waitForEvent("download");
  await card.locator("a.download").click();
  expect((await download).suggestedFilename()).toBe("Contract 2026.pdf");
  expect(await bob.page.evaluate((h) => fetch(h!).then((r) => r.status), href)).toBe(200);

  // Ada removes Bob: his open tab gets nothing more.
  await ada.page.locator("#members-toggle").click();
  await ada.page.getByRole("button", { name: "Remove Bob" }).click();
  await expect.poll(() => bob.page.evaluate((h) => fetch(h!).then((r) => r.status), href)).toBe(404);
});

// Progress while a big file goes up on a slow link, cancel; a file over
// the limit is refused before a byte is sent, and says why.
test("files: progress, cancel, and a file over the limit", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  await createGroup(ada.page, "Uploads");
  const cdp = await ada.page.context().newCDPSession(ada.page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 20,
    downloadThroughput: -1,
    uploadThroughput: 2_000_000,
  });
  await drop(ada.page, "backup.zip", "application/zip", 20_000_000, "PK\u0003\u0004");
  const row = ada.page.locator("#attachments .pending-file");
  await expect(row).toHaveAttribute("data-state", "uploading");
  const bar = row.locator('[role="progressbar"]');
  await expect(bar).toBeVisible();
  await expect.poll(async () => Number(await bar.getAttribute("aria-valuenow")), { timeout: 15_000 }).toBeGreaterThan(0);
  await expect(row.locator(".status")).toContainText("of 20 MB");
  await expectAccessible(ada.page, "#composer");
  // Enter while it uploads: nothing is sent, and the composer says why.
  await ada.page.locator("#composer-input").fill("here is the backup");
  await ada.page.locator("#composer-input").press("Enter");
  await expect(ada.page.locator("#notice")).toContainText("Wait until the files are uploaded");
  await row.getByRole("button", { name: "Remove backup.zip" }).click();
  await expect(row).toHaveCount(0);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  await drop(ada.page, "movie.mkv", "video/x-matroska", 26_000_000);
  const refused = ada.page.locator('#attachments .pending-file[data-state="failed"]');
  await expect(refused).toContainText("movie.mkv is larger than 25 MB, the most a file may be.");
  await expect(refused.getByRole("button", { name: /Retry/ })).toHaveCount(0);
  await expectAccessible(ada.page, "#composer");
  await refused.getByRole("button", { name: "Remove movie.mkv" }).click();
  await ada.page.locator("#composer-input").press("Enter");
  await expect(ada.page.locator("#messages .message", { hasText: "here is the backup" })).toHaveCount(1);
  await expect(ada.page.locator("#messages .file-card")).toHaveCount(0);
});
