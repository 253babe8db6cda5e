/* Staff area: after a refused form, move keyboard and screen-reader focus to the
 * error summary, whose links lead to the fields (the page works without this). */
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
})();
