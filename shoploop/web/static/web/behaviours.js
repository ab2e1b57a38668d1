// Small page behaviours that used to be inline handlers (the Content-Security-Policy forbids
// inline script): a confirmation before a destructive form is sent, share links that select
// themselves when tapped, and print buttons. Pages work without this file; it only adds the niceties.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var field = event.target.closest("[data-select-on-click]");
    if (field && typeof field.select === "function") {
      field.select();
    }
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
