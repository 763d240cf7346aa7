// teaminbox lists: the active tab scrolled into view, and at desktop width (>= 1024 px) a
// conversation opened in the pane beside the list (?open=<id> in the address, so a reload keeps
// it). Without JavaScript, or on a phone, links open the conversation page as usual.
(function () {
  "use strict";
  var wide = window.matchMedia ? window.matchMedia("(min-width: 1024px)") : { matches: false };

  function showActiveTab() {
    var on = document.querySelector("nav.tabs a.on");
    if (!on) { return; }
    var bar = on.parentNode;
    // Scroll the tab bar only (scrollIntoView would also move the page).
    bar.scrollLeft = on.offsetLeft - (bar.clientWidth - on.offsetWidth) / 2;
  }

  function pane() { return document.getElementById("pane"); }

  // A pane holding a focused or non-empty field is never replaced under the person's fingers.
  function busy(p) {
    if (p.contains(document.activeElement) && document.activeElement !== p) { return true; }
    return Array.prototype.some.call(p.querySelectorAll("textarea, input[type=text]"), function (f) { return f.value !== ""; });
  }

  function mark(id) {
    document.querySelectorAll("ul.queue li.open").forEach(function (li) { li.classList.remove("open"); });
    var a = document.querySelector('ul.queue a[data-open="' + id + '"]');
    if (a) { a.parentNode.classList.add("open"); }
  }

  function open(id, push) {
    var p = pane();
    if (!p || !window.htmx) { return false; }
    p.setAttribute("data-open", id);
    window.htmx.ajax("GET", "/c/" + id, { target: "#pane", select: "main", swap: "innerHTML" });
    mark(id);
    if (push) {
      var u = new URL(window.location.href);
      u.searchParams.set("open", id);
      window.history.pushState({ open: id }, "", u.pathname + u.search);
    }
    return true;
  }

  document.addEventListener("click", function (e) {
    if (!wide.matches || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) { return; }
    var a = e.target.closest ? e.target.closest("ul.queue a[data-open]") : null;
    if (!a || !pane()) { return; }
    if (open(a.getAttribute("data-open"), true)) {
      // Before htmx's boost sees it: the list stays, the pane changes.
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);

  function start() {
    showActiveTab();
    var p = pane();
    if (p && wide.matches && p.getAttribute("data-open")) { open(p.getAttribute("data-open"), false); }
  }
  start();
  // A window widened past 1024 px (a rotated tablet, a resized desktop window) opens the pane.
  if (wide.addEventListener) { wide.addEventListener("change", function () { if (wide.matches) { start(); } }); }
  // The conversation brought into the pane is a whole page's <main>: its own live region must
  // not be a second #live-region beside the list's (the shell refreshes the list's; the pane is
  // reopened after it). Renamed as it lands, before anything looks it up.
  document.body.addEventListener("htmx:afterSwap", function (e) {
    var p = pane();
    if (!p || e.target !== p) { return; }
    p.querySelectorAll("#live-region").forEach(function (r) { r.id = "pane-region"; });
  });
  document.body.addEventListener("htmx:afterSettle", function (e) {
    var p = pane();
    if (!e.target || !p) { return; }
    if (e.target.id === "live-region") {
      showActiveTab();
      // The list was refreshed by a live update: the open conversation may have changed too.
      var id = p.getAttribute("data-open");
      if (id && wide.matches && !busy(p)) { open(id, false); } else if (id) { mark(id); }
    } else if (e.target.tagName === "BODY") {
      start();
    }
  });
})();
