/* Splits plain text into pages that fit an element, by measuring overflow.
   Never drops a character: the pages' texts joined equal the source. */
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

  // The largest end in (pos, n) such that ok(end) holds, cut after a word where one is.
  function largestFit(text, pos, n, ok) {
    var lo = pos + 1, hi = n - 1, best = pos;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (ok(mid)) { best = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    if (best <= pos) return pos;
    var cut = lastBreak(text, pos, best);
    var end = best;
    if (cut > pos && !/\s/.test(text.charAt(best))) end = cut;
    return Math.max(pos + 1, safeEnd(text, end));
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
      var start = pos;
      var end = largestFit(text, pos, n, function (mid) {
        el.textContent = text.slice(start, mid);
        return fits(el);
      });
      if (end <= pos) end = pos + 1; // not even one character fits: still make progress
      pages.push(text.slice(pos, end));
      pos = end;
    }
    el.textContent = pages[0];
    return pages;
  }

  /* Pages of several sections in one box: as many sections per page as fit, a section that
     does not fit continues on the next page. sections: [{key, text, ...}]; render(pieces)
     draws pieces [{section, text, start}] into box. Returns pages as lists of pieces. */
  function fill(box, sections, render) {
    var pages = [];
    var si = 0, pos = 0;
    var MIN_TAIL = 40; // do not start a section with a few words at the foot of a page
    while (si < sections.length) {
      var page = [];
      while (si < sections.length) {
        var s = sections[si];
        var piece = { section: s, text: s.text.slice(pos), start: pos };
        render(page.concat([piece]));
        if (fits(box)) {
          page.push(piece);
          si++; pos = 0;
          continue;
        }
        var text = s.text, start = pos;
        var end = largestFit(text, pos, text.length, function (mid) {
          piece.text = text.slice(start, mid);
          render(page.concat([piece]));
          return fits(box);
        });
        if (page.length && end - pos < Math.min(MIN_TAIL, text.length - pos)) break;
        if (end <= pos) end = pos + 1; // not even one character fits: still make progress
        piece.text = text.slice(pos, end);
        page.push(piece);
        pos = end;
        break;
      }
      pages.push(page);
    }
    if (!pages.length) pages.push([]);
    render(pages[0]);
    return pages;
  }

  global.AushangPaginate = { split: split, fill: fill, fits: fits };
})(window);
