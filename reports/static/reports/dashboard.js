/* Dashboard charts (Chart.js, served locally). The numbers come from the page itself
   (json_script "db-data", built by the same selector as GET /api/kpis/); the text from
   "db-strings" in the page's language. */
import { interpolate, readJson } from "../gridmap/common.js";

var RED = "#a61c1c";
var GOLD = "#e0a800";
var BLUE = "#1c64d8";

function pct(v) { return v === null ? null : Math.round(v * 1000) / 10; }

function drawCharts() {
  var data = readJson("db-data");
  var t = readJson("db-strings");

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;

  var children = document.getElementById("db-children-chart");
  if (children && data.children.length) {
    new Chart(children, {
      type: "bar",
      data: {
        labels: data.children.map(function (c) { return c.name; }),
        datasets: [
          { label: t.closureRate, data: data.children.map(function (c) { return pct(c.closure_rate); }),
            backgroundColor: RED },
          { label: t.onTimeClosureRate,
            data: data.children.map(function (c) { return pct(c.on_time_closure_rate); }),
            backgroundColor: GOLD }
        ]
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        scales: { x: { min: 0, max: 100, title: { display: true, text: t.percent } } },
        plugins: {
          tooltip: { callbacks: { label: function (ctx) {
            return ctx.dataset.label + ": " + ctx.parsed.x + "%";
          } } }
        }
      }
    });
  }

  var weeks = document.getElementById("db-weeks-chart");
  if (weeks) {
    new Chart(weeks, {
      type: "line",
      data: {
        labels: data.weeks.map(function (w) { return w.week; }),
        datasets: [
          { label: t.received, data: data.weeks.map(function (w) { return w.received; }),
            borderColor: BLUE, backgroundColor: BLUE, tension: 0.2 },
          { label: t.closed, data: data.weeks.map(function (w) { return w.closed; }),
            borderColor: RED, backgroundColor: RED, tension: 0.2 }
        ]
      },
      options: {
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: t.cases } } },
        plugins: {
          tooltip: { callbacks: { title: function (items) {
            return interpolate(t.weekOf, { date: items[0].label });
          } } }
        }
      }
    });
  }
  document.documentElement.setAttribute("data-charts", "ready");
}

// No numbers (the page shows an error instead), or no Chart.js: the tables stand alone.
if (document.getElementById("db-data") && typeof Chart !== "undefined") drawCharts();
