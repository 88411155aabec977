// Glasschat's service worker: shows the pushes the server sends
// (src/server/services/push.rs) and opens the conversation on a click.
// It caches nothing: the app is served fresh, the worker only notifies.
//
// One notification per conversation (tag "room-ID"). A push lists the
// seqs it covers; one that brings nothing newer than the notification
// shown (the server repeats a push only after a crash between sending it
// and recording that it did) changes nothing, and a newer one adds its
// messages to the count and alerts again. A click opens the first unread.

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
  const before = (shown.length && shown[0].data) || {};
  const lastSeq = typeof before.seq === "number" ? before.seq : 0;
  // Only messages newer than the notification shown count: a push repeated
  // after a server crash finds nothing new and alerts nobody.
  const listed = Array.isArray(data.seqs) ? data.seqs : [data.seq];
  const fresh =
    data.count > listed.length
      ? data.seq > lastSeq
        ? data.count
        : 0
      : listed.filter((seq) => seq > lastSeq).length;
  if (fresh === 0 && shown.length) return;
  const count = (before.count || 0) + fresh;
  const body = count > fresh ? `${count} new messages · ${data.latest}` : data.body;
  await self.registration.showNotification(data.title, {
    tag: data.tag,
    body,
    icon: "/icon-192.png",
    badge: "/icon-192.png",
    renotify: true,
    data: { url: before.url || data.url, room: data.room, seq: Math.max(lastSeq, data.seq), count },
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
