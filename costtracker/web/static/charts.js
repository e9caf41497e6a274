// Charts of the overview and the explorer, drawn by Plotly (served from the installed package).
// Data come from the data-chart attribute of each figure (no inline script: CSP). Amounts are
// exact decimal strings; a chart only needs them approximately, so they become numbers here.
(function () {
  "use strict";
  var PALETTE = ["#3b5bdb", "#f08c00", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599", "#e8590c", "#5c940d",
                 "#862e9c", "#1971c2"];

  function colours() {
    var style = window.getComputedStyle(document.documentElement);
    return { fg: style.getPropertyValue("--fg").trim() || "#222", grid: style.getPropertyValue("--grid").trim() || "#8883" };
  }

  function toNumber(value) { return value === null ? null : Number(value); }

  function traces(data, estimatedLabel) {
    var out = [];
    data.series.forEach(function (s, i) {
      var colour = PALETTE[i % PALETTE.length];
      var counted = s.amounts.map(function (a, j) {
        if (a === null) return null;
        return Number(a) - Number(s.estimated[j] || 0);
      });
      out.push({ type: "bar", name: s.name, x: data.periods, y: counted, marker: { color: colour },
                 hovertemplate: "%{x}: %{y:,.2f} " + data.currency + "<extra>" + s.name + "</extra>" });
      if (s.estimated.some(function (e) { return e !== null && Number(e) !== 0; })) {
        out.push({ type: "bar", name: s.name + " (" + estimatedLabel + ")", x: data.periods, y: s.estimated.map(toNumber),
                   marker: { color: colour, opacity: 0.45, pattern: { shape: "/" } },
                   hovertemplate: "%{x}: %{y:,.2f} " + data.currency + "<extra>" + estimatedLabel + "</extra>" });
      }
    });
    return out;
  }

  function draw(figure) {
    var target = figure.querySelector(".chart-live");
    if (!window.Plotly || !target) return;
    var data = JSON.parse(figure.getAttribute("data-chart"));
    var c = colours();
    var french = (document.documentElement.lang || "en").indexOf("fr") === 0;
    var layout = {
      barmode: "stack", height: 280, margin: { t: 10, r: 10, b: 40, l: 60 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { color: c.fg },
      separators: french ? ",\u202f" : ".,", showlegend: data.series.length > 1,
      legend: { orientation: "h", y: -0.2 },
      xaxis: { type: data.bucket === "day" ? "date" : "category", gridcolor: c.grid },
      yaxis: { gridcolor: c.grid, tickprefix: data.currency === "USD" && !french ? "$" : "",
               ticksuffix: data.currency === "USD" && french ? " $" : "" }
    };
    var config = { displayModeBar: false, responsive: true };
    window.Plotly.react(target, traces(data, figure.getAttribute("data-label-estimated") || "estimated"), layout, config)
      .then(function () { figure.classList.add("has-live"); });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("figure.chart[data-chart]").forEach(draw);
  }

  window.costtracker = Object.assign(window.costtracker || {}, { drawCharts: drawAll });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  else drawAll();
})();
