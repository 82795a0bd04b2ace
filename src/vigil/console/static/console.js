/* Vigil console: progressive enhancement only. Every page works without this file;
   it adds live deadline countdowns and single-key shortcuts. */
"use strict";

(function () {
  // The server names the urgency window (the TCO one-hour removal deadline) on <body>.
  var URGENT_SECONDS = Number(document.body.getAttribute("data-urgent-within"));  // script is deferred

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function describe(seconds) {
    var late = seconds < 0;
    var s = Math.abs(seconds);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    var text;
    if (d) { text = d + " d " + h + " h"; }
    else if (h) { text = h + " h " + pad(m) + " min"; }
    else if (m) { text = m + " min " + pad(sec) + " s"; }
    else { text = sec + " s"; }
    return late ? "overdue " + text : text;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Math.floor((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      el.textContent = describe(left);
      var row = el.closest("[data-source]") || el;
      var urgent = row.getAttribute("data-source") === "authority_order" && left < URGENT_SECONDS;
      row.classList.toggle("urgent", urgent);
      row.classList.toggle("overdue", left < 0);
    });
  }

  function typing(target) {
    var tag = target.tagName;
    return target.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && ["checkbox", "radio", "submit", "button"].indexOf(target.type) < 0);
  }

  function revealNext() {
    var boxes = document.querySelectorAll("input.reveal");
    for (var i = 0; i < boxes.length; i++) {
      if (!boxes[i].checked) { boxes[i].click(); boxes[i].focus(); return; }
    }
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "r" && document.querySelector("input.reveal")) {
      event.preventDefault();
      revealNext();
      return;
    }
    var target = document.querySelector('[data-shortcut="' + CSS.escape(event.key) + '"]');
    if (!target) { return; }
    event.preventDefault();
    target.focus();
    target.click();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("time[data-countdown]")) {
      tick();
      window.setInterval(tick, 1000);
    }
    document.addEventListener("keydown", onKey);
  });
})();
