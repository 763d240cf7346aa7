// teaminbox live updates: one EventSource per page; when something the page shows changes, the
// page region is refetched (htmx swaps it in place). Without JavaScript every page still works.
(function () {
  "use strict";
  function here() {
    var p = document.getElementById("page");
    return p ? { page: p.getAttribute("data-page"), conv: p.getAttribute("data-conversation") } : {};
  }
  var badge = document.getElementById("live");
  var baseTitle = document.title;
  var unread = 0;
  var pending = null;

  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      var target = document.getElementById("live-region");
      if (!target || !window.htmx) { return; }
      // Keep what the person is typing: only the live region is replaced.
      window.htmx.ajax("GET", window.location.pathname + window.location.search,
        { target: "#live-region", select: "#live-region", swap: "outerHTML" });
    }, 120);
  }

  function relevant(ev) {
    var h = here();
    if (h.page === "inbox") { return true; }
    if (h.page === "conversation") { return String(ev.conversation_id) === h.conv; }
    return false;
  }

  // Times come from the server in UTC; show them in the phone's own zone. Snooze forms send the
  // zone offset so "until 18:00" means 18:00 here.
  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
    });
    root.querySelectorAll("[data-tz-offset]").forEach(function (i) { i.value = new Date().getTimezoneOffset(); });
  }
  localize(document);
  document.body.addEventListener("htmx:afterSettle", function (e) { localize(e.target); });

  if (!window.EventSource || !here().page) { return; }
  var es = new EventSource("/api/v1/events");
  es.onopen = function () { if (badge) { badge.classList.add("on"); badge.textContent = "live"; } };
  es.onerror = function () { if (badge) { badge.classList.remove("on"); badge.textContent = "reconnecting"; } };
  es.onmessage = function (m) { handle(m); };
  ["message.created", "message.status", "note.created", "conversation.created", "conversation.claimed",
   "conversation.assigned", "conversation.status", "conversation.tagged"].forEach(function (k) {
    es.addEventListener(k, handle);
  });

  function handle(m) {
    var ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (relevant(ev)) { refresh(); }
    if (ev.kind === "message.created" && ev.data && ev.data.direction === "in" && document.hidden) {
      unread += 1;
      document.title = "(" + unread + ") " + baseTitle;
    }
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { unread = 0; document.title = baseTitle; }
  });
})();
