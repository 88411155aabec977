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

  // Scroll-back with the wheel, from the newest message to the first, while
  // the page records every animation frame.
  const list = bob.page.locator("#messages");
  const box = (await list.boundingBox())!;
  await bob.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await bob.page.evaluate(() => {
    const w = window as any;
    w.__frames = [];
    let last = performance.now();
    const tick = (t: number) => {
      w.__frames.push(t - last);
      last = t;
      if (!w.__stopFrames) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const started = Date.now();
  let steps = 0;
  for (; steps < 5000; steps++) {
    await bob.page.mouse.wheel(0, -800);
    await bob.page.waitForTimeout(16);
    if (steps % 20 === 0 && (await bodies(bob.page).first().textContent()) === "message 1") {
      const top = await list.evaluate((el) => el.scrollTop);
      if (top <= 0) break;
    }
  }
  const scrollMs = Date.now() - started;
  const frames: number[] = await bob.page.evaluate(() => {
    const w = window as any;
    w.__stopFrames = true;
    return w.__frames.slice(1);
  });
  const sorted = [...frames].sort((a, b) => a - b);
  const p95 = sorted[Math.floor(sorted.length * 0.95)];
  const drawn = await bob.page.locator("#messages .message").count();
  await expect(bodies(bob.page).first()).toHaveText("message 1");
  console.log(
    `SCROLL ${COUNT} messages, newest to first with the wheel (${steps} steps of 800 px, ${(scrollMs / 1000).toFixed(1)} s): ` +
      `${frames.length} frames, longest ${sorted[sorted.length - 1].toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, ` +
      `median ${median(frames).toFixed(1)} ms, over 16.7 ms: ${frames.filter((f) => f > 16.7).length}, over 50 ms: ${frames.filter((f) => f > 50).length}; ` +
      `rows in the DOM at the top: ${drawn}`,
  );
  console.log(
    `RENDER ${COUNT} messages: open room median ${median(opens).toFixed(0)} ms (runs ${opens.map((x) => x.toFixed(0)).join(", ")}); ` +
      `append one: shown as sending median ${median(pendings).toFixed(1)} ms, stored and on screen median ${median(appends).toFixed(1)} ms (runs ${appends.map((x) => x.toFixed(1)).join(", ")})`,
  );
});
