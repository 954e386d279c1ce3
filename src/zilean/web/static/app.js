// Groovy Zilean dashboard: what htmx does not do. Loaded with `defer` after htmx; no inline script
// anywhere (the CSP forbids it). Everything here is progressive: without JavaScript the same forms
// post and redirect back.
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // --- CSRF: htmx requests carry the token as a header (forms also carry it as a field) ----------
  document.addEventListener("htmx:configRequest", function (e) {
    if (csrf) e.detail.headers["X-CSRF-Token"] = csrf;
  });

  // --- toasts ------------------------------------------------------------------------------------
  var toastBox = document.getElementById("toasts");
  function toast(message, kind) {
    if (!toastBox || !message) return;
    var el = document.createElement("div");
    el.className = "toast" + (kind === "error" ? " error" : "");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.textContent = message;
    toastBox.appendChild(el);
    while (toastBox.children.length > 3) toastBox.removeChild(toastBox.firstChild);
    setTimeout(function () { if (el.parentNode) el.parentNode.removeChild(el); }, kind === "error" ? 7000 : 4000);
  }
  window.zileanToast = toast;
  // The server names the toast in an HX-Trigger header: {"toast": {"message": "...", "kind": "ok"}}.
  document.body.addEventListener("toast", function (e) {
    var d = e.detail || {};
    toast(d.message || d.value, d.kind);
  });
  function hasToastHeader(xhr) {
    var h = xhr && xhr.getResponseHeader("HX-Trigger");
    return !!(h && h.indexOf('"toast"') >= 0);
  }
  // An error without our header (a 403 from the CSRF check, a 429 from the limiter): show its text.
  document.body.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (hasToastHeader(xhr)) return;
    var text = xhr.responseText || "";
    try {
      var body = JSON.parse(text);
      text = body.error || body.detail || body.message || text;
      if (typeof text !== "string") text = JSON.stringify(text);
    } catch (_) { /* plain text or HTML */ }
    if (/^\s*</.test(text)) text = "";
    if (xhr.status === 429) {
      var wait = xhr.getResponseHeader("Retry-After");
      text = (text || "Too many requests.") + (wait ? " Try again in " + wait + " s." : "");
    }
    toast(text || "Error " + xhr.status, "error");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("The dashboard could not be reached. Check your connection.", "error");
  });

  // --- live connection state -------------------------------------------------------------------
  function liveState(text) {
    var el = document.getElementById("live-state");
    if (el) el.textContent = text;
  }
  document.body.addEventListener("htmx:sseOpen", function () { liveState("Live"); });
  document.body.addEventListener("htmx:sseError", function () { liveState("Reconnecting…"); });

  // --- progress bar: advances here from the position anchor (no request per second) ------------
  // The server renders data-position-ms (the position when it rendered), data-paused and
  // data-duration-ms; we count from the moment the element first appears in this page.
  var seen = new WeakMap();
  function fmt(ms) {
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }
  function tick() {
    var now = performance.now();
    var bars = document.querySelectorAll("[data-progress]");
    var playing = null; // the now-playing position, for the lyrics
    for (var i = 0; i < bars.length; i++) {
      var bar = bars[i];
      if (!seen.has(bar)) seen.set(bar, now);
      var pos = Number(bar.dataset.positionMs) || 0;
      var dur = Number(bar.dataset.durationMs) || 0;
      if (bar.dataset.paused !== "true") pos += now - seen.get(bar);
      if (dur) pos = Math.min(pos, dur);
      if (playing === null) playing = pos;
      var input = bar.querySelector("input[type=range]");
      if (input && !input.dataset.dragging) {
        input.value = String(Math.round(pos / 1000));
        fill(input);
        input.setAttribute("aria-valuetext", fmt(pos) + (dur ? " of " + fmt(dur) : ""));
      }
      var elapsed = bar.querySelector("[data-elapsed]");
      if (elapsed) elapsed.textContent = fmt(input && input.dataset.dragging ? input.value * 1000 : pos);
    }
    if (playing !== null) singAlong(playing);
  }
  // Synced lyrics (partials/lyrics.html): the line whose data-ms has passed last is the one sung.
  function singAlong(pos) {
    var list = document.querySelector("[data-lyrics-synced]");
    if (!list) return;
    var lines = list.querySelectorAll("li[data-ms]"), current = null;
    for (var i = 0; i < lines.length && Number(lines[i].dataset.ms) <= pos; i++) current = lines[i];
    var old = list.querySelector("li.current");
    if (old === current) return;
    if (old) { old.classList.remove("current"); old.removeAttribute("aria-current"); }
    if (!current) return;
    current.classList.add("current");
    current.setAttribute("aria-current", "true");
    list.scrollTop = current.offsetTop - list.clientHeight / 3; // the list is the offset parent
  }
  // The played part of a slider's track (Chromium has no ::-moz-range-progress): a CSS variable,
  // set through the CSSOM, which the CSP allows (it forbids only style attributes in the HTML).
  function fill(input) {
    var max = Number(input.max) || 0;
    input.style.setProperty("--fill", (max ? (100 * (Number(input.value) - Number(input.min || 0))) / max : 0) + "%");
  }
  function fillAll() {
    var sliders = document.querySelectorAll("input[type=range]");
    for (var i = 0; i < sliders.length; i++) fill(sliders[i]);
  }
  setInterval(tick, 250);
  document.addEventListener("DOMContentLoaded", function () { tick(); fillAll(); });
  document.body.addEventListener("htmx:afterSwap", fillAll);

  // While the user drags the seek bar the ticker leaves it alone; `change` (release) submits it.
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.matches && t.matches("input[type=range]")) fill(t);
    if (t.matches && t.matches("[data-seek]")) t.dataset.dragging = "1";
    if (t.matches && t.matches("[data-volume]")) {
      var out = document.getElementById(t.getAttribute("aria-controls") || "");
      if (out) out.textContent = t.value + " %";
    }
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("[data-seek]")) delete t.dataset.dragging;
  });
  // The no-JS submit buttons next to sliders are not needed when htmx submits on change.
  document.documentElement.classList.add("js");

  // --- drag to reorder the queue (pointer events: mouse, pen and touch alike) -------------------
  // Keyboard users have the move up/down buttons on each row; this is the pointer path.
  var drag = null;
  document.addEventListener("pointerdown", function (e) {
    var handle = e.target.closest && e.target.closest(".qe .handle");
    if (!handle || e.button !== 0) return;
    var item = handle.closest(".qe");
    e.preventDefault();
    handle.setPointerCapture(e.pointerId);
    drag = { item: item, list: item.parentNode, handle: handle, from: rowIndex(item), moved: false };
    item.classList.add("dragging");
  });
  document.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var under = document.elementFromPoint(e.clientX, e.clientY);
    var over = under && under.closest && under.closest(".qe");
    if (!over || over === drag.item || over.parentNode !== drag.list) return;
    var box = over.getBoundingClientRect();
    var after = e.clientY > box.top + box.height / 2;
    drag.list.insertBefore(drag.item, after ? over.nextSibling : over);
    drag.moved = true;
  });
  function endDrag(cancelled) {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.item.classList.remove("dragging");
    var to = rowIndex(d.item);
    if (cancelled || !d.moved || to === d.from) {
      if (heldQueue !== null) htmx.swap(document.getElementById("queue"), heldQueue, { swapStyle: "innerHTML" });
      heldQueue = null;
      return;
    }
    heldQueue = null; // the move's own update follows
    renumber(d.list);
    var values = { entry_id: d.item.dataset.entryId, to: String(to + 1), csrf_token: csrf };
    htmx.ajax("POST", d.list.dataset.moveUrl, { source: d.item, values: values, swap: "none" }).then(function () {
      // Refused (toast shown): put the rows back as the server has them.
      if (d.item.isConnected && d.item.failedMove) htmx.ajax("GET", d.list.dataset.rowsUrl, { target: d.list, swap: "innerHTML" });
    });
  }
  // A live queue update during a drag would pull the row from under the pointer: hold it until the drop.
  var heldQueue = null;
  document.body.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (drag && e.target.id === "queue") {
      heldQueue = e.detail.data;
      e.preventDefault();
    }
  });
  document.body.addEventListener("htmx:responseError", function (e) {
    var src = e.detail.elt;
    if (src && src.classList && src.classList.contains("qe")) src.failedMove = true;
  });
  document.addEventListener("pointerup", function () { endDrag(false); });
  document.addEventListener("pointercancel", function () { endDrag(true); });
  function rows(list) { return Array.prototype.filter.call(list.children, function (c) { return c.classList.contains("qe"); }); }
  function rowIndex(item) { return rows(item.parentNode).indexOf(item); }
  function renumber(list) {
    rows(list).forEach(function (row, i) {
      var pos = row.querySelector(".pos");
      if (pos) pos.textContent = String(i + 1);
    });
  }
})();
