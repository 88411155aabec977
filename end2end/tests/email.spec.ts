import { test, expect } from "./fixtures";
import { expectNoSeriousViolations, hydrated, newUser, online, readMail, secondTab } from "./helpers";

// Email (the test script runs a real SMTP server): "Forgot password?" end
// to end, and the email settings and unsubscribe pages.

const newPassword = "purple elephants dance quietly";

test("a forgotten password is reset through the emailed link; other sessions end", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const otherTab = await secondTab(ada);
  await online(otherTab);

  const page = await (await browser.newContext()).newPage();
  await page.goto("/login");
  await hydrated(page);
  await page.locator("#forgot-link").click();
  await expect(page).toHaveURL(/\/forgot$/);
  await hydrated(page);
  await expectNoSeriousViolations(page, "forgot password page");
  await page.getByLabel("Email").fill(ada.email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.locator("#forgot-sent")).toContainText("on its way");

  const mail = await readMail(ada.email);
  const link = mail.split(/\s+/).find((w) => w.includes("/reset?token="));
  expect(link, mail).toBeTruthy();
  await page.goto(link!);
  await hydrated(page);
  await expectNoSeriousViolations(page, "reset page");
  await page.getByLabel("New password").fill(newPassword);
  await page.getByRole("button", { name: "Set the new password" }).click();
  // Signed in here, with the new password.
  await expect(page.locator("#me-name")).toHaveText("Ada");
  await online(page);
  // Every other session ended: its tabs go to the login page.
  await expect(ada.page).toHaveURL(/\/login/);
  await expect(otherTab).toHaveURL(/\/login/);

  // The link worked once.
  const again = await (await browser.newContext()).newPage();
  await again.goto(link!);
  await hydrated(again);
  await again.getByLabel("New password").fill("yet another long passphrase");
  await again.getByRole("button", { name: "Set the new password" }).click();
  await expect(again.locator("#form-error")).toContainText("not valid any more");

  // The old password no longer opens the account; the new one does.
  const login = await (await browser.newContext()).newPage();
  await login.goto("/login");
  await hydrated(login);
  await login.getByLabel("Email").fill(ada.email);
  await login.getByLabel("Password").fill("correct horse battery");
  await login.getByRole("button", { name: "Log in" }).click();
  await expect(login.locator("#form-error")).toBeVisible();
  await login.getByLabel("Password").fill(newPassword);
  await login.getByRole("button", { name: "Log in" }).click();
  await expect(login.locator("#me-name")).toHaveText("Ada");
});

test("email settings from the user menu, and an unsubscribe link that is not valid", async ({ browser }) => {
  const bea = await newUser(browser, "Bea");
  await bea.page.locator("#user-menu").click();
  await bea.page.locator("#settings-link").click();
  await expect(bea.page).toHaveURL(/\/settings#email$/);
  await hydrated(bea.page);
  await expect(bea.page.locator("#email-delay-60")).toBeChecked();
  await expectNoSeriousViolations(bea.page, "email settings");
  await bea.page.locator("#email-delay-15").check();
  await bea.page.getByRole("button", { name: "Save" }).click();
  await expect(bea.page.locator("#email-saved")).toBeVisible();
  await bea.page.reload();
  await hydrated(bea.page);
  await expect(bea.page.locator("#email-delay-15")).toBeChecked();

  const page = await (await browser.newContext()).newPage();
  await page.goto("/unsubscribe?token=AAAAAAAAAAEnotasignature");
  await hydrated(page);
  await expectNoSeriousViolations(page, "unsubscribe page");
  await page.getByRole("button", { name: "Stop these emails" }).click();
  await expect(page).toHaveURL(/error=bad_link/);
  await expect(page.locator("#form-error")).toContainText("not valid");
});
