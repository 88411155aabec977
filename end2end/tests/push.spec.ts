import { test, expect } from "./fixtures";
import { expectNoSeriousViolations, hydrated, newUser } from "./helpers";
import type { CDPSession, Page } from "@playwright/test";

// Web Push in Chromium. Headless Chromium reaches no real push service, so
// the server side is tested against a local receiver (tests/push.rs); here
// the service worker gets pushes through the DevTools protocol
// (ServiceWorker.deliverPushMessage), as a push service would hand them to
// it, and the settings page lists, adds and removes devices.

/// A browser's push keys: P-256's generator point is a valid public key.
const deviceKey = "BGsX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWT-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";
const deviceAuth = "AAECAwQFBgcICQoLDA0ODw";

async function openSettings(page: Page) {
  await page.locator("#user-menu").click();
  await page.locator("#push-settings-link").click();
  await expect(page).toHaveURL(/\/settings#push$/);
  await hydrated(page);
}

/// What the service worker shows now: [title, body, count] of each.
async function shown(page: Page): Promise<[string, string, number][]> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const list = await registration.getNotifications();
    return list.map((n) => [n.title, n.body, (n.data && n.data.count) || 0] as [string, string, number]);
  });
}

async function deliver(cdp: CDPSession, origin: string, registrationId: string, payload: object) {
  await cdp.send("ServiceWorker.deliverPushMessage", {
    origin,
    registrationId,
    data: JSON.stringify(payload),
  });
}

/// Delivers `payload` until the notifications shown are `expected`: a push
/// service may deliver a push again, and DevTools' delivery to a busy
/// worker was seen to go missing on a loaded machine; a repeat is exactly
/// what the worker must fold, so `expected` (with its counts) holds only if
/// it does.
async function deliverUntil(
  page: Page,
  cdp: CDPSession,
  origin: string,
  registrationId: string,
  payload: object,
  expected: [string, string, number][],
) {
  const sorted = async () => (await shown(page)).sort((a, b) => a[0].localeCompare(b[0]));
  for (let attempt = 0; attempt < 3; attempt++) {
    await deliver(cdp, origin, registrationId, payload);
    try {
      await expect.poll(sorted, { timeout: 3000 }).toEqual(expected);
      return;
    } catch {
      // Not shown yet: deliver it again.
    }
  }
  expect(await sorted()).toEqual(expected);
}

test("the service worker shows one notification per conversation, folds repeats and closes on read", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const page = ada.page;
  const origin = new URL(page.url()).origin;
  await page.context().grantPermissions(["notifications"], { origin });
  await openSettings(page);

  const cdp = await page.context().newCDPSession(page);
  const registered = new Promise<string>((resolve) => {
    cdp.on("ServiceWorker.workerRegistrationUpdated", (event: any) => {
      for (const r of event.registrations) {
        if (r.scopeURL.startsWith(origin) && !r.isDeleted) resolve(r.registrationId);
      }
    });
  });
  await cdp.send("ServiceWorker.enable");
  await page.evaluate(async () => {
    await navigator.serviceWorker.register("/sw.js");
    await navigator.serviceWorker.ready;
  });
  const registrationId = await registered;

  const message = (seqs: number[], body: string) => ({
    kind: "message",
    tag: "room-7",
    title: "Bob",
    body,
    latest: "the last from Bob",
    url: `/c/7/${seqs[0]}`,
    room: 7,
    seq: seqs[seqs.length - 1],
    count: seqs.length,
    seqs,
  });
  const first = message([3], "New message from Bob");
  await deliverUntil(page, cdp, origin, registrationId, first, [["Bob", "New message from Bob", 1]]);

  // The same push again (a server that crashed after sending it): nothing
  // new is counted.
  await deliver(cdp, origin, registrationId, message([3], "New message from Bob"));
  await page.waitForTimeout(300);
  expect(await shown(page)).toEqual([["Bob", "New message from Bob", 1]]);

  // Two newer ones: still one notification for the conversation, counting three.
  const bob = ["Bob", "3 new messages · the last from Bob", 3] as [string, string, number];
  await deliverUntil(page, cdp, origin, registrationId, message([5, 6], "2 new messages · the last from Bob"), [bob]);

  // Another conversation has its own.
  const cy = { ...message([1], "New message from Cy"), tag: "room-8", room: 8, title: "Cy" };
  await deliverUntil(page, cdp, origin, registrationId, cy, [bob, ["Cy", "New message from Cy", 1]]);

  // Read on some device: the server's closing push takes it away; one for
  // an older seq than shown leaves a newer notification alone.
  await deliver(cdp, origin, registrationId, { kind: "close", tag: "room-7", room: 7, seq: 5 });
  await page.waitForTimeout(300);
  expect((await shown(page)).map((n) => n[0]).sort()).toEqual(["Bob", "Cy"]);
  await deliverUntil(page, cdp, origin, registrationId, { kind: "close", tag: "room-7", room: 7, seq: 6 }, [
    ["Cy", "New message from Cy", 1],
  ]);

  // A payload that is not ours shows nothing and breaks nothing.
  await cdp.send("ServiceWorker.deliverPushMessage", { origin, registrationId, data: "not json" });
  await page.waitForTimeout(300);
  expect((await shown(page)).length).toBe(1);
});

test("notifications on this device: the settings section lists, removes and explains", async ({ browser }) => {
  const bea = await newUser(browser, "Bea");
  const page = bea.page;
  await openSettings(page);
  await expect(page.locator("#push-title")).toHaveText("Notifications on this device");
  await expect(page.locator("#push-no-devices")).toBeVisible();
  await expect(page.locator("#push-previews")).not.toBeChecked();
  await expectNoSeriousViolations(page, "notification settings");

  // Devices the account subscribed elsewhere are listed and can be removed.
  for (const [name, label] of [["one", "Chrome on Android"], ["two", "Firefox on Windows"]]) {
    const status = await page.evaluate(
      async ([endpoint, p256dh, auth, label]) => {
        const body = new URLSearchParams({ endpoint, p256dh, auth, label });
        return (await fetch("/api/push/subscribe", { method: "POST", body })).status;
      },
      [`https://push.example.com/e2e/${bea.email}/${name}`, deviceKey, deviceAuth, label],
    );
    expect(status).toBe(200);
  }
  // A private address is refused with a reason.
  const refused = await page.evaluate(
    async ([p256dh, auth]) => {
      const body = new URLSearchParams({ endpoint: "https://192.168.1.1/push", p256dh, auth, label: "x" });
      const r = await fetch("/api/push/subscribe", { method: "POST", body });
      return [r.status, await r.text()];
    },
    [deviceKey, deviceAuth],
  );
  expect(refused[0]).toBe(422);
  expect(refused[1]).toContain("private or local address");

  await page.reload();
  await hydrated(page);
  const devices = page.locator("#push-devices li");
  await expect(devices).toHaveCount(2);
  await expect(devices.first()).toContainText("Chrome on Android");
  await expect(devices.first()).toContainText("no notification yet");
  await page.getByRole("button", { name: "Remove Chrome on Android" }).click();
  await expect(devices).toHaveCount(1);
  await expect(devices.first()).toContainText("Firefox on Windows");

  // Previews: off by default, kept when turned on.
  await page.locator("#push-previews").check();
  await page.waitForTimeout(300);
  await page.reload();
  await hydrated(page);
  await expect(page.locator("#push-previews")).toBeChecked();

  // This browser: the permission is asked only on the click. Headless
  // Chromium has no push service to subscribe with, so it answers with a
  // clear reason (a real browser turns on and shows "This device gets
  // notifications"); the page stays whole either way.
  await page.context().grantPermissions(["notifications"]);
  await page.locator("#push-on").click();
  await expect(page.locator("#push-error, #push-off").first()).toBeVisible({ timeout: 15000 });
  const error = page.locator("#push-error");
  if (await error.isVisible()) {
    await expect(error).toContainText(/push service|notification worker/);
  }
});
