// Keyboard reading of the heatmap (templates/dashboards/heatmap.html): with the chart focused, the arrow keys,
// Home and End move from cell to cell; each cell's words (the same as its hover: group, column, figure or the
// reason it is hidden) are shown as the chart's hover and read out through a polite live region.
(function () {
  "use strict";
  function cellText(hovertext, row, column) {
    var text = (hovertext[row] || [])[column] || "";
    return text.replace(/<br>/g, ", ");
  }
  function attach(chart) {
    var figure = JSON.parse(chart.dataset.figure);
    var cells = (figure.data || [])[0] || {};
    var hovertext = cells.hovertext || [];
    var rows = hovertext.length;
    var columns = rows ? hovertext[0].length : 0;
    var live = document.getElementById(chart.dataset.live);
    var position = null;
    if (!rows || !columns || !live) return;
    function show() {
      live.textContent = cellText(hovertext, position[0], position[1]);
      if (window.Plotly && window.Plotly.Fx && chart.classList.contains("js-plotly-plot")) {
        window.Plotly.Fx.hover(chart, [{ curveNumber: 0, pointNumber: [position[0], position[1]] }]);
      }
    }
    chart.addEventListener("keydown", function (event) {
      var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      if (position === null) position = [0, 0];
      else if (moves[event.key]) {
        position = [Math.min(rows - 1, Math.max(0, position[0] + moves[event.key][0])),
          Math.min(columns - 1, Math.max(0, position[1] + moves[event.key][1]))];
      } else if (event.key === "Home") position = [position[0], 0];
      else if (event.key === "End") position = [position[0], columns - 1];
      else return;
      event.preventDefault();
      show();
    });
    chart.addEventListener("blur", function () {
      if (window.Plotly && window.Plotly.Fx && chart.classList.contains("js-plotly-plot")) {
        window.Plotly.Fx.unhover(chart);
      }
    });
  }
  function attachAll() {
    document.querySelectorAll("div.chart[data-live]").forEach(attach);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", attachAll);
  } else {
    attachAll();
  }
})();
