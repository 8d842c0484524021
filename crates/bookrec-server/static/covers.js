// Cover images that fail to load (dead links, 1×1 placeholders) are removed, leaving the
// letter placeholder. A script file rather than inline onerror/onload attributes: the
// Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  function check(img) {
    if (img.complete && img.naturalWidth < 2) img.remove();
  }
  document.querySelectorAll(".cover img").forEach(function (img) {
    img.addEventListener("error", function () { img.remove(); });
    img.addEventListener("load", function () { check(img); });
    // Already settled before this script ran (a failed image is `complete` with width 0).
    check(img);
  });
})();
