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
  // The browser retries a dropped stream by itself, but gives up on a refused one (a 429 when the
  // person already has too many open): then open a new one after a pause.
  var lastId = "";
  function connect() {
    // A new stream resumes after the last event this page saw, so nothing sent meanwhile is lost.
    var es = new EventSource("/api/v1/events" + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : ""));
    es.onopen = function () { if (badge) { badge.classList.add("on"); badge.textContent = "live"; } };
    es.onerror = function () {
      if (badge) { badge.classList.remove("on"); badge.textContent = "reconnecting"; }
      if (es.readyState === EventSource.CLOSED) { setTimeout(connect, 5000 + Math.random() * 5000); }
    };
    es.onmessage = function (m) { handle(m); };
    es.addEventListener("presence", showPresence);
    ["message.created", "message.status", "note.created", "conversation.created", "conversation.claimed",
     "conversation.assigned", "conversation.status", "conversation.tagged", "contact.phone_changed"].forEach(function (k) {
      es.addEventListener(k, handle);
    });
  }
  connect();

  function handle(m) {
    if (m.lastEventId) { lastId = m.lastEventId; }
    var ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (relevant(ev)) { refresh(); }
    var mine = String(ev.assignee_id) === (document.getElementById("page") || { getAttribute: function () { return ""; } }).getAttribute("data-user");
    if (ev.kind === "message.created" && ev.data && ev.data.direction === "in" && mine && soundOn()) { beep(); }
    if (ev.kind === "message.created" && ev.data && ev.data.direction === "in" && document.hidden) {
      unread += 1;
      document.title = "(" + unread + ") " + baseTitle;
    }
  }
  // Optional sound for customer messages in my conversations (off until switched on).
  function soundOn() { try { return localStorage.getItem("ti-sound") === "on"; } catch (e) { return false; } }
  function showSound() {
    var b = document.getElementById("sound");
    if (!b) { return; }
    b.hidden = false;
    b.textContent = soundOn() ? "🔔" : "🔕";
    b.setAttribute("aria-pressed", soundOn() ? "true" : "false");
  }
  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.08;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.15);
    } catch (e) { /* no sound on this device */ }
  }
  document.addEventListener("click", function (e) {
    if (!e.target || e.target.id !== "sound") { return; }
    try { localStorage.setItem("ti-sound", soundOn() ? "off" : "on"); } catch (err) { return; }
    showSound();
    if (soundOn()) { beep(); }
  });
  showSound();
  document.body.addEventListener("htmx:afterSettle", showSound);

  // Presence: who else is viewing or typing here, so two people do not work the same chat.
  var others = {};
  function showPresence(m) {
    var ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    var h = here();
    if (h.page !== "conversation" || String(ev.conversation_id) !== h.conv || !ev.data || !ev.data.user) { return; }
    var u = ev.data.user;
    if (ev.data.state === "left") { delete others[u.id]; }
    else { others[u.id] = { name: u.name, state: ev.data.state, until: Date.now() + (ev.data.state === "typing" ? 6000 : 45000) }; }
    renderPresence();
  }
  function renderPresence() {
    var el = document.getElementById("presence");
    if (!el) { return; }
    var now = Date.now();
    var words = Object.keys(others).filter(function (k) { return others[k].until > now; }).map(function (k) {
      return others[k].name + (others[k].state === "typing" ? " is typing…" : " is viewing");
    });
    el.textContent = words.join(" · ");
  }
  setInterval(renderPresence, 2000);
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }
  var lastSent = {};
  function say(state) {
    var h = here();
    if (h.page !== "conversation" || !window.fetch) { return; }
    var key = h.conv + state;
    if (lastSent[key] && Date.now() - lastSent[key] < (state === "typing" ? 4000 : 20000)) { return; }
    lastSent[key] = Date.now();
    fetch("/api/v1/conversations/" + h.conv + "/presence", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ state: state })
    }).catch(function () {});
  }
  say("viewing");
  setInterval(function () { if (!document.hidden) { say("viewing"); } }, 20000);
  var shown = here().conv;
  document.body.addEventListener("htmx:afterSettle", function () {
    if (here().conv !== shown) { shown = here().conv; others = {}; renderPresence(); }
    say("viewing");
  });
  document.addEventListener("input", function (e) { if (e.target && e.target.id === "reply") { say("typing"); } });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { unread = 0; document.title = baseTitle; }
  });
})();
