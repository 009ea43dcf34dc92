// Draws every <div class="chart" data-figure="..."> with Plotly, as it nears the viewport. Figures come from the server
// as JSON in a data attribute, so the page needs no inline script (CSP: script-src 'self').
(function () {
  "use strict";
  // Only the controls people need: save as PNG and reset the axes. Naming the buttons (rather than
  // removing some) means no cloud, share or edit-in-chart-studio control can appear in any Plotly
  // version, and an empty server URL gives the cloud upload nowhere to send survey results.
  var CONFIG = {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    showEditInChartStudio: false,
    showLink: false,
    plotlyServerURL: "",
    modeBarButtons: [["toImage", "resetScale2d"]],
  };
  // Plotly's own words (the modebar's tooltips and notices) and its date and number formats in
  // Italian; English is built in. Axis dates read "20 set 2026", decimals "0,5", thousands "1.000".
  var ITALIAN = {
    moduleType: "locale",
    name: "it",
    dictionary: {
      "Download plot as a PNG": "Scarica il grafico come PNG",
      "Download plot as a png": "Scarica il grafico come PNG",
      "Download plot": "Scarica il grafico",
      "Reset axes": "Reimposta gli assi",
      "Autoscale": "Scala automatica",
      "Double-click to zoom back out": "Doppio clic per tornare alla vista intera",
      "Taking snapshot - this may take a few seconds": "Sto salvando l'immagine: può volerci qualche secondo",
      "Snapshot succeeded": "Immagine salvata",
      "Sorry, there was a problem downloading your snapshot!": "Non è stato possibile scaricare l'immagine.",
    },
    format: {
      days: ["domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"],
      shortDays: ["dom", "lun", "mar", "mer", "gio", "ven", "sab"],
      months: ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
        "ottobre", "novembre", "dicembre"],
      shortMonths: ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
      periods: ["AM", "PM"],
      dateTime: "%A %e %B %Y, %X",
      date: "%d/%m/%Y",
      time: "%H:%M:%S",
      decimal: ",",
      thousands: ".",
      grouping: [3],
      currency: ["", " €"],
      year: "%Y",
      month: "%b %Y",
      dayMonth: "%-d %b",
      dayMonthYear: "%-d %b %Y",
    },
  };
  function draw(element) {
    var figure = JSON.parse(element.dataset.figure);
    var layout = Object.assign({}, figure.layout || {}, {
      autosize: true,
      height: parseInt(element.dataset.height || "360", 10),
    });
    var config = Object.assign({}, CONFIG, { locale: document.documentElement.lang === "it" ? "it" : "en" });
    window.Plotly.react(element, figure.data || [], layout, config);
  }
  function drawAll() {
    document.querySelectorAll("div.chart[data-figure]").forEach(function (element) {
      if (!element.classList.contains("js-plotly-plot")) draw(element);
    });
  }
  // A chart is drawn when it comes within a screen of the viewport, so a phone spends its first
  // seconds on what it shows (each chart costs a mid-range phone about 0.4 s); printing draws the rest.
  function drawWhenNear() {
    var charts = document.querySelectorAll("div.chart[data-figure]");
    if (!("IntersectionObserver" in window)) {
      drawAll();
      return;
    }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        observer.unobserve(entry.target);
        draw(entry.target);
      });
    }, { rootMargin: "100% 0px" });
    charts.forEach(function (chart) { observer.observe(chart); });
    window.addEventListener("beforeprint", drawAll);
  }
  if (window.Plotly && window.Plotly.register) {
    window.Plotly.register(ITALIAN);
  }
  window.polsoCharts = { draw: draw, drawAll: drawAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawWhenNear);
  } else {
    drawWhenNear();
  }
})();
