import { test, expect } from "./fixtures";
import { adminEmail, expectAccessible, hydrated, logIn } from "./helpers";

/// The test's OpenID Provider (tests/oidc/provider.mjs, started by
/// scripts/test.sh): who signs in there next.
async function nextAccount(account: { sub: string; email: string; email_verified: boolean; name: string }) {
  const issuer = process.env.E2E_OIDC;
  if (!issuer) throw new Error("E2E_OIDC is not set: run the browser tests through scripts/test.sh");
  const answer = await fetch(`${issuer}/test/account`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(account),
  });
  expect(answer.status).toBe(204);
}

// "Sign in with …" on the login page goes to the organisation's provider
// and comes back signed in, with a new account named as the provider says;
// the admin page shows the provider and its settings, accessibly.
test("single sign-on from the login page, and its admin section", async ({ browser }) => {
  const tag = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await nextAccount({ sub: `e2e-${tag}`, email: `sso-${tag}@example.com`, email_verified: true, name: "Sso Person" });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/login");
  await hydrated(page);
  await expectAccessible(page, "main");
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.locator("#me-name")).toHaveText("Sso Person");

  // A callback link opened again (a replay) signs nobody in.
  const other = await browser.newContext();
  const replay = await other.newPage();
  await replay.goto("/auth/sso/callback?code=made-up&state=made-up");
  await expect(replay).toHaveURL(/\/login\?error=sso_failed/);
  await hydrated(replay);
  await expect(replay.getByRole("alert")).toHaveText("Single sign-on did not complete. Try again.");

  const admin = await logIn(browser, adminEmail);
  await admin.goto("/admin");
  await hydrated(admin);
  const section = admin.locator("#sso-section");
  await expect(section.locator("#sso-provider")).toContainText("Test IdP");
  await expectAccessible(admin, "#sso-section");
  const link = section.getByLabel("Link existing accounts by email");
  await expect(link).not.toBeChecked();
  await link.check();
  await section.getByRole("button", { name: "Save" }).click();
  await expect(section.getByRole("status")).toHaveText("Saved.");
  await expect(admin.locator("tr.audit-row").first()).toHaveAttribute("data-action", "sso.changed");
  await link.uncheck();
  await section.getByRole("button", { name: "Save" }).click();
  await expect(section.getByRole("status")).toHaveText("Saved.");
});
