// Countdowns: <time data-countdown datetime="2026-11-25T12:00:00Z">…</time> shows the time left
// (days, then h:mm:ss) and, when it reaches zero, the element's data-done text; data-reload reloads
// the page then, so the server shows what happened at the deadline.
// The days unit is the page's language: base.html renders it translated on <body
// data-countdown-days="{days}d"> ("{days}天" in Chinese); an element may override it with its own
// data-countdown-days. Without JavaScript the server-rendered date stays.
(function () {
  var DEFAULT_DAYS = "{days}d";
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function daysFormat(el) {
    return el.getAttribute("data-countdown-days") ||
      (document.body && document.body.getAttribute("data-countdown-days")) || DEFAULT_DAYS;
  }
  function render(el) {
    var left = Math.floor((Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000);
    if (left <= 0) {
      if (el.dataset.finished) return;
      el.dataset.finished = "1";
      el.textContent = el.dataset.done || "0:00:00";
      if (el.hasAttribute("data-reload")) setTimeout(function () { location.reload(); }, 1500);
      return;
    }
    var days = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
    var text = h + ":" + pad(Math.floor(left % 3600 / 60)) + ":" + pad(left % 60);
    el.textContent = days ? daysFormat(el).replace("{days}", days) + " " + text : text;
  }
  function tick() { document.querySelectorAll("time[data-countdown]").forEach(render); }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();
