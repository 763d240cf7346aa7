// teaminbox conversation page: composer helpers (canned replies, WhatsApp templates).
// Canned replies: "/shortcut " in a composer becomes the saved text.
(function () {
  "use strict";
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (!t || t.tagName !== "TEXTAREA" || !t.hasAttribute("data-canned")) { return; }
    var canned;
    try { canned = JSON.parse(t.getAttribute("data-canned") || "{}"); } catch (err) { return; }
    var caret = t.selectionStart;
    var before = t.value.slice(0, caret);
    var m = /(^|\s)\/([\w-]+) $/.exec(before);
    if (!m) { return; }
    var key = Object.keys(canned).find(function (k) { return k.toLowerCase() === m[2].toLowerCase(); });
    if (key === undefined) { return; }
    var start = caret - m[2].length - 2;
    t.value = t.value.slice(0, start) + canned[key] + t.value.slice(caret);
    var pos = start + canned[key].length;
    t.setSelectionRange(pos, pos);
  });
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
