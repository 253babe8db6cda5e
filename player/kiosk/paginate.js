/* Splits a plain text into pages that fit an element, by measuring overflow.
   Never drops a character: pages.join("") === text. */
(function (global) {
  "use strict";

  function fits(el) {
    return el.scrollHeight <= el.clientHeight + 1 && el.scrollWidth <= el.clientWidth + 1;
  }

  function safeEnd(text, end) {
    // Do not cut a surrogate pair in two.
    var code = text.charCodeAt(end - 1);
    return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
  }

  function lastBreak(text, start, end) {
    for (var i = end; i > start; i--) {
      if (/\s/.test(text.charAt(i - 1))) return i;
    }
    return -1;
  }

  function split(el, text) {
    var pages = [];
    var pos = 0;
    var n = text.length;
    if (!n) {
      el.textContent = "";
      return [""];
    }
    while (pos < n) {
      el.textContent = text.slice(pos);
      if (fits(el)) {
        pages.push(text.slice(pos));
        break;
      }
      var lo = pos + 1, hi = n - 1, best = pos;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        el.textContent = text.slice(pos, mid);
        if (fits(el)) { best = mid; lo = mid + 1; } else { hi = mid - 1; }
      }
      var end = best;
      if (end <= pos) {
        end = pos + 1; // not even one character fits: still make progress
      } else {
        var cut = lastBreak(text, pos, end);
        if (cut > pos && !/\s/.test(text.charAt(end))) end = cut;
        end = Math.max(pos + 1, safeEnd(text, end));
      }
      pages.push(text.slice(pos, end));
      pos = end;
    }
    el.textContent = pages[0];
    return pages;
  }

  global.AushangPaginate = { split: split, fits: fits };
})(window);
