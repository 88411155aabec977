import { test, expect } from "./fixtures";
import { adminEmail, contactSupport, createDepartment, expectNoSeriousViolations, logIn, newUser, send } from "./helpers";

// Canned replies: staff of a department write them in the conversation's
// "Canned replies" dialog and pick one with `/` at the start of the
// composer; `{name}` and `{agent}` are filled in.

test("an agent answers with a canned reply picked by typing /", async ({ browser }) => {
  const stamp = Date.now() % 1_000_000;
  // A department of its own: the support spec counts what Billing's and
  // Technical Support's agents have unread.
  const admin = await logIn(browser, adminEmail);
  const department = `Refunds ${stamp}`;
  await createDepartment(admin, department);

  const cora = await newUser(browser, `Cora${stamp}`);
  await contactSupport(cora.page, department);
  await send(cora.page, "Where is my refund?");

  // The admin (staff of every department) opens it from the queue.
  await admin.locator("#tab-queue").click();
  await admin
    .locator("#support-queue button.queue-row", { has: admin.locator(".queue-member", { hasText: cora.name }) })
    .click();
  await expect(admin.locator("#room-title")).toHaveText(cora.name);

  // Writes one in the dialog.
  await admin.locator("#canned-open").click();
  await expect(admin.locator("#canned-dialog")).toBeVisible();
  await admin.locator("#canned-title").fill(`Refund ${stamp}`);
  await admin.locator("#canned-body").fill("Hi {name}, your refund is on its way. {agent}");
  await admin.locator("#canned-save").click();
  await expect(admin.locator("#canned-dialog .canned-row", { hasText: `Refund ${stamp}` })).toBeVisible();
  await expectNoSeriousViolations(admin, "canned replies dialog");
  await admin.keyboard.press("Escape");
  await expect(admin.locator("#canned-dialog")).toHaveCount(0);

  // `/` opens the list here (not search), typing narrows it, Enter picks.
  const box = admin.locator("#composer-input");
  await box.click();
  await box.pressSequentially(`/refund ${stamp}`);
  await expect(admin.locator("#canned-list .canned-option")).toHaveCount(1);
  await expect(admin.locator("#canned-list .canned-option")).toContainText(`Refund ${stamp}`);
  await expect(admin.locator("#search-panel")).toHaveCount(0);
  await expectNoSeriousViolations(admin, "canned replies list");
  await box.press("Enter");
  await expect(box).toHaveValue(`Hi ${cora.name}, your refund is on its way. Root`);
  await expect(admin.locator("#canned-list")).toHaveCount(0);
  await box.press("Enter");
  await expect(cora.page.locator("#messages .message .body").last()).toHaveText(`Hi ${cora.name}, your refund is on its way. Root`);

  // Esc closes the list and keeps what was typed.
  await box.pressSequentially("/nothing like it");
  await expect(admin.locator("#canned-list")).toContainText("No canned reply matches");
  await box.press("Escape");
  await expect(admin.locator("#canned-list")).toHaveCount(0);
  await expect(box).toHaveValue("/nothing like it");

  // The customer has no canned replies: `/` in an empty box is search.
  await cora.page.locator("#composer-input").click();
  await cora.page.keyboard.press("/");
  await expect(cora.page.locator("#search-panel")).toBeVisible();
});
