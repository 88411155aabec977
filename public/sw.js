// Glasschat's service worker: shows the pushes the server sends
// (src/server/services/push.rs) and opens the conversation on a click.
// It caches nothing: the app is served fresh, the worker only notifies.
//
// One notification per conversation (tag "room-ID"). A push carries the
// newest seq it covers; a repeat of one already shown (the server repeats
// a push only after a crash between sending and recording it) replaces
// it silently, and a newer one adds its count and alerts again.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch (_) {
    data = null;
  }
  if (!data || typeof data.tag !== "string") return;
  event.waitUntil(handle(data));
});

async function handle(data) {
  const shown = await self.registration.getNotifications({ tag: data.tag });
  if (data.kind === "close") {
    for (const n of shown) {
      if (!n.data || n.data.seq <= data.seq) n.close();
    }
    return;
  }
  const before = shown.length ? shown[0].data || {} : {};
  const repeat = typeof before.seq === "number" && before.seq >= data.seq;
  const count = repeat ? before.count : (before.count || 0) + (data.count || 1);
  const body =
    !repeat && before.seq && count > data.count
      ? `${count} new messages · ${data.body}`
      : data.body;
  await self.registration.showNotification(repeat ? before.title : data.title, {
    tag: data.tag,
    body: repeat ? before.body : body,
    icon: "/icon-192.png",
    badge: "/icon-192.png",
    renotify: !repeat,
    data: {
      url: data.url,
      room: data.room,
      seq: repeat ? before.seq : data.seq,
      count,
      title: repeat ? before.title : data.title,
      body: repeat ? before.body : body,
    },
  });
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(focusOrOpen(url));
});

// A tab of this site that is open already is focused and led to the
// conversation; otherwise a new one opens there.
async function focusOrOpen(url) {
  const target = new URL(url, self.location.origin);
  if (target.origin !== self.location.origin) return;
  const tabs = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const tab of tabs) {
    if (new URL(tab.url).origin !== target.origin) continue;
    await tab.focus();
    if ("navigate" in tab) {
      try {
        await tab.navigate(target.href);
      } catch (_) {
        // An uncontrolled tab cannot be navigated by the worker: it is focused.
      }
    }
    return;
  }
  await self.clients.openWindow(target.href);
}
