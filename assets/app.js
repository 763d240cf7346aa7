// teaminbox shell: live updates, an honest connection state, notices, and refreshes that keep
// what someone is typing. One EventSource per page; when something the page shows changes, the
// page's #live-region is refetched and merged in place. Without JavaScript every page still works.
(function () {
  "use strict";
  function pageEl() { return document.getElementById("page"); }
  function here() {
    var p = pageEl();
    return p ? { page: p.getAttribute("data-page"), conv: p.getAttribute("data-conversation"), user: p.getAttribute("data-user") } : {};
  }
  var baseTitle = document.title;
  var unread = 0;

  // ---- Notices: what just happened, or that a tap did not reach the server ----------------
  function dismissable(p) {
    if (p.querySelector(".dismiss")) { return; }
    var x = document.createElement("button");
    x.type = "button"; x.className = "dismiss"; x.textContent = "×";
    x.setAttribute("aria-label", "Dismiss");
    x.addEventListener("click", function () { p.remove(); });
    p.appendChild(x);
  }
  function say(text, retry) {
    var box = document.getElementById("notice");
    if (!box) { return; }
    box.textContent = "";
    var p = document.createElement("p");
    p.className = retry ? "alert unreachable" : "flash";
    var s = document.createElement("span");
    s.textContent = text;
    p.appendChild(s);
    if (retry) {
      var b = document.createElement("button");
      b.type = "button"; b.className = "secondary retry"; b.textContent = "Retry";
      b.addEventListener("click", function () { p.remove(); retry(); });
      p.appendChild(b);
    }
    dismissable(p);
    box.appendChild(p);
  }
  function decorate() { document.querySelectorAll("#notice p.flash").forEach(dismissable); }

  // A tap or form that cannot reach the server says so, with Retry. The live refresh is left out:
  // the connection state already says the stream is down, and reconnecting refetches anyway.
  var REFRESH_HEADER = "X-Live-Refresh";
  document.addEventListener("htmx:sendError", unreachable);
  document.addEventListener("htmx:timeout", unreachable);
  document.addEventListener("htmx:responseError", unreachable);
  function unreachable(e) {
    var d = e.detail || {};
    var elt = d.elt;
    var cfg = d.requestConfig || {};
    if (!elt || (cfg.headers && cfg.headers[REFRESH_HEADER])) { return; }
    var form = elt.tagName === "FORM" ? elt : null;
    var clicked = form && window.htmx ? lastClicked(form) : null;
    var retry = function () {
      if (form && form.isConnected) { if (clicked && clicked.isConnected) { clicked.click(); } else { form.requestSubmit(); } }
      else if (elt.tagName === "A") {
        // A live update may have replaced the link meanwhile: use the one now on the page.
        var href = elt.getAttribute("href");
        var now = elt.isConnected ? elt : Array.prototype.find.call(document.querySelectorAll("a[href]"),
          function (a) { return a.getAttribute("href") === href; });
        if (now) { now.click(); } else { window.location.assign(elt.href); }
      }
      else { window.htmx.ajax(cfg.verb || "GET", cfg.path || window.location.href, { source: elt }); }
    };
    var what = form ? "Nothing was sent; what you typed is still here." : "The page did not open.";
    var status = d.xhr && d.xhr.status ? " (" + d.xhr.status + ")" : "";
    say("Could not reach the server" + status + ". " + what, retry);
  }
  var clickedIn = new WeakMap();
  document.addEventListener("click", function (e) {
    var b = e.target && e.target.closest ? e.target.closest("button[type=submit], input[type=submit]") : null;
    if (b && b.form) { clickedIn.set(b.form, b); }
  }, true);
  function lastClicked(form) { return clickedIn.get(form) || null; }

  // ---- The live region refresh: update around what someone is typing ------------------------
  // A field is "held" when it has focus or differs from what the server rendered; its form (or
  // the field itself outside a form) is kept as it is, node for node, so typed text, caret,
  // focus and open <details> survive. Everything around it takes the server's new version.
  function dirty(f) {
    if (f.type === "hidden" || f.type === "submit" || f.type === "button") { return false; }
    if (f.type === "checkbox" || f.type === "radio") { return f.checked !== f.defaultChecked; }
    if (f.tagName === "SELECT") {
      // With no option marked selected, the first one is the rendered choice.
      var rendered = Array.prototype.map.call(f.options, function (o) { return o.defaultSelected; });
      if (!f.multiple && rendered.indexOf(true) < 0 && rendered.length) { rendered[0] = true; }
      return Array.prototype.some.call(f.options, function (o, i) { return o.selected !== rendered[i]; });
    }
    return f.value !== f.defaultValue;
  }
  // A ticked box with a name and value (a list's row, a choice) or an id is not held: its tick
  // is carried into the new version (carryChecks), so a list with boxes ticked still updates.
  function carriable(f) { return (f.type === "checkbox" || f.type === "radio") && !!(f.id || f.name); }
  function heldUnits(region) {
    var units = [];
    region.querySelectorAll("input, textarea, select").forEach(function (f) {
      if (carriable(f) || (f !== document.activeElement && !dirty(f))) { return; }
      var unit = f.form && region.contains(f.form) ? f.form : f;
      if (units.indexOf(unit) < 0) { units.push(unit); }
    });
    return units;
  }
  // How a kept element is found again in the new version: its id, else a form's action and the
  // names of its visible fields (two forms may post to the same place), and its rank among those.
  function key(el) {
    if (el.id) { return "#" + el.id; }
    if (el.tagName === "FORM") {
      var names = Array.prototype.map.call(el.querySelectorAll("input:not([type=hidden]), textarea, select"),
        function (f) { return f.name; }).join(",");
      return "form " + (el.getAttribute("action") || "") + " " + names;
    }
    return el.tagName + " " + (el.getAttribute("name") || "");
  }
  function counterpart(el, oldRoot, newRoot) {
    if (el.id) { return newRoot.querySelector("#" + CSS.escape(el.id)); }
    var k = key(el);
    var olds = Array.prototype.filter.call(oldRoot.querySelectorAll(el.tagName), function (x) { return key(x) === k; });
    var news = Array.prototype.filter.call(newRoot.querySelectorAll(el.tagName), function (x) { return key(x) === k; });
    return news[olds.indexOf(el)] || null;
  }
  function summaryText(d) { var s = d.querySelector("summary"); return s ? s.textContent.trim() : ""; }
  // Pairs each kept element and its ancestors up to the region with their new counterparts;
  // null when the new version has no place for one of them.
  function pairUp(oldRoot, newRoot, units) {
    var pairs = new Map();
    pairs.set(oldRoot, newRoot);
    for (var i = 0; i < units.length; i++) {
      var o = units[i], n = counterpart(o, oldRoot, newRoot);
      if (!n) { return null; }
      var chainO = [], chainN = [];
      for (var a = o; a !== oldRoot; a = a.parentNode) { chainO.push(a); }
      for (var b = n; b !== newRoot; b = b.parentNode) { chainN.push(b); }
      if (chainO.length !== chainN.length) { return null; }
      for (var j = 0; j < chainO.length; j++) {
        if (chainO[j].tagName !== chainN[j].tagName) { return null; }
        var had = pairs.get(chainO[j]);
        if (had && had !== chainN[j]) { return null; }
        pairs.set(chainO[j], chainN[j]);
      }
    }
    return pairs;
  }
  function syncAttributes(o, n) {
    var keepOpen = o.tagName === "DETAILS" ? o.open : null;
    Array.prototype.slice.call(o.attributes).forEach(function (a) { if (!n.hasAttribute(a.name)) { o.removeAttribute(a.name); } });
    Array.prototype.slice.call(n.attributes).forEach(function (a) {
      if (o.getAttribute(a.name) !== a.value) { o.setAttribute(a.name, a.value); }
    });
    if (keepOpen !== null) { o.open = keepOpen; }
  }
  // Makes old node `o` look like `n`, keeping the kept elements (and their ancestors) in place;
  // returns the new nodes put into the page, for htmx to process.
  function merge(o, n, pairs, kept, added) {
    if (kept.indexOf(o) >= 0) { return; }
    syncAttributes(o, n);
    var back = new Map();
    pairs.forEach(function (nv, ov) { if (ov.parentNode === o) { back.set(nv, ov); } });
    var wanted = Array.prototype.map.call(n.childNodes, function (c) { return back.get(c) || c; });
    wanted.forEach(function (w) { if (back.has(pairs.get(w))) { merge(w, pairs.get(w), pairs, kept, added); } });
    Array.prototype.slice.call(o.childNodes).forEach(function (c) { if (wanted.indexOf(c) < 0) { o.removeChild(c); } });
    var cursor = o.firstChild;
    wanted.forEach(function (w) {
      if (w === cursor) { cursor = cursor.nextSibling; return; }
      o.insertBefore(w, cursor);
      if (!pairs.has(w)) { added.push(w); }
    });
  }
  // <details> the person opened or closed stay that way (matched by id, else by summary words).
  function carryOpen(oldRoot, newRoot) {
    oldRoot.querySelectorAll("details").forEach(function (d) {
      var n = d.id ? newRoot.querySelector("#" + CSS.escape(d.id)) : Array.prototype.find.call(
        newRoot.querySelectorAll("details"), function (x) { return !x.id && summaryText(x) === summaryText(d); });
      if (n) { n.open = d.open; }
    });
  }
  // Ticks differing from what the server rendered go to the same box in the new version (by id,
  // else by name and value); a box whose row is gone takes its tick with it. Returns old → new.
  function carryChecks(oldRoot, newRoot) {
    var moved = new Map();
    oldRoot.querySelectorAll("input[type=checkbox], input[type=radio]").forEach(function (f) {
      if (!carriable(f) || (!dirty(f) && f !== document.activeElement)) { return; }
      var n = f.id ? newRoot.querySelector("#" + CSS.escape(f.id)) : Array.prototype.find.call(
        newRoot.querySelectorAll("input[type=" + f.type + "]"), function (x) { return x.name === f.name && x.value === f.value; });
      if (n && n.type === f.type) { n.checked = f.checked; moved.set(f, n); }
    });
    return moved;
  }
  var deferred = false;
  function keepSwap(target, fragment) {
    var fresh = fragment.querySelector ? fragment.querySelector("#live-region") : null;
    if (!fresh) { return []; }
    var active = document.activeElement;
    var sel = null;
    try { sel = active && active.selectionStart != null ? [active.selectionStart, active.selectionEnd] : null; } catch (e) { sel = null; }
    var units = heldUnits(target);
    carryOpen(target, fresh);
    var ticks = carryChecks(target, fresh);
    var pairs = pairUp(target, fresh, units);
    if (!pairs) {
      // The new version has no place for what is being typed here: leave the region as it is
      // and say so, rather than throw the text away.
      deferred = true;
      say("This page changed while you were typing. It updates when you send or clear the form.");
      return [];
    }
    deferred = false;
    var added = [];
    merge(target, fresh, pairs, units, added);
    if (active && !active.isConnected && ticks.has(active)) { ticks.get(active).focus(); }
    else if (active && active !== document.activeElement && active.isConnected) {
      active.focus();
      if (sel) { try { active.setSelectionRange(sel[0], sel[1]); } catch (e) { /* not a text field */ } }
    }
    return added;
  }
  function defineKeep() {
    if (!window.htmx || !window.htmx.defineExtension) { return; }
    window.htmx.defineExtension("ti-keep", {
      handleSwap: function (style, target, fragment) {
        return style === "keep" ? keepSwap(target, fragment) : false;
      }
    });
  }
  defineKeep();

  var pending = null;
  function refresh() {
    if (pending) { return; }
    pending = setTimeout(function () {
      pending = null;
      var target = document.getElementById("live-region");
      if (!target || !window.htmx) { return; }
      var headers = {};
      headers[REFRESH_HEADER] = "1";
      window.htmx.ajax("GET", window.location.pathname + window.location.search,
        { target: "#live-region", select: "#live-region", swap: "keep", headers: headers });
    }, 120);
  }
  // Once what held a deferred update is sent or emptied, catch up.
  document.addEventListener("focusout", function () { if (deferred) { setTimeout(function () {
    var r = document.getElementById("live-region");
    if (r && heldUnits(r).length === 0) { refresh(); }
  }, 0); } });

  function relevant(ev) {
    var h = here();
    if (h.page === "inbox" || h.page === "now") { return true; }
    if (h.page === "conversation") { return String(ev.conversation_id) === h.conv; }
    return false;
  }

  // Times come from the server as instants (UTC); show them in the shop's zone (data-tz on
  // #page, the workspace's timezone setting), never the phone's own, so everyone reads the same
  // "14:05". A zone this browser does not know falls back to UTC, said as such.
  var clocks = {};
  function clockFormat() {
    var p = document.getElementById("page");
    var tz = (p && p.getAttribute("data-tz")) || "UTC";
    if (!clocks[tz]) {
      try {
        clocks[tz] = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz });
      } catch (e) {
        clocks[tz] = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC", timeZoneName: "short" });
      }
    }
    return clocks[tz];
  }
  function localize(root) {
    var f = clockFormat();
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.textContent = f.format(d); }
    });
  }
  localize(document);
  decorate();
  document.body.addEventListener("htmx:afterSettle", function (e) { localize(e.target); decorate(); showState(); });

  // ---- Copy a secret shown once -------------------------------------------------------------
  document.querySelectorAll("[data-copy]").forEach(function (b) { b.hidden = false; });
  document.body.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-copy]").forEach(function (b) { b.hidden = false; });
  });
  document.addEventListener("click", function (e) {
    var b = e.target && e.target.closest ? e.target.closest("[data-copy]") : null;
    if (!b) { return; }
    var src = document.getElementById(b.getAttribute("data-copy"));
    var out = document.getElementById("copy-said");
    if (!src) { return; }
    // The clipboard needs a secure context (https or localhost); on the shop's plain http the
    // text is selected instead, for the phone's own Copy.
    function selectIt() {
      var r = document.createRange(); r.selectNodeContents(src);
      var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
      if (out) { out.textContent = "Selected: use your phone's Copy."; }
      b.textContent = "Select and copy";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(src.textContent).then(function () {
        b.textContent = "Copied"; if (out) { out.textContent = "Copied to the clipboard."; }
      }, selectIt);
    } else { selectIt(); }
  });

  // ---- Connection state: live / reconnecting / offline, honest at every moment ------------
  var state = "connecting";
  var WORDS = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", offline: "offline" };
  function showState() {
    var b = document.getElementById("live");
    if (!b) { return; }
    b.hidden = false;
    if (b.getAttribute("data-state") !== state || b.textContent !== WORDS[state]) {
      b.setAttribute("data-state", state);
      b.className = "live is-" + state;
      b.textContent = WORDS[state];
    }
  }
  function setState(s) { state = s; showState(); }
  if (!window.EventSource || !here().page) { return; }
  showState();

  // The stream resumes after the newest event this page reflects: the id the server rendered
  // into #page (data-last-event), or a newer one received since. So a page that has had no event
  // yet still gets what was sent during a drop.
  var lastId = 0;
  function pageLast() {
    var p = pageEl();
    var v = p ? parseInt(p.getAttribute("data-last-event") || "0", 10) : 0;
    return v > 0 ? v : 0;
  }
  var es = null, retryTimer = null, failures = 0, opened = false;
  // A connection that died silently (the phone left the Wi-Fi) sends nothing and reports no
  // error: the server sends a `ping` event every 15 s, busy or quiet (src/realtime.rs KEEPALIVE), so a
  // live stream that heard nothing for 2.5 of those is taken for dead and opened again.
  var QUIET_MS = 15000 * 2.5, heard = Date.now();
  function hear() { heard = Date.now(); }
  setInterval(function () {
    if (es && state === "live" && Date.now() - heard > QUIET_MS) {
      failures += 1;
      setState("reconnecting");
      connect();
    }
  }, 5000);
  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (es) { es.close(); es = null; }
    lastId = Math.max(lastId, pageLast());
    var s = new EventSource("/api/v1/events" + (lastId ? "?last_event_id=" + lastId : ""));
    es = s;
    s.onopen = function () {
      if (es !== s) { return; }
      hear();
      failures = 0;
      setState("live");
      // Back after a drop: the stream replays what was missed, and the view catches up too.
      if (opened) { refresh(); }
      opened = true;
    };
    s.onerror = function () {
      if (es !== s) { return; }
      // Reconnect ourselves rather than let the browser do it: its retry resumes only after an
      // event it received, and it gives up on a refused stream (429 when too many are open).
      s.close();
      es = null;
      failures += 1;
      setState(navigator.onLine === false || failures > 3 ? "offline" : "reconnecting");
      var delay = Math.min(1000 * Math.pow(2, failures - 1), 8000) + Math.random() * 500;
      retryTimer = setTimeout(connect, delay);
    };
    s.onmessage = handle;
    s.addEventListener("ping", hear);
    s.addEventListener("presence", function (m) { hear(); showPresence(m); });
    ["message.created", "message.status", "note.created", "conversation.created", "conversation.claimed",
     "conversation.assigned", "conversation.status", "conversation.tagged", "contact.phone_changed",
     "conversation.taken_back", "user.status", "sla.warning", "sla.breached"].forEach(function (k) {
      s.addEventListener(k, handle);
    });
  }
  connect();
  // Back on the network, or back to the tab: reconnect now if the stream is down, and catch up.
  window.addEventListener("online", function () { if (state !== "live") { connect(); } refresh(); });
  window.addEventListener("offline", function () { setState("offline"); });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { return; }
    unread = 0;
    document.title = baseTitle;
    if (state !== "live") { connect(); }
    refresh();
  });
  // A boosted navigation brings a page that may reflect newer events than the stream has sent.
  document.body.addEventListener("htmx:afterSettle", function () { lastId = Math.max(lastId, pageLast()); baseTitle = document.title; });

  function handle(m) {
    hear();
    if (m.lastEventId) { lastId = Math.max(lastId, parseInt(m.lastEventId, 10) || 0); }
    var ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (relevant(ev)) { refresh(); }
    var mine = String(ev.assignee_id) === here().user;
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
    b.textContent = soundOn() ? "🔔 Sound on" : "🔕 Sound off";
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
  function tell(st) {
    var h = here();
    if (h.page !== "conversation" || !window.fetch) { return; }
    var k = h.conv + st;
    if (lastSent[k] && Date.now() - lastSent[k] < (st === "typing" ? 4000 : 20000)) { return; }
    lastSent[k] = Date.now();
    fetch("/api/v1/conversations/" + h.conv + "/presence", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ state: st })
    }).catch(function () {});
  }
  tell("viewing");
  setInterval(function () { if (!document.hidden) { tell("viewing"); } }, 20000);
  var shown = here().conv;
  document.body.addEventListener("htmx:afterSettle", function () {
    if (here().conv !== shown) { shown = here().conv; others = {}; renderPresence(); }
    tell("viewing");
  });
  document.addEventListener("input", function (e) { if (e.target && e.target.id === "reply") { tell("typing"); } });
})();
