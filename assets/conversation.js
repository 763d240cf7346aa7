// teaminbox conversation page: drafts kept per conversation, the Reply / Note switch adapting to
// live changes of hands, the canned-reply list on "/", the Undo bar's few seconds.
(function () {
  "use strict";
  var FIELDS = ["reply", "note", "handoff-note"];
  // The conversation page's own id, else (the desktop pane beside the inbox list) the composer's.
  function conv() {
    var p = document.getElementById("page");
    var c = document.getElementById("composer");
    return (p && p.getAttribute("data-conversation")) || (c && c.getAttribute("data-conversation")) || null;
  }
  function key(field) { return "ti-draft:" + conv() + ":" + field; }
  function store(field, value) {
    if (!conv()) { return; }
    try {
      if (value && value.trim()) { localStorage.setItem(key(field), value); } else { localStorage.removeItem(key(field)); }
    } catch (e) { /* private mode: drafts live only on screen */ }
  }
  function stored(field) {
    try { return conv() ? localStorage.getItem(key(field)) : null; } catch (e) { return null; }
  }
  // Drafts: restored into empty boxes; a box the server filled (a refused text) is kept.
  function restore() {
    FIELDS.forEach(function (f) {
      var el = document.getElementById(f);
      if (!el) { return; }
      var s = stored(f);
      if (!el.value && s) { el.value = s; } else if (el.value && !el.readOnly) { store(f, el.value); }
      var box = el.value && el.closest("[hidden]");
      if (box && box.id === "composer") { box.hidden = false; }
      if (f === "handoff-note" && el.value) {
        var t = document.getElementById("transfer");
        if (t) { t.open = true; }
      }
    });
  }
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t && FIELDS.indexOf(t.id) >= 0 && !t.readOnly) { store(t.id, t.value); }
  });
  // A send succeeded when it was answered 2xx (the next page, or htmx's HX-Location); a refusal
  // comes back 4xx with the text still on screen, and the draft stays.
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail && e.detail.elt;
    var xhr = e.detail && e.detail.xhr;
    if (!form || form.tagName !== "FORM" || !xhr || xhr.status < 200 || xhr.status >= 300) { return; }
    FIELDS.forEach(function (f) { if (form.querySelector("#" + CSS.escape(f))) { store(f, ""); } });
  });

  // After a live update: who may write what now. Losing the reply keeps the text and says so.
  function adapt() {
    var can = document.getElementById("can");
    var reply = document.getElementById("reply");
    var note = document.getElementById("note");
    if (!can) { return; }
    var mayReply = can.getAttribute("data-reply") === "true";
    var mayNote = can.getAttribute("data-note") === "true";
    var typed = (reply && reply.value.trim()) || (note && note.value.trim()) || "";
    document.querySelectorAll(".reply-form button[type=submit]").forEach(function (b) { b.disabled = !mayReply; });
    document.querySelectorAll(".note-form button[type=submit]").forEach(function (b) { b.disabled = !mayNote; });
    var replyTab = document.getElementById("mode-reply");
    if (replyTab) { replyTab.disabled = !mayReply; }
    if (!mayReply && mayNote && replyTab && replyTab.checked && !(reply && reply.value.trim())) {
      document.getElementById("mode-note").checked = true;
    }
    var kept = document.getElementById("draft-kept");
    if (kept) { kept.hidden = !typed; }
    var toNote = document.getElementById("draft-to-note");
    if (toNote) { toNote.hidden = !(mayNote && !mayReply && reply && reply.value.trim()); }
  }
  document.addEventListener("click", function (e) {
    if (!e.target || e.target.id !== "draft-to-note") { return; }
    var reply = document.getElementById("reply");
    var note = document.getElementById("note");
    if (!reply || !note) { return; }
    note.value = note.value ? note.value + "\n" + reply.value : reply.value;
    reply.value = "";
    store("note", note.value);
    store("reply", "");
    var tab = document.getElementById("mode-note");
    if (tab) { tab.checked = true; }
    note.focus();
    adapt();
  });

  // The Undo bar lasts as long as the server still takes the undo.
  function undoTimer() {
    var u = document.getElementById("undo");
    if (!u || u.getAttribute("data-timer")) { return; }
    u.setAttribute("data-timer", "1");
    setTimeout(function () { if (u.parentNode) { u.parentNode.removeChild(u); } },
      Math.max(0, parseInt(u.getAttribute("data-left"), 10) || 0));
  }

  // Sheets (Transfer, Snooze, More) stay open across a live update of the region.
  var openSheets = [];
  document.addEventListener("htmx:beforeSwap", function () {
    openSheets = Array.prototype.map.call(document.querySelectorAll("#live-region details[open]"), function (d) { return d.id; });
  });
  function reopen() {
    openSheets.forEach(function (id) { var d = id && document.getElementById(id); if (d) { d.open = true; } });
    openSheets = [];
  }

  // Out of sight after a live update: this is no longer a conversation page for presence and
  // live refreshes (before app.js reacts to the settle).
  document.addEventListener("htmx:afterSwap", function () {
    var can = document.getElementById("can"), page = document.getElementById("page");
    // (A lost conversation in the desktop pane leaves the list page what it is.)
    if (can && page && can.hasAttribute("data-gone") && !can.closest("#pane")) { page.setAttribute("data-page", "lost"); }
  });

  function settle() { restore(); reopen(); adapt(); undoTimer(); }
  settle();
  if (document.body) {
    document.body.addEventListener("htmx:afterSettle", settle);
  }
})();

// Canned replies: "/" at the start or after a space opens the list, which narrows as you type
// (shortcut or text); tap or Enter inserts, Escape closes. The "/" button opens the same list.
// "/shortcut " followed by a space still expands at once.
(function () {
  "use strict";
  var active = 0, shown = [], from = -1;
  function box() { return document.getElementById("reply"); }
  function list() { return document.getElementById("canned-list"); }
  function canned(t) {
    try { return JSON.parse(t.getAttribute("data-canned") || "{}"); } catch (err) { return {}; }
  }
  function close() {
    var l = list();
    if (l) { l.hidden = true; l.textContent = ""; }
    shown = []; from = -1;
    var t = box();
    if (t) { t.removeAttribute("aria-activedescendant"); }
  }
  function open(query, start) {
    var t = box(), l = list();
    if (!t || !l) { return; }
    var all = canned(t), q = query.toLowerCase();
    shown = Object.keys(all).sort().filter(function (k) {
      return !q || k.toLowerCase().indexOf(q) >= 0 || String(all[k]).toLowerCase().indexOf(q) >= 0;
    }).map(function (k) { return { key: k, text: String(all[k]) }; });
    from = start;
    active = 0;
    l.textContent = "";
    if (!shown.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = Object.keys(all).length ? "No canned reply matches “" + query + "”" : "No canned replies yet (Settings)";
      l.appendChild(none);
    }
    shown.forEach(function (c, i) {
      var li = document.createElement("li");
      li.id = "canned-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("data-i", String(i));
      var b = document.createElement("b");
      b.textContent = "/" + c.key;
      var s = document.createElement("span");
      s.setAttribute("dir", "auto");
      s.textContent = c.text;
      li.appendChild(b);
      li.appendChild(s);
      l.appendChild(li);
    });
    l.hidden = false;
    mark();
  }
  function mark() {
    var l = list(), t = box();
    if (!l) { return; }
    Array.prototype.forEach.call(l.querySelectorAll("li[role=option]"), function (li, i) {
      li.classList.toggle("on", i === active);
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      if (i === active && t) { t.setAttribute("aria-activedescendant", li.id); }
    });
  }
  function insert(i) {
    var t = box(), c = shown[i];
    if (!t || !c) { return; }
    var caret = t.selectionStart;
    var start = from >= 0 ? from : caret;
    t.value = t.value.slice(0, start) + c.text + t.value.slice(caret);
    var pos = start + c.text.length;
    t.setSelectionRange(pos, pos);
    t.dispatchEvent(new Event("input", { bubbles: true }));
    close();
    t.focus();
  }
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (!t || t.id !== "reply" || !t.hasAttribute("data-canned")) { return; }
    var caret = t.selectionStart;
    var before = t.value.slice(0, caret);
    var done = /(^|\s)\/([\w-]+) $/.exec(before);
    if (done) {
      var all = canned(t);
      var key = Object.keys(all).find(function (k) { return k.toLowerCase() === done[2].toLowerCase(); });
      if (key !== undefined) {
        var start = caret - done[2].length - 2;
        t.value = t.value.slice(0, start) + all[key] + t.value.slice(caret);
        var pos = start + all[key].length;
        t.setSelectionRange(pos, pos);
        close();
        return;
      }
    }
    var m = /(^|\s)\/([^\s\/]*)$/.exec(before);
    if (m) { open(m[2], caret - m[2].length - 1); } else if (from >= 0) { close(); }
  });
  document.addEventListener("keydown", function (e) {
    var l = list();
    if (!e.target || e.target.id !== "reply" || !l || l.hidden) { return; }
    if (e.key === "Escape") { e.preventDefault(); close(); }
    else if (e.key === "ArrowDown" && shown.length) { e.preventDefault(); active = (active + 1) % shown.length; mark(); }
    else if (e.key === "ArrowUp" && shown.length) { e.preventDefault(); active = (active + shown.length - 1) % shown.length; mark(); }
    else if ((e.key === "Enter" || e.key === "Tab") && shown.length) { e.preventDefault(); insert(active); }
  });
  // mousedown, not click: the textarea keeps its caret.
  document.addEventListener("mousedown", function (e) {
    var li = e.target && e.target.closest && e.target.closest("#canned-list li[role=option]");
    if (li) { e.preventDefault(); insert(parseInt(li.getAttribute("data-i"), 10)); }
  });
  document.addEventListener("click", function (e) {
    if (!e.target || e.target.id !== "canned-open") { return; }
    var l = list();
    if (l && !l.hidden) { close(); return; }
    open("", -1);
    var t = box();
    if (t) { t.focus(); }
  });
  function show() { var b = document.getElementById("canned-open"); if (b) { b.hidden = false; } }
  show();
  if (document.body) { document.body.addEventListener("htmx:afterSettle", show); }
})();

// WhatsApp templates: the business account's approved templates, offered by name; picking one
// fills its language and says how many parameters it takes.
(function () {
  "use strict";
  var loaded = {};
  function setup() {
    var box = document.getElementById("templates");
    if (!box || !window.fetch) { return; }
    var channel = box.getAttribute("data-channel");
    var list = document.getElementById("tpl-list");
    var name = document.getElementById("tpl-name");
    var lang = document.getElementById("tpl-lang");
    var info = document.getElementById("tpl-info");
    function fill(items) {
      list.textContent = "";
      items.filter(function (t) { return t.status === "APPROVED"; }).forEach(function (t) {
        var o = document.createElement("option");
        o.value = t.name;
        o.textContent = t.language + " · " + t.params + " parameter(s)";
        list.appendChild(o);
      });
      if (name.getAttribute("data-bound")) { return; }
      name.setAttribute("data-bound", "1");
      name.addEventListener("change", function () {
        var t = items.find(function (x) { return x.name === name.value; });
        if (!t) { return; }
        lang.value = t.language;
        info.textContent = t.body + (t.params ? " — " + t.params + " parameter(s), one per line below" : "");
      });
    }
    if (loaded[channel]) { fill(loaded[channel]); return; }
    fetch("/api/v1/channels/" + channel + "/templates", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (j) { loaded[channel] = j.items || []; fill(loaded[channel]); })
      .catch(function () { info.textContent = "Templates could not be listed; type the name."; });
  }
  document.addEventListener("toggle", function (e) {
    if (e.target && e.target.id === "templates" && e.target.open) { setup(); }
  }, true);
  if (document.getElementById("templates") && document.getElementById("templates").open) { setup(); }
  document.body && document.body.addEventListener("htmx:afterSettle", function () {
    var b = document.getElementById("templates");
    if (b && b.open) { setup(); }
  });
})();
