// The share sheet: a copy button and the system share sheet where the browser has one.
// Without JavaScript the link is in a read-only field and the buttons stay hidden.
(function () {
  "use strict";
  function init() {
    var sheet = document.querySelector("[data-share-sheet]");
    if (!sheet) return;
    var url = sheet.getAttribute("data-share-url");
    var title = sheet.getAttribute("data-share-title");
    var copy = sheet.querySelector("[data-copy-link]");
    var share = sheet.querySelector("[data-web-share]");
    var copied = sheet.querySelector("[data-copied]");
    if (copy && navigator.clipboard) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(url).then(function () {
          if (copied) copied.hidden = false;
        });
      });
    }
    if (share && navigator.share) {
      share.hidden = false;
      share.addEventListener("click", function () {
        navigator.share({ title: title, url: url }).catch(function () {});
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
