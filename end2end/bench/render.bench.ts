import { test, expect } from "@playwright/test";
import { bodies, flood, newUser, roomLink, startDirect } from "../tests/helpers";

const COUNT = Number(process.env.BENCH_MESSAGES ?? 10_000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test(`render a room holding ${COUNT} messages`, async ({ browser }) => {
  const ada = await newUser(browser, "Ada");
  const bob = await newUser(browser, "Bob");
  await startDirect(ada.page, bob.email);
  const room = Number(await roomLink(ada.page, "Bob").getAttribute("data-room"));
  // Bob's tab is open while they arrive, so its state holds every one.
  await flood(ada.page, room, COUNT);
  await expect(roomLink(bob.page, "Ada").locator(".preview")).toHaveText(`message ${COUNT}`);

  // A second room to switch away to.
  await bob.page.locator("#new-group-open").click();
  await bob.page.locator("#group-name").fill("Elsewhere");
  await bob.page.getByRole("button", { name: "Create group" }).click();
  await expect(bob.page.locator("#room-title")).toHaveText("Elsewhere");

  const opens: number[] = [];
  for (let round = 0; round < 5; round++) {
    const ms = await bob.page.evaluate(
      async ({ room, count }) => {
        const t0 = performance.now();
        (document.querySelector(`button.room-link[data-room="${room}"]`) as HTMLElement).click();
        await new Promise<void>((ok) => {
          // Open = the newest message on screen, with the first window drawn.
          const check = () => {
            const rows = document.querySelectorAll("#messages .message .body");
            const last = rows[rows.length - 1];
            rows.length >= 100 && last?.textContent === `message ${count}` ? ok() : requestAnimationFrame(check);
          };
          check();
        });
        return performance.now() - t0;
      },
      { room, count: COUNT },
    );
    opens.push(ms);
    await roomLink(bob.page, "Elsewhere").click();
    await expect(bob.page.locator("#room-title")).toHaveText("Elsewhere");
  }

  await roomLink(bob.page, "Ada").click();
  await expect(bodies(bob.page).last()).toHaveText(`message ${COUNT}`);
  const appends: number[] = [];
  const pendings: number[] = [];
  for (let round = 0; round < 9; round++) {
    const [ms, pending] = await bob.page.evaluate(async (round) => {
      const input = document.querySelector("#composer-input") as HTMLTextAreaElement;
      input.value = `appended ${round}`;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      const t0 = performance.now();
      input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
      // The outbox copy ("sending…") is drawn before the server answers.
      await new Promise<void>((ok) => {
        const check = () => (document.querySelector("#messages .outbox") ? ok() : setTimeout(check, 0));
        check();
      });
      const pending = performance.now() - t0;
      await new Promise<void>((ok) => {
        // On screen as a stored message (not the outbox's "sending" copy).
        const check = () => {
          const rows = document.querySelectorAll("#messages .message .body");
          rows[rows.length - 1]?.textContent === `appended ${round}` ? ok() : requestAnimationFrame(check);
        };
        check();
      });
      return [performance.now() - t0, pending];
    }, round);
    appends.push(ms);
    pendings.push(pending);
  }
  await expect(bodies(bob.page).last()).toHaveText("appended 8");
  console.log(
    `RENDER ${COUNT} messages: open room median ${median(opens).toFixed(0)} ms (runs ${opens.map((x) => x.toFixed(0)).join(", ")}); ` +
      `append one: shown as sending median ${median(pendings).toFixed(1)} ms, stored and on screen median ${median(appends).toFixed(1)} ms (runs ${appends.map((x) => x.toFixed(1)).join(", ")})`,
  );
});
