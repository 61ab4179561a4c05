// Page viewer: left/right arrow keys turn pages; a page image that fails to load
// gives way to the page's text.
(function () {
  "use strict";

  var image = document.getElementById("page-image");
  var link = document.getElementById("page-image-link");
  var text = document.getElementById("page-text");

  function showText() {
    if (link) link.hidden = true;
    if (text) text.hidden = false;
  }

  if (image) {
    if (image.complete && image.naturalWidth === 0) showText();
    image.addEventListener("error", showText);
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
      return;
    }
    var turn = null;
    if (event.key === "ArrowLeft") turn = document.getElementById("previous-page");
    if (event.key === "ArrowRight") turn = document.getElementById("next-page");
    if (turn) {
      event.preventDefault();
      window.location.assign(turn.href);
    }
  });
})();
