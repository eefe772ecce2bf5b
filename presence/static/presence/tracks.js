/*
 * gridmap: the patrol tracks map (/patrols/). django-leaflet creates the map and calls
 * window.tracksInit(map): the day's tracks (GET /api/patrols/?day=&worker=) drawn one colour
 * per worker, the grid areas they came within 50 m of (GET /api/patrols/coverage/) shaded,
 * and a list with each patrol's distance and time. Every text goes in as text (el,
 * textContent; tooltips through textTooltip), never as HTML. The root gets data-ready="true"
 * and data-count (the patrols drawn) once drawn.
 */
import {
  clockTime,
  el,
  fetchJson,
  formatNumber,
  interpolate,
  readJson,
  textTooltip,
  withQuery,
} from "../gridmap/common.js";

const S = readJson("tracks-strings");
const CONFIG = readJson("tracks-config");
const root = document.getElementById("tracks");
const COLOURS = ["#c92a2a", "#1c64d8", "#237a3b", "#b35c00", "#7048e8", "#0c8599", "#d6336c"];

function colourOf(workerId, order) {
  if (!order.has(workerId)) order.set(workerId, COLOURS[order.size % COLOURS.length]);
  return order.get(workerId);
}

/* A share as a percentage: one decimal below 10 %, so a short walk is not "0%". */
function percent(share) {
  const value = share * 100;
  return (value < 10 ? Math.round(value * 10) / 10 : Math.round(value)) + "%";
}

function timeOf(iso) {
  return clockTime(iso, CONFIG.timeZone);
}

function params() {
  const form = root.querySelector("[data-filters]");
  const values = {};
  const day = form.elements.day.value;
  const worker = form.elements.worker.value;
  if (day) values.day = day;
  if (worker) values.worker = worker;
  return values;
}

/* The outlines of the grids around the tracks, under them (the current grids of the
   jurisdiction, from the map's layer API). */
async function drawGrids(map, bounds) {
  const bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].join(",");
  try {
    const answer = await fetchJson(withQuery(CONFIG.gridsUrl, { bbox: bbox }), {}, S.networkError);
    const outlines = L.geoJSON(answer.body, {
      style: { color: "#4b5563", weight: 1.5, dashArray: "4 3", fill: false },
      interactive: false,
    }).addTo(map);
    outlines.bringToBack();
  } catch (error) {
    // The outlines only help reading the map; the tracks are there without them.
  }
}

window.tracksInit = async function (map) {
  const message = root.querySelector("[data-message]");
  const rows = root.querySelector("[data-rows]");
  const covered = root.querySelector("[data-covered]");
  const order = new Map();
  let tracks;
  let coverage;
  try {
    [tracks, coverage] = await Promise.all([
      fetchJson(withQuery(CONFIG.patrolsUrl, params()), {}, S.networkError),
      fetchJson(withQuery(CONFIG.coverageUrl, params()), {}, S.networkError),
    ]);
  } catch (error) {
    message.textContent = interpolate(S.loadFailed, { detail: error.message });
    root.dataset.ready = "true";
    return;
  }
  const features = tracks.body.features || [];
  features.forEach(function (f) {
    colourOf(f.properties.worker_id, order);
  });
  const areas = L.geoJSON(coverage.body, {
    style: function (feature) {
      const colour = colourOf(feature.properties.worker_id, order);
      return { color: colour, weight: 0, fillColor: colour, fillOpacity: 0.25 };
    },
    onEachFeature: function (feature, layer) {
      const p = feature.properties;
      textTooltip(layer, p.worker_name + " · " + p.grid_name + " " + percent(p.share));
    },
  }).addTo(map);
  const lines = L.geoJSON(tracks.body, {
    style: function (feature) {
      return { color: colourOf(feature.properties.worker_id, order), weight: 4, opacity: 0.9 };
    },
    onEachFeature: function (feature, layer) {
      const p = feature.properties;
      textTooltip(layer, p.worker_name + " " + timeOf(p.started_at) + "–" + timeOf(p.ended_at));
    },
  }).addTo(map);
  rows.replaceChildren();
  features.forEach(function (f) {
    const p = f.properties;
    const tr = el("tr");
    tr.dataset.patrol = String(p.id);
    const who = el("td");
    const swatch = el("span", "tk-swatch");
    swatch.style.background = colourOf(p.worker_id, order);
    who.append(swatch, document.createTextNode(p.worker_name));
    tr.append(
      who,
      el("td", null, timeOf(p.started_at) + "–" + timeOf(p.ended_at)),
      el("td", null, interpolate(S.distance, { km: formatNumber(Math.round(p.length_m / 10) / 100) })),
      el("td", null, interpolate(S.duration, { minutes: Math.round(p.duration_s / 60) })),
      el("td", null, p.grid_name || p.place_code || "")
    );
    tr.addEventListener("click", function () {
      lines.eachLayer(function (layer) {
        if (layer.feature.id === f.id) map.fitBounds(layer.getBounds(), { maxZoom: 18 });
      });
    });
    rows.appendChild(tr);
  });
  covered.replaceChildren();
  (coverage.body.features || []).forEach(function (f) {
    const p = f.properties;
    const li = el("li", null, p.worker_name + " · " +
      interpolate(S.share, { name: p.grid_name, percent: percent(p.share) }));
    covered.appendChild(li);
  });
  message.textContent = features.length ? "" : S.noPatrols;
  const bounds = lines.getBounds();
  const shaded = areas.getBounds();
  if (shaded.isValid()) bounds.extend(shaded);
  if (bounds.isValid()) {
    map.fitBounds(bounds, { maxZoom: 18 });
    await drawGrids(map, bounds.pad(0.5));
  }
  root.dataset.count = String(features.length);
  root.dataset.ready = "true";
};
