import { readFileSync } from "node:fs";
import { test, expect } from "./fixtures";
import { adminEmail, contactSupport, createDepartment, expectNoSeriousViolations, hydrated, logIn, newUser, send } from "./helpers";

// The reports page: a conversation of a department of its own (asked,
// a note, answered, resolved, rated) shows in today's figures, its
// charts, its table and its CSV; the page is accessible.

test("a department's day in the reports: started, answered, resolved, rated", async ({ browser }) => {
  const stamp = Date.now() % 1_000_000;
  const admin = await logIn(browser, adminEmail);
  const department = `Desk${stamp}`;
  await createDepartment(admin, department);
  const origin = new URL(admin.url()).origin;

  const cora = await newUser(browser, `Cora${stamp}`);
  await contactSupport(cora.page, department);
  await send(cora.page, "Where is my parcel?");

  // A note first (not a reply), then the answer, then resolved.
  await admin.locator("#tab-queue").click();
  await admin
    .locator("#support-queue button.queue-row", { has: admin.locator(".queue-member", { hasText: cora.name }) })
    .click();
  await admin.locator("#write-note").click();
  await admin.locator("#composer-input").fill("Courier says Friday");
  await admin.locator("#composer-input").press("Enter");
  await expect(admin.locator("#messages .message.note .body").last()).toHaveText("Courier says Friday");
  await admin.locator("#write-reply").click();
  await send(admin, "It arrives on Friday.");
  // A fresh load of the conversation brings its notes back, in place.
  await admin.reload();
  await hydrated(admin);
  await expect(admin.locator("#messages .message .body")).toHaveText([
    "Where is my parcel?",
    "Courier says Friday",
    "It arrives on Friday.",
  ]);
  await expect(admin.locator("#messages .message.note .body")).toHaveText(["Courier says Friday"]);
  await admin.locator("#support-resolve").click();

  // Cora is asked, and rates it 4.
  await expect(cora.page.locator("#rating")).toBeVisible();
  await cora.page.locator('#rating button[data-score="4"]').click();
  await cora.page.locator("#rating-send").click();
  await expect(cora.page.locator("#rating")).toHaveCount(0);
  await expect(cora.page.locator("#messages .message.system .body").last()).toHaveText(
    `${cora.name} rated the help 4 of 5`,
  );
  await expect(cora.page.locator("#messages .message .body", { hasText: "Courier" })).toHaveCount(0);

  // The reports, for that department.
  await admin.locator("#user-menu").click();
  await admin.locator("#reports-link").click();
  await expect(admin.locator("#report-total")).toBeVisible();
  await admin.locator("#report-department").selectOption({ label: department });
  const today = await admin.evaluate(() => {
    const d = new Date();
    const pad = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  });
  const row = admin.locator(`#report-days tr[data-date="${today}"]`);
  await expect(row.locator(".started")).toHaveText("1");
  await expect(row.locator(".resolved")).toHaveText("1");
  await expect(row.locator(".open")).toHaveText("0");
  await expect(row.locator(".ratings")).toHaveText("1");
  await expect(row.locator(".first-response")).not.toHaveText("–");
  await expect(admin.locator("#report-total")).toContainText("4.00 of 5 (1)");
  for (const chart of ["started", "first-response", "resolution", "open", "satisfaction"]) {
    await expect(admin.locator(`#chart-${chart}`)).toBeVisible();
  }
  await expect(admin.locator("#chart-started rect")).toHaveCount(30);
  await expect(admin.locator("#report-definitions")).toContainText("measured again after every reopening");
  await expectNoSeriousViolations(admin, "the reports page");

  // The CSV holds the same numbers.
  const [download] = await Promise.all([admin.waitForEvent("download"), admin.locator("#report-csv").click()]);
  const csv = readFileSync((await download.path()) ?? "", "utf8");
  const line = csv.split("\n").find((l) => l.startsWith(`${today},`)) ?? "";
  const cells = line.split(",");
  expect([cells[1], cells[2], cells[5], cells[8], cells[9], cells[10]]).toEqual(["1", "1", "1", "0", "1", "4.00"]);
  expect(csv).toMatch(/\ntotal,1,1,\d+,\d+,1,\d+,\d+,0,1,4\.00\n/);

  // A member has no reports.
  await cora.page.goto(`${origin}/reports`);
  await expect(cora.page.locator("main [role=alert]")).toHaveText("Reports are for the support team.");
});
