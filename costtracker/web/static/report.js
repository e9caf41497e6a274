// The report's interactive charts. Data come from the data-chart attribute of #report-data
// (no inline script: CSP); the server-drawn bars stay when Plotly is missing, and for printing.
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("report-data");
    if (!source || !window.Plotly) return;
    var data = JSON.parse(source.getAttribute("data-chart"));
    var config = { displayModeBar: false, responsive: true };
    var layout = { margin: { t: 10, r: 10, b: 40, l: 60 }, height: 260, paper_bgcolor: "rgba(0,0,0,0)",
                   plot_bgcolor: "rgba(0,0,0,0)", yaxis: { tickprefix: data.currency === "USD" ? "$" : "" } };

    if (data.split.length) {
      // amounts arrive as exact decimal strings; a chart only needs them approximately
      var split = [{ type: "pie", hole: 0.45, sort: false, textinfo: "label+percent",
                     labels: data.split.map(function (p) { return p.name; }),
                     values: data.split.map(function (p) { return Number(p.amount); }) }];
      show("chart-split", split, Object.assign({}, layout, { showlegend: false, margin: { t: 10, b: 10, l: 10, r: 10 } }), config);
    }

    var known = data.trend.filter(function (t) { return t.total !== null; });
    if (known.length) {
      var trend = [{ type: "bar",
                     x: data.trend.map(function (t) { return t.month; }),
                     y: data.trend.map(function (t) { return t.total === null ? null : Number(t.total); }),
                     marker: { color: data.trend.map(function (t, i) {
                       if (t.status !== "complete") return "#c8d3e6";
                       return i === data.trend.length - 1 ? "#3b5bdb" : "#93b4f0"; }) },
                     hovertemplate: "%{x}: %{y:,.2f} " + data.currency + "<extra></extra>" }];
      show("chart-trend", trend, Object.assign({}, layout, { xaxis: { type: "category" } }), config);
    }
  }

  function show(id, traces, layout, config) {
    var figure = document.getElementById(id);
    var target = document.getElementById(id + "-live");
    if (!figure || !target) return;
    window.Plotly.newPlot(target, traces, layout, config).then(function () {
      figure.classList.add("has-live");
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
