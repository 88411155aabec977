import { test, expect } from "./fixtures";
import { adminEmail, expectAccessible, hydrated, logIn, newUser, password, roomLink, send, startDirect } from "./helpers";

// An admin deactivates someone on the admin page: their open tab goes to
// the login page at once, they cannot sign in, the people they talked to
// see their messages under a marked name, and the audit log says who did
// it. Reactivated, they sign in again.
test("deactivating and reactivating an account", async ({ browser }) => {
  const leaver = await newUser(browser, "Leaver");
  const stays = await newUser(browser, "Stays");
  await startDirect(stays.page, leaver.email);
  await send(stays.page, "are you leaving?");
  await roomLink(leaver.page, "Stays").click();
  await send(leaver.page, "yes, bye for now");
  await expect(stays.page.locator("#messages .message", { hasText: "yes, bye for now" })).toBeVisible();

  const admin = await logIn(browser, adminEmail);
  await admin.goto("/admin");
  await hydrated(admin);
  const row = admin.locator(`tr.user-row[data-email="${leaver.email}"]`);
  await row.getByRole("button", { name: "Deactivate" }).click();
  // It asks first, in the row; cancelling changes nothing.
  await row.getByRole("button", { name: "Cancel" }).click();
  await expect(row).toHaveAttribute("data-deactivated", "false");
  await row.getByRole("button", { name: "Deactivate" }).click();
  await row.locator("button.confirm-deactivate").click();
  await expect(row).toHaveAttribute("data-deactivated", "true");
  await expect(row).toContainText("(deactivated)");

  // Their open tab is signed out at once, and signing in is refused.
  await expect(leaver.page).toHaveURL(/\/login/);
  await hydrated(leaver.page);
  await leaver.page.getByLabel("Email").fill(leaver.email);
  await leaver.page.getByLabel("Password").fill(password);
  await leaver.page.getByRole("button", { name: "Log in" }).click();
  await expect(leaver.page.getByRole("alert")).toHaveText("This account is deactivated. Ask an admin to reactivate it.");

  // Their messages stay, under their name marked.
  await stays.page.reload();
  await hydrated(stays.page);
  await roomLink(stays.page, "Leaver (deactivated)").click();
  const kept = stays.page.locator("#messages .message", { hasText: "yes, bye for now" });
  await expect(kept.locator(".sender")).toHaveText("Leaver (deactivated)");

  // The audit log names who did it.
  const entry = admin.locator("tr.audit-row").first();
  await expect(entry).toHaveAttribute("data-action", "user.deactivated");
  await expect(entry).toContainText(leaver.email);
  await expect(entry).toContainText(adminEmail);
  await expectAccessible(admin, "#audit-section");

  await row.getByRole("button", { name: "Reactivate" }).click();
  await expect(row).toHaveAttribute("data-deactivated", "false");
  await expect(admin.locator("tr.audit-row").first()).toHaveAttribute("data-action", "user.reactivated");
  const back = await logIn(browser, leaver.email);
  await expect(back.locator("#me-name")).toHaveText("Leaver");
});

// "Download my data" in the user menu saves a JSON file with the person's
// profile and their conversations' messages; an admin's room menu exports
// the open conversation.
test("downloading my data, and an admin exporting a conversation", async ({ browser }) => {
  const ada = await newUser(browser, "Exporter");
  const admin = await logIn(browser, adminEmail);
  await startDirect(ada.page, adminEmail);
  await send(ada.page, "a line to keep");

  await ada.page.locator("#user-menu").click();
  const [download] = await Promise.all([
    ada.page.waitForEvent("download"),
    ada.page.locator("#export-link").click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^glasschat-\d+-\d+\.json$/);
  const path = await download.path();
  const data = JSON.parse(require("fs").readFileSync(path, "utf8"));
  expect(data.profile.email).toBe(ada.email);
  const bodies = data.conversations.flatMap((c: any) => c.messages.map((m: any) => m.body));
  expect(bodies).toContain("a line to keep");

  await roomLink(admin, "Exporter").click();
  await admin.locator("#room-menu").click();
  const [roomFile] = await Promise.all([
    admin.waitForEvent("download"),
    admin.getByRole("menuitem", { name: "Export conversation (JSON)" }).click(),
  ]);
  const room = JSON.parse(require("fs").readFileSync(await roomFile.path(), "utf8"));
  expect(room.messages.map((m: any) => m.body)).toContain("a line to keep");
});
