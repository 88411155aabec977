import { test, expect } from "./fixtures";
import { adminEmail, hydrated, logIn, newUser, password, roomLink, send, startDirect, uniqueEmail } from "./helpers";

// Everyday clicks that once killed the app ("Tried to access a reactive
// value that has already been disposed"); the crash guard in ./fixtures
// fails these on any panic.

test("double-clicking a department in Contact support opens its conversation once", async ({ browser }) => {
  const mia = await newUser(browser, "Dora");
  await mia.page.locator("#contact-support-open").click();
  await mia.page.locator("#contact-support button.department-choice", { hasText: "Billing" }).dblclick();
  await expect(mia.page.locator("#room-title")).toHaveText("Billing");
  await expect(mia.page.locator("#contact-support")).toHaveCount(0);
  // Still alive: the dialog opens again and a message goes out.
  await mia.page.locator("#contact-support-open").click();
  await mia.page.locator("#contact-support button.department-choice", { hasText: "Technical Support" }).dblclick();
  await expect(mia.page.locator("#room-title")).toHaveText("Technical Support");
  // (No message: an unread conversation would be in other specs' queues.)
  await mia.page.locator("#composer-input").fill("Still here after two double clicks");
  await expect(mia.page.locator("#composer-input")).toHaveValue("Still here after two double clicks");
});

test("quick role changes on several rows of the admin page", async ({ browser, playwright }) => {
  const api = await playwright.request.newContext({ baseURL: test.info().project.use.baseURL });
  const emails: string[] = [];
  for (const name of ["Rosa", "Rudi", "Rhea"]) {
    const email = uniqueEmail(name);
    const reply = await api.post("/api/signup", { form: { email, display_name: name, password } });
    expect(reply.status()).toBe(200);
    emails.push(email);
  }
  await api.dispose();
  const admin = await logIn(browser, adminEmail);
  await admin.goto("/admin");
  await hydrated(admin);
  const select = (email: string) => admin.locator(`tr.user-row[data-email="${email}"] select.role-select`);
  // Without waiting between them: each change reloads the list under the next.
  for (const role of ["agent", "admin", "member", "agent"]) {
    for (const email of emails) {
      await select(email).selectOption(role);
    }
  }
  for (const email of emails) {
    await expect(select(email)).toHaveValue("agent");
  }
  // Still alive: a department can be added.
  const name = `Dept ${Date.now() % 100000}`;
  await admin.getByLabel("New department").fill(name);
  await admin.getByRole("button", { name: "Add department" }).click();
  await expect
    .poll(() => admin.locator(".department-row input").evaluateAll((all) => all.map((el) => (el as HTMLInputElement).value)))
    .toContain(name);
});

test("switching conversations faster than a frame, by clicks and by Back and Forward", async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  const cy = await newUser(browser, "Cy");
  for (const other of [bob, cy]) {
    await startDirect(ada.page, other.email);
    await expect(ada.page.locator("#room-title")).toHaveText(other.name);
    await send(ada.page, `hello ${other.name}`);
  }
  // Each switch draws a conversation and takes it down again before the
  // next frame, when what it asked of that frame (the composer measuring
  // its box) finds it gone.
  const bobLink = await roomLink(ada.page, "Bob").elementHandle();
  const cyLink = await roomLink(ada.page, "Cy").elementHandle();
  for (let i = 0; i < 10; i++) {
    await ada.page.evaluate(
      ([from, to]) =>
        new Promise<void>((done) => {
          (from as HTMLElement).click();
          setTimeout(() => {
            (to as HTMLElement).click();
            requestAnimationFrame(() => setTimeout(done, 0));
          }, 0);
        }),
      [bobLink, cyLink],
    );
    // Forward as soon as Back has arrived (a Forward asked for before
    // that is dropped by the browser).
    await ada.page.evaluate(
      () =>
        new Promise<void>((done) => {
          addEventListener(
            "popstate",
            () => {
              addEventListener("popstate", () => requestAnimationFrame(() => setTimeout(done, 0)), { once: true });
              history.forward();
            },
            { once: true },
          );
          history.back();
        }),
    );
  }
  await expect(ada.page.locator("#room-title")).toHaveText("Cy");
  await send(ada.page, "still here");
});

test("a panic shows the crash notice instead of a frozen page", async ({ browser, crashGuard }) => {
  crashGuard.allowCrashes(true);
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto("/login");
  await hydrated(page);
  const panicked = page.waitForEvent("console", (msg) => msg.text().includes("panicked at"));
  await page.evaluate(async () => {
    const script = document.querySelector<HTMLLinkElement>('link[rel="modulepreload"][href$=".js"], link[href*="/pkg/"][href$=".js"]');
    const module = await import(script!.href);
    try {
      module.selftest_panic();
    } catch {
      // The trap that follows the panic: the notice is what the user sees.
    }
  });
  await panicked;
  const notice = page.locator("#crash-notice");
  await expect(notice).toBeVisible();
  await expect(notice).toContainText("Something went wrong");
  await notice.getByRole("link", { name: "Reload" }).click();
  await hydrated(page);
  await expect(page.locator("#crash-notice")).toHaveCount(0);
});
