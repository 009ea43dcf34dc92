// Draws every <div class="chart" data-figure="..."> with Plotly. Figures come from the server
// as JSON in a data attribute, so the page needs no inline script (CSP: script-src 'self').
(function () {
  "use strict";
  function draw(element) {
    var figure = JSON.parse(element.dataset.figure);
    var layout = Object.assign({}, figure.layout || {}, {
      autosize: true,
      height: parseInt(element.dataset.height || "360", 10),
    });
    var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
    window.Plotly.react(element, figure.data || [], layout, config);
  }
  function drawAll() {
    document.querySelectorAll("div.chart[data-figure]").forEach(draw);
  }
  window.polsoCharts = { draw: draw, drawAll: drawAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
