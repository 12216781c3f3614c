/* Plotly charts without inline script (the CSP forbids it). A chart is
     <div data-chart="fig-id" role="img" aria-label="..."></div>
     <script type="application/json" id="fig-id">{"data": [...], "layout": {...}}</script>
   (the JSON block is data, never executed); this file draws every such div on load and after
   each htmx swap. Use the chart() macro in templates/_charts.html, which writes both. */
(function () {
  "use strict";

  function draw(root) {
    if (!window.Plotly || !root.querySelectorAll) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.chartDrawn) return;
      var source = document.getElementById(el.dataset.chart);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      var layout = Object.assign(
        { margin: { t: 30, r: 16, b: 48, l: 56 }, font: { family: "system-ui, sans-serif", size: 13 },
          paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" },
        figure.layout || {}
      );
      var config = Object.assign({ displaylogo: false, responsive: true }, figure.config || {});
      el.dataset.chartDrawn = "1";
      window.Plotly.newPlot(el, figure.data || [], layout, config);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
