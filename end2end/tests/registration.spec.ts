import { test, expect } from "./fixtures";
import type { Browser } from "@playwright/test";
import { adminEmail, expectAccessible, hydrated, logIn, setRegistration, submitSignUp, uniqueEmail } from "./helpers";

/// A new browser context on `path`.
async function visitor(browser: Browser, path: string) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(path);
  await hydrated(page);
  return page;
}

test("an admin sets who may sign up, and invitation links admit one account each", async ({ browser }) => {
  const admin = await logIn(browser, adminEmail);
  try {
    await admin.goto("/admin");
    await hydrated(admin);
    await expect(admin.getByLabel("Anyone")).toBeChecked();
    await expectAccessible(admin, "#registration-section");

    // By invitation only: the sign-up page says so and shows no form.
    await admin.getByLabel("By invitation only").check();
    await admin.locator("#registration-form").getByRole("button", { name: "Save" }).click();
    await expect(admin.locator("#registration-form [role=status]")).toHaveText("Saved.");
    const stranger = await visitor(browser, "/signup");
    await expect(stranger.locator("#signup-policy")).toContainText("by invitation only");
    await expect(stranger.locator("#signup-form")).toHaveCount(0);
    await expectAccessible(stranger, "main");

    // An invitation link, shown once, admits one account.
    await admin.getByRole("button", { name: "Create link" }).click();
    const link = await admin.locator("#new-invite-link").inputValue();
    expect(link).toMatch(/\/signup\?invite=[A-Za-z0-9_-]{43}$/);
    await expect(admin.locator(".invite-link-row")).toHaveCount(1);
    await expectAccessible(admin, "#invite-links-section");
    const path = new URL(link).pathname + new URL(link).search;
    const invitee = await visitor(browser, path);
    await submitSignUp(invitee, uniqueEmail("invitee"), "Ivy Invitee");
    await expect(invitee.locator("#me-name")).toHaveText("Ivy Invitee");
    const second = await visitor(browser, path);
    await submitSignUp(second, uniqueEmail("second"), "Sam Second");
    await expect(second.getByRole("alert")).toHaveText("This invitation link has expired or was used already. Ask for a new one.");
    await admin.reload();
    await hydrated(admin);
    await expect(admin.locator(".invite-link-row")).toHaveCount(0);

    // Email domains: named on the sign-up page; another address is refused.
    await admin.getByLabel("Email domains", { exact: true }).check();
    await admin.locator("#registration-domains").fill("example.com");
    await admin.locator("#registration-form").getByRole("button", { name: "Save" }).click();
    await expect(admin.locator("#registration-form [role=status]")).toHaveText("Saved.");
    const outsider = await visitor(browser, "/signup");
    await expect(outsider.locator("#signup-policy")).toHaveText("Open to addresses at example.com.");
    await submitSignUp(outsider, `out-${Date.now()}@elsewhere.org`, "Olga Outside");
    await expect(outsider.getByRole("alert")).toContainText("open to the organisation's email addresses only");
    await submitSignUp(outsider, uniqueEmail("insider"), "Ines Inside");
    await expect(outsider.locator("#me-name")).toHaveText("Ines Inside");
  } finally {
    // The other specs sign people up freely.
    await setRegistration(admin, "open", "");
  }
});
