/* Glasschat website widget: the loader a site pastes into its pages.
 *   <script src="https://chat.example.com/widget.js" data-site="KEY" async></script>
 * It draws a launcher button with an unread badge, and on the first click
 * only opens the chat panel: an iframe served by Glasschat, framed only by
 * the origins the site lists. The page and the panel talk by postMessage,
 * always to the other's exact origin, and each checks who sent what.
 *   Glasschat.identify(token)  the host's backend vouches for its user (an
 *                              HS256 token signed with the site's secret)
 *   Glasschat.logout()         that user signed out of the host site
 *   Glasschat.open() / close()
 * Calls made before this file has loaded can be queued:
 *   window.Glasschat = window.Glasschat || { q: [] };
 *   Glasschat.q.push(["identify", token]);
 * Plain JavaScript, no dependencies; kept under 5 KB gzip (make bench-widget). */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.__glasschat) return;
  window.__glasschat = true;
  var site = me.getAttribute("data-site") || "";
  var base = new URL(me.src).origin;
  var host = location.origin;
  var query = "?host=" + encodeURIComponent(host);
  var panelUrl = base + "/widget/" + encodeURIComponent(site) + query;
  var token = null, frame = null, box = null, ready = false, isOpen = false, leaving = false;
  var unread = 0, title = document.title, ours = "";

  var css =
    "#gc-launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;" +
    "border:0;background:#0ea5e9;color:#fff;font:600 24px/56px system-ui,sans-serif;cursor:pointer;box-shadow:0 6px 24px rgba(0,0,0,.35)}" +
    "#gc-launch:focus-visible{outline:3px solid #f8fafc;outline-offset:3px}" +
    "#gc-badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;" +
    "background:#e11d48;color:#fff;font:700 12px/22px system-ui,sans-serif;box-sizing:border-box}" +
    "#gc-panel{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:380px;height:600px;max-height:calc(100vh - 108px);" +
    "border-radius:16px;overflow:hidden;box-shadow:0 12px 48px rgba(0,0,0,.45);background:#0f172a}" +
    "#gc-panel iframe{width:100%;height:100%;border:0;display:block}" +
    "@media (max-width:640px){#gc-panel{inset:0;width:auto;height:auto;max-height:none;border-radius:0}}";

  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  var style = el("style", {});
  style.textContent = css;
  var launch = el("button", { id: "gc-launch", type: "button", "aria-label": "Open chat", "aria-expanded": "false" });
  launch.textContent = "\u{1F4AC}";
  var badge = el("span", { id: "gc-badge", "aria-hidden": "true" });
  badge.hidden = true;
  launch.appendChild(badge);
  var live = el("span", { "aria-live": "polite", style: "position:absolute;left:-9999px" });

  function mount() {
    document.head.appendChild(style);
    document.body.appendChild(launch);
    document.body.appendChild(live);
  }

  function post(message) {
    if (frame && ready) frame.contentWindow.postMessage(message, base);
  }

  function hello() {
    post({ glasschat: "hello", token: token, page: location.href });
  }

  function show(count) {
    unread = count > 0 ? count : 0;
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    launch.setAttribute("aria-label", unread ? "Open chat, " + unread + " unread" : "Open chat");
    live.textContent = unread ? unread + " unread chat message" + (unread > 1 ? "s" : "") : "";
    // The host tab's title carries the count, and gives it back after.
    if (document.title !== ours) title = document.title;
    ours = unread ? "(" + unread + ") " + title : title;
    document.title = ours;
  }

  function build() {
    if (box) return;
    box = el("div", { id: "gc-panel", role: "dialog", "aria-label": "Chat" });
    box.hidden = true;
    frame = el("iframe", { src: panelUrl, title: "Chat with us", allow: "clipboard-write" });
    box.appendChild(frame);
    document.body.appendChild(box);
  }

  function open() {
    build();
    box.hidden = false;
    isOpen = true;
    launch.setAttribute("aria-expanded", "true");
    post({ glasschat: "shown" });
    frame.focus();
  }

  function close() {
    if (!box) return;
    box.hidden = true;
    isOpen = false;
    launch.setAttribute("aria-expanded", "false");
    post({ glasschat: "hidden" });
    launch.focus();
  }

  launch.addEventListener("click", function () {
    if (isOpen) close();
    else open();
  });

  window.addEventListener("message", function (event) {
    // Only the panel this page framed, from Glasschat's origin.
    if (event.origin !== base || !frame || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.glasschat === "ready") {
      ready = true;
      if (leaving) post({ glasschat: "logout" });
      leaving = false;
      hello();
      post({ glasschat: isOpen ? "shown" : "hidden" });
    } else if (data.glasschat === "unread") {
      show(Number(data.count) || 0);
    } else if (data.glasschat === "close") {
      close();
    }
  });

  // Before the panel exists: the count for whoever this browser is on the
  // site (the visitor's cookie is partitioned to this site).
  function count() {
    if (frame) return;
    fetch(base + "/widget/" + encodeURIComponent(site) + "/unread" + query, { credentials: "include" })
      .then(function (r) { return r.ok ? r.json() : { unread: 0 }; })
      .then(function (r) { if (!frame) show(r.unread); })
      .catch(function () {});
  }

  var api = {
    identify: function (t) { token = String(t || ""); hello(); },
    logout: function () {
      // The panel ends the visitor's session (only it may write to
      // Glasschat); made now, hidden, if it was never opened.
      token = null;
      show(0);
      if (ready) post({ glasschat: "logout" });
      else leaving = true;
      build();
    },
    open: open,
    close: close,
  };
  var queued = (window.Glasschat && window.Glasschat.q) || [];
  window.Glasschat = api;
  for (var i = 0; i < queued.length; i++) {
    var call = queued[i];
    if (call && api[call[0]]) api[call[0]].apply(null, call.slice(1));
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
  count();
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") count();
  });
})();
