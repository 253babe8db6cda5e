/* Staff preview of a display: shows the manifest's slides in rotation (no inline script). */
(function () {
  "use strict";
  var box = document.getElementById("display-preview");
  if (!box) return;
  var items = JSON.parse(box.getAttribute("data-items") || "[]");
  var base = box.getAttribute("data-base");
  var frame = document.getElementById("preview-frame");
  var image = document.getElementById("preview-image");
  var caption = document.getElementById("preview-caption");
  var now = Date.now();
  items = items.filter(function (i) {
    return Date.parse(i.valid_from) <= now && (!i.valid_until || now < Date.parse(i.valid_until));
  });
  if (!items.length) { caption.textContent = "Derzeit keine Bekanntmachungen."; return; }
  var index = -1;
  function next() {
    index = (index + 1) % items.length;
    var item = items[index];
    var url = base + item.slide.sha256;
    if (item.kind === "image") {
      frame.hidden = true; image.hidden = false; image.src = url; image.alt = item.title;
    } else {
      image.hidden = true; frame.hidden = false; frame.src = url;
    }
    caption.textContent = (index + 1) + " von " + items.length + ": " + item.title;
    setTimeout(next, item.duration_s * 1000);
  }
  next();
})();
