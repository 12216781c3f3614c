/* Paddock: small progressive enhancements. Every page works without this file.
   No inline scripts or handlers anywhere (the Content-Security-Policy forbids them):
   behaviour hangs off data- attributes, wired here and again after each htmx swap. */
(function () {
  "use strict";

  // <time data-countdown="ISO instant"> + a sibling [data-countdown-text]: "(9:41 left)".
  function startCountdowns(root) {
    root.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (el.dataset.countdownStarted) return;
      el.dataset.countdownStarted = "1";
      var until = Date.parse(el.dataset.countdown);
      var out = el.parentElement && el.parentElement.querySelector("[data-countdown-text]");
      if (!out || isNaN(until)) return;
      function tick() {
        var left = Math.max(0, Math.round((until - Date.now()) / 1000));
        if (left === 0) {
          out.textContent = " — the hold has expired; please choose a time again";
          out.classList.add("expired");
          return;
        }
        var minutes = Math.floor(left / 60);
        var seconds = String(left % 60).padStart(2, "0");
        out.textContent = " (" + minutes + ":" + seconds + " left)";
        window.setTimeout(tick, 1000);
      }
      tick();
    });
  }

  // <button data-confirm="Question?">: ask before a destructive action.
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-confirm]") : null;
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // <select data-autosubmit>: submit its form when changed (plain forms without htmx).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });

  // After an htmx swap, move focus to the new content's heading for screen-reader users
  // when the swap came from a navigation control (month, day).
  document.addEventListener("htmx:afterSettle", function (event) {
    startCountdowns(event.target);
    var focus = event.target.querySelector && event.target.querySelector("[data-focus-after-swap]");
    if (focus) focus.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    startCountdowns(document);
  });
})();
