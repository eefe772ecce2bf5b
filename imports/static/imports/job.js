/*
 * gridmap: an import job's page (/imports/<id>/).
 *
 * While the background worker runs the job (queued, running, committing), the progress bar
 * follows GET /imports/<id>/status/ once a second; when the state changes the page reloads,
 * and the server renders the summary, the refused rows and the buttons of the new state (so a
 * reload at any time shows the same page). django-leaflet calls window.importMapInit(map),
 * which draws where the new and updated rows land (the "import-config" points: [lon, lat,
 * "new"|"updated"]). Every text goes into the page as text (el, textContent), never as HTML.
 * The map gets data-loaded="true" and data-count-new / data-count-updated once drawn.
 */
import { fetchJson, formatNumber, interpolate, readJson, textTooltip, withQuery } from "../gridmap/common.js";

const S = readJson("import-strings");
const CONFIG = readJson("import-config");
const POLL_MS = 1000;
const COLORS = { new: "#2b8a3e", updated: "#1864ab" };

function showProgress(status) {
  const bar = document.querySelector("[data-progress-bar]");
  const text = document.querySelector("[data-progress-text]");
  const label = document.querySelector("[data-state-label]");
  if (label) label.textContent = status.stateLabel;
  if (bar) {
    if (status.percent === null || status.percent === undefined) bar.removeAttribute("value");
    else bar.value = status.percent;
  }
  if (text) {
    text.textContent = status.rowsTotal
      ? interpolate(S.rowsOf, { rows: formatNumber(status.rowsRead), total: formatNumber(status.rowsTotal) })
      : interpolate(S.rowsRead, { rows: formatNumber(status.rowsRead) });
  }
}

async function poll() {
  const initial = CONFIG.status || {};
  try {
    const status = (await fetchJson(CONFIG.statusUrl, {}, S.networkError)).body;
    showProgress(status);
    if (status.state !== initial.state || status.cancelRequested !== initial.cancelRequested) {
      window.location.reload();
      return;
    }
  } catch (error) {
    const text = document.querySelector("[data-progress-text]");
    if (text) text.textContent = error.message;
  }
  window.setTimeout(poll, POLL_MS);
}

if (CONFIG.status && CONFIG.status.active) {
  showProgress(CONFIG.status);
  window.setTimeout(poll, POLL_MS);
}

window.importMapInit = function (map) {
  const container = map.getContainer();
  const counts = { new: 0, updated: 0 };
  const latlngs = [];
  (CONFIG.points || []).forEach(function (point) {
    const lon = Number(point[0]);
    const lat = Number(point[1]);
    const action = point[2] === "updated" ? "updated" : "new";
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
    L.circleMarker([lat, lon], {
      radius: 5,
      color: "#ffffff",
      weight: 1,
      fillColor: COLORS[action],
      fillOpacity: 0.9,
    }).addTo(map);
    counts[action] += 1;
    latlngs.push([lat, lon]);
  });
  if (latlngs.length) map.fitBounds(L.latLngBounds(latlngs).pad(0.2), { maxZoom: 16 });
  container.dataset.countNew = String(counts.new);
  container.dataset.countUpdated = String(counts.updated);
  container.dataset.loaded = "true";
  if (latlngs.length && CONFIG.gridLayerUrl) drawGrids(map, L.latLngBounds(latlngs).pad(0.2));
};

/* The grids the rows land in, outlined beneath the points (names as text tooltips). */
async function drawGrids(map, bounds) {
  const bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
    .map(function (v) { return v.toFixed(6); })
    .join(",");
  let body;
  try {
    body = (await fetchJson(withQuery(CONFIG.gridLayerUrl, { bbox: bbox }), {}, S.networkError)).body;
  } catch (err) {
    return; // orientation only: the points are drawn anyway
  }
  const layer = L.geoJSON(body, {
    style: { color: "#64748b", weight: 1, fill: false },
    interactive: true,
    onEachFeature: function (feature, item) {
      const props = feature.properties || {};
      textTooltip(item, String(props.name || props.code || ""), { sticky: true });
    },
  }).addTo(map);
  layer.bringToBack();
  map.getContainer().dataset.gridsLoaded = String(layer.getLayers().length);
}
