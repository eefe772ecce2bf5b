/*
 * gridmap, the field page: the map. django-leaflet makes it; this draws the worker's grid
 * and village outlines, the pins of queued reports and of the incident on show, and keeps
 * points clear of the sheet that covers part of it.
 */
import { textTooltip } from "../../gridmap/common.js";
import { CONFIG, api, sheet, state } from "./page.js";

/* The map's own layers, for the other parts and the browser tests. */
export const layers = { grids: null, villages: null, queuedPins: null };
let selectedIncident = null;

/* The part of the map the sheet does not cover, as Leaflet padding. */
function mapPadding() {
  const mapRect = state.map.getContainer().getBoundingClientRect();
  const sheetRect = sheet.getBoundingClientRect();
  const topLeft = [16, 70];
  const bottomRight = [16, 16];
  if (sheetRect.width >= mapRect.width - 1) bottomRight[1] = Math.max(16, mapRect.bottom - sheetRect.top + 16);
  else topLeft[0] = Math.max(16, sheetRect.right - mapRect.left + 16);
  return { paddingTopLeft: topLeft, paddingBottomRight: bottomRight };
}

/* Pan so that a point is in the uncovered part of the map. */
export function keepInView(latlng) {
  const map = state.map;
  const padding = mapPadding();
  const size = map.getSize();
  const point = map.latLngToContainerPoint(latlng);
  const top = padding.paddingTopLeft[1];
  const bottom = size.y - padding.paddingBottomRight[1];
  const left = padding.paddingTopLeft[0];
  const right = size.x - padding.paddingBottomRight[0];
  if (point.y >= top && point.y <= bottom && point.x >= left && point.x <= right) return;
  const target = L.point((left + right) / 2, (top + bottom) / 2);
  map.panBy(point.subtract(target), { animate: true });
}

export function pinIcon(severity, extraClass) {
  return L.divIcon({
    className: "fd-pin fd-pin-" + (severity || "none") + (extraClass ? " " + extraClass : ""),
    html:
      '<svg viewBox="0 0 32 44" width="36" height="50" aria-hidden="true">' +
      '<path d="M16 1.5C8 1.5 1.5 7.8 1.5 15.7 1.5 26 16 42.5 16 42.5S30.5 26 30.5 15.7C30.5 7.8 24 1.5 16 1.5z"/>' +
      '<circle cx="16" cy="15.5" r="5.6" fill="#fff"/></svg>',
    iconSize: [36, 50],
    iconAnchor: [18, 48],
  });
}

export function showIncidentOnMap(result) {
  if (!result.geometry || !result.geometry.coordinates) return;
  const c = result.geometry.coordinates;
  if (selectedIncident) selectedIncident.remove();
  selectedIncident = L.marker([c[1], c[0]], { icon: pinIcon(result.severity || (result.properties && result.properties.severity)), interactive: false });
  selectedIncident.addTo(state.map);
}

function layerUrl(level) {
  return CONFIG.layerUrl.replace("LEVEL", encodeURIComponent(level));
}

/* The map as the page wants it: controls, outlines, the layer of queued reports. Returns the
   loads of the outlines (the grids fitted into view), settled whatever they answer. */
export function setUpMap(map) {
  state.map = map;
  if (!CONFIG.hasBasemap && map.attributionControl) map.attributionControl.setPrefix(false);
  if (map.zoomControl) map.zoomControl.setPosition("topright");
  map.createPane("fd-outlines").style.zIndex = 380;

  const villages = L.geoJSON(null, {
    pane: "fd-outlines",
    interactive: false,
    style: { color: "#5f3dc4", weight: 1.5, opacity: 0.7, fill: false, dashArray: "6 4" },
  }).addTo(map);
  const grids = L.geoJSON(null, {
    pane: "fd-outlines",
    interactive: false,
    style: { color: "#1864ab", weight: 2.5, opacity: 0.9, fillColor: "#a5d8ff", fillOpacity: 0.28 },
    onEachFeature: function (feature, layer) {
      layer.on("add", function () {
        const path = layer.getElement();
        if (path) path.setAttribute("data-grid-code", feature.properties.code);
      });
      textTooltip(layer, feature.properties.name, {
        permanent: true,
        direction: "center",
        className: "fd-grid-label",
        interactive: false,
      });
    },
  }).addTo(map);
  layers.grids = grids;
  layers.villages = villages;
  layers.queuedPins = L.layerGroup().addTo(map);

  return [
    api(layerUrl("grid"))
      .then(function (answer) {
        grids.addData(answer.body);
        const bounds = grids.getBounds();
        if (bounds.isValid()) map.fitBounds(bounds, Object.assign({ animate: false }, mapPadding()));
      })
      .catch(function () {}),
    api(layerUrl("village"))
      .then(function (answer) {
        villages.addData(answer.body);
      })
      .catch(function () {}),
  ];
}
