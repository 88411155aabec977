import { test, expect } from "./fixtures";
import type { Page } from "@playwright/test";
import { adminEmail, hydrated, logIn, newUser, send } from "./helpers";

const shots = `screenshots/${process.env.E2E_DB ?? "local"}`;

/// On the admin page: gives `email` the agent role and exactly `department`.
async function makeAgent(admin: Page, email: string, department: string) {
  const row = admin.locator(`tr.user-row[data-email="${email}"]`);
  await row.locator("select.role-select").selectOption("agent");
  const box = row.locator("label", { hasText: department }).locator("input.agent-department");
  await box.check();
  await expect(admin.locator(`tr.user-row[data-email="${email}"]`).locator("label", { hasText: department }).locator("input")).toBeChecked();
}

function queueRow(page: Page, member: string) {
  return page.locator("#support-queue button.queue-row", { has: page.locator(".queue-member", { hasText: member }) });
}

/// Text messages only (system lines left out).
function texts(page: Page) {
  return page.locator("#messages .message:not(.system) .body");
}

function systemLines(page: Page) {
  return page.locator("#messages .system");
}

test("a member contacts Billing; a Billing agent claims, replies, resolves; writing again reopens", async ({ browser }) => {
  const admin = await logIn(browser, adminEmail);
  const mia = await newUser(browser, "Mia");
  const billUser = await newUser(browser, "Bill");
  const tessUser = await newUser(browser, "Tess");

  // The admin makes Bill an agent of Billing and Tess of Technical Support.
  // A role change is live: Bill's and Tess's open pages show the new role
  // and the queue at once, with no new login.
  await admin.goto("/admin");
  await hydrated(admin);
  await makeAgent(admin, billUser.email, "Billing");
  await makeAgent(admin, tessUser.email, "Technical Support");
  const bill = { page: billUser.page };
  const tess = { page: tessUser.page };
  await expect(bill.page.locator("#me-role")).toHaveText("Agent");
  await expect(tess.page.locator("#me-role")).toHaveText("Agent");
  await expect(bill.page).not.toHaveURL(/\/login/);
  for (const agent of [bill.page, tess.page]) {
    await agent.locator("#tab-queue").click();
    await expect(agent.locator("#support-queue")).toBeVisible();
  }

  // Mia contacts Billing: her one conversation with it opens.
  await mia.page.locator("#contact-support-open").click();
  await mia.page.locator("#contact-support button.department-choice", { hasText: "Billing" }).click();
  await expect(mia.page.locator("#room-title")).toHaveText("Billing");
  await expect(mia.page.getByText("Support · Waiting for an agent")).toBeVisible();
  await send(mia.page, "I was charged twice for November");

  // Bill sees it appear live, unassigned, waiting, with its unread count;
  // Tess (Technical Support) does not.
  const row = queueRow(bill.page, "Mia");
  await expect(row.locator(".queue-handler")).toHaveText("Unassigned");
  await expect(row.locator(".queue-waiting")).toContainText("waiting");
  await expect(row.locator(".unread")).toHaveText("1");
  await expect(row.locator(".preview")).toContainText("charged twice");
  await expect(bill.page).toHaveTitle("(1) Glasschat");
  await expect(bill.page.locator("#queue-badge")).toHaveText("1");
  await expect(queueRow(tess.page, "Mia")).toHaveCount(0);
  await expect(tess.page).toHaveTitle("Glasschat");

  // Bill claims it and replies; Mia sees the claim, the reply and his name.
  await row.click();
  await expect(bill.page.locator("#room-title")).toHaveText("Mia");
  await expect(texts(bill.page).last()).toHaveText("I was charged twice for November");
  await bill.page.locator("#support-claim").click();
  await expect(systemLines(mia.page).last()).toHaveText("Bill is handling this conversation");
  await expect(mia.page.getByText("Support · Handled by Bill")).toBeVisible();
  await send(bill.page, "Sorry about that, the second charge is refunded.");
  await expect(texts(mia.page).last()).toHaveText("Sorry about that, the second charge is refunded.");
  await expect(mia.page.locator("#messages .message:not(.system)").last()).toContainText("Bill");
  await expect(queueRow(bill.page, "Mia").locator(".queue-handler")).toHaveText("You");
  await expect(queueRow(bill.page, "Mia").locator(".queue-waiting")).toHaveCount(0);
  await bill.page.screenshot({ path: `${shots}/support-agent.png` });

  // Resolved: Mia is told; writing again reopens it for both.
  await bill.page.locator("#support-resolve").click();
  await expect(systemLines(mia.page).last()).toHaveText("Bill marked the conversation resolved");
  await expect(mia.page.getByText("Support · Handled by Bill · Resolved")).toBeVisible();
  await expect(bill.page.locator("#support-reopen")).toBeVisible();
  await mia.page.locator("#composer-input").fill("It happened again today");
  await mia.page.locator("#composer-input").press("Enter");
  await expect(systemLines(mia.page).last()).toHaveText("Mia reopened the conversation");
  await expect(texts(mia.page).last()).toHaveText("It happened again today");
  await expect(bill.page.locator("#support-resolve")).toBeVisible();
  await expect(texts(bill.page).last()).toHaveText("It happened again today");
  await expect(queueRow(tess.page, "Mia")).toHaveCount(0);
  await mia.page.screenshot({ path: `${shots}/support-member.png` });

  // Contacting Billing again reopens the same conversation, not a new one.
  await mia.page.locator("#contact-support-open").click();
  await mia.page.locator("#contact-support button.department-choice", { hasText: "Billing" }).click();
  await expect(texts(mia.page).first()).toHaveText("I was charged twice for November");
});

test("the admin page is for admins only", async ({ browser }) => {
  const olaf = await newUser(browser, "Olaf");
  await expect(olaf.page.locator("#tab-queue")).toHaveCount(0);
  await olaf.page.goto("/admin");
  await expect(olaf.page.getByRole("alert")).toHaveText("Only admins can open the admin page.");
  await expect(olaf.page.locator("tr.user-row")).toHaveCount(0);
});
