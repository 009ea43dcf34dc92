// Character counters for comment boxes, and focus on the error summary after a refused submit.
(function () {
  "use strict";
  var script = document.currentScript;
  var template = (script && script.dataset.remaining) || "%(n)s characters left";
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var output = document.getElementById(area.dataset.counter);
    var max = parseInt(area.getAttribute("maxlength"), 10);
    var timer = null;
    function update() {
      output.textContent = template.replace("%(n)s", String(max - area.value.length));
    }
    // Announce at most once a second so screen readers are not flooded while typing.
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, 400);
    });
    update();
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
