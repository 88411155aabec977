import { writeFileSync } from "fs";
import { test, expect } from "./fixtures";
import { adminEmail, bodies, createGroup, expectAccessible, hydrated, logIn, newUser, roomLink, roomMenu, send } from "./helpers";

/// The time the server's retention job takes for now (scripts/test.sh
/// starts it with GLASSCHAT_TEST_CLOCK_FILE and a pass every second);
/// empty: the real clock.
function setRetentionClock(at: number | null) {
  const file = process.env.E2E_CLOCK;
  if (!file) throw new Error("E2E_CLOCK is not set: run the browser tests through scripts/test.sh");
  writeFileSync(file, at === null ? "" : String(at));
}

const DAY = 86_400_000;

// An admin sets a conversation's retention from its ⋯ menu (the admin
// page's Retention section, the conversation filled in); when its messages
// are older than that, they leave an open pane at once, and the unread
// badge of a member who had not read them goes.
test("a conversation's retention, from its menu to the open pane", async ({ browser }) => {
  const member = await newUser(browser, "Keeper");
  const viewer = await newUser(browser, "Viewer");
  const admin = await logIn(browser, adminEmail);
  await createGroup(admin, "Short memory", [member.email, viewer.email]);
  await send(admin, "soon gone");
  await send(admin, "also soon gone");
  const room = new URL(admin.url()).pathname.split("/")[2];
  const badge = roomLink(member.page, "Short memory").locator(".unread");
  await expect(badge).toHaveText("2");
  await roomLink(viewer.page, "Short memory").click();
  await expect(bodies(viewer.page)).toHaveCount(2);

  await roomMenu(admin, "Message retention…");
  await expect(admin).toHaveURL(new RegExp(`/admin\\?room=${room}`));
  await hydrated(admin);
  await expect(admin.locator("#retention-room")).toHaveValue(room);
  await admin.locator("#retention-room-days").fill("30");
  await admin.getByRole("button", { name: "Set for this conversation" }).click();
  const row = admin.locator(`li.retention-row[data-scope="room"][data-id="${room}"]`);
  await expect(row).toContainText("Short memory");
  await expect(row).toContainText("30 days");
  await expect(admin.locator("tr.audit-row").first()).toHaveAttribute("data-action", "retention.changed");
  await expectAccessible(admin, "#retention-section");

  // 31 days later by the job's clock.
  try {
    setRetentionClock(Date.now() + 31 * DAY);
    await expect(bodies(viewer.page)).toHaveCount(0);
    await expect(badge).toHaveCount(0);
    await expect(member.page).toHaveTitle("Glasschat");
  } finally {
    setRetentionClock(null);
  }
  await admin.reload();
  await hydrated(admin);
  await expect(admin.locator("tr.audit-row").first()).toHaveAttribute("data-action", "retention.run");

  // A new message after the cut shows and counts as usual.
  await admin.goto(`/c/${room}`);
  await hydrated(admin);
  await send(admin, "a fresh start");
  await expect(bodies(viewer.page)).toHaveText(["a fresh start"]);
  await expect(badge).toHaveText("1");
});
