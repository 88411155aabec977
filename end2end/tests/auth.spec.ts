import { test, expect } from "./fixtures";
import { hydrated, logIn, newUser, online, password, submitSignUp, uniqueEmail } from "./helpers";

// Screenshots are kept as artifacts in end2end/screenshots/.
const shots = `screenshots/${process.env.E2E_DB ?? "local"}`;

test("sign up, see the shell, log out, log in again, and a wrong password", async ({ page }) => {
  const email = uniqueEmail("ada");
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.screenshot({ path: `${shots}/auth-login.png`, fullPage: true });

  await page.getByRole("link", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/signup$/);
  await submitSignUp(page, email, "Ada Lovelace");

  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator("#me-name")).toHaveText("Ada Lovelace");
  await expect(page.locator("#me-role")).toHaveText(/Admin|Member/);
  await hydrated(page);
  await page.screenshot({ path: `${shots}/shell.png`, fullPage: true });

  await page.locator("#user-menu").click();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  // The session is gone on the server: going back to / lands on /login again.
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid email or password.");
  await expect(page).toHaveURL(/\/login$/);

  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator("#me-name")).toHaveText("Ada Lovelace");
});

test("a password change signs out the other devices, not this one", async ({ browser }) => {
  const pat = await newUser(browser, "Pat");
  const elsewhere = await logIn(browser, pat.email);
  await pat.page.locator("#user-menu").click();
  await pat.page.locator("#change-password-open").click();
  const dialog = pat.page.locator("#change-password");
  await expect(dialog.getByLabel("Current password")).toBeFocused();
  await dialog.getByLabel("Current password").fill("not the password");
  await dialog.getByLabel("New password", { exact: true }).fill("a brand new secret");
  await dialog.getByLabel("New password again").fill("a brand new secret");
  await dialog.getByRole("button", { name: "Change password" }).click();
  await expect(dialog.getByRole("alert")).toHaveText("The current password is not right.");
  await expect(elsewhere.locator("#connection")).toHaveAttribute("data-state", "online");

  await dialog.getByLabel("Current password").fill(password);
  await dialog.getByRole("button", { name: "Change password" }).click();
  await expect(dialog.getByRole("status")).toContainText("Password changed");
  // The other device's socket is closed (1008) and it goes to the login page.
  await expect(elsewhere).toHaveURL(/\/login/);
  await pat.page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await pat.page.reload();
  await hydrated(pat.page);
  await online(pat.page);
  await expect(pat.page.locator("#me-name")).toHaveText("Pat");
});

test("a taken email is reported on the sign-up form", async ({ page }) => {
  const email = uniqueEmail("dup");
  for (const attempt of [1, 2]) {
    await page.goto("/signup");
    await hydrated(page);
    await submitSignUp(page, email, "Dup");
    if (attempt === 1) {
      await expect(page.locator("#me-name")).toHaveText("Dup");
      await page.locator("#user-menu").click();
      await page.getByRole("button", { name: "Log out" }).click();
      await expect(page).toHaveURL(/\/login$/);
      // The closed socket may still send the old tab to /login: let that
      // settle before navigating on.
      await page.waitForLoadState("networkidle");
    }
  }
  await expect(page.getByRole("alert")).toContainText("already exists");
});

test("names are shown as text, never run as HTML", async ({ page }) => {
  let dialogs = 0;
  page.on("dialog", async (d) => {
    dialogs += 1;
    await d.dismiss();
  });
  const evil = `<img src=x onerror=alert(1)><script>alert(2)</script>`;
  await page.goto("/signup");
  await hydrated(page);
  await submitSignUp(page, uniqueEmail("xss"), evil);
  await expect(page.locator("#me-name")).toHaveText(evil);
  await page.reload();
  await expect(page.locator("#me-name")).toHaveText(evil);
  await hydrated(page);
  expect(dialogs).toBe(0);
  await expect(page.locator("#me-name img")).toHaveCount(0);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the forms still sign up, show errors and log out", async ({ page }) => {
    const email = uniqueEmail("nojs");
    await page.goto("/signup");
    await submitSignUp(page, email, "No Script");
    await expect(page).toHaveURL(/\/$/);
    await expect(page.locator("#me-name")).toHaveText("No Script");

    await page.locator("#user-menu").click();
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/login\?error=invalid_credentials$/);
    await expect(page.getByRole("alert")).toHaveText("Invalid email or password.");
  });
});
