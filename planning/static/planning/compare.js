/*
 * gridmap: comparing a plan (/plans/<id>/compare/?with=...).
 *
 * The villages that change station come with the page ("compare-config": village code ->
 * from/to station and the new station's colour, the same rows as the table and as
 * GET /api/plans/<id>/diff/); the polygons from GET /api/plans/<id>/villages/. Villages that
 * change are drawn in the colour of their new station with a dark outline, the others pale.
 * The map gets data-loaded="true" and data-count-changed="<n>" once drawn.
 */
import { el, fetchJson, interpolate, readJson, textTooltip } from "../gridmap/common.js";

const S = readJson("compare-strings");
const C = readJson("compare-config");
const DIFF = C.diff || {};

function stationText(code, name) {
  return code ? (name ? name + " " : "") + code : S.unassigned;
}

window.planCompareInit = async function (map) {
  const container = map.getContainer();
  map.options.zoomSnap = 0.25;
  map.invalidateSize({ pan: false });
  const root = document.getElementById("plan-compare");
  if (!C.hasBasemap && map.attributionControl) map.attributionControl.setPrefix(false);
  let collection;
  try {
    collection = (await fetchJson(C.villagesUrl, {}, S.networkError)).body;
  } catch (error) {
    const note = el("p", "gm-alert", interpolate(S.loadError, { detail: error.message || S.networkError }));
    container.parentNode.appendChild(note);
    container.dataset.loaded = "true";
    root.dataset.ready = "true";
    return;
  }
  let changed = 0;
  const layer = L.geoJSON(collection, {
    style: function (feature) {
      const row = DIFF[feature.properties.code];
      if (!row) {
        return { color: "#ffffff", weight: 1.2, fillColor: "#d5dbe1", fillOpacity: 0.8 };
      }
      return {
        color: "#1f2933",
        weight: 2.4,
        fillColor: row.to ? row.colour || "#8a96a3" : "url(#pl-hatch)",
        fillOpacity: row.to ? 0.85 : 1,
      };
    },
    onEachFeature: function (feature, item) {
      const props = feature.properties;
      const row = DIFF[props.code];
      const box = el("div", "pl-popup");
      box.appendChild(el("strong", null, props.name));
      box.appendChild(el("div", "gm-muted", props.code));
      if (row) {
        changed += 1;
        box.appendChild(
          el("div", "pl-popup-change", interpolate(S.change, {
            from: stationText(row.from, row.from_name),
            to: stationText(row.to, row.to_name),
          }))
        );
      } else {
        box.appendChild(el("div", null, interpolate(S.unchanged, { station: props.station || S.unassigned })));
      }
      item.bindPopup(box);
      textTooltip(item, props.name, {
        permanent: true,
        direction: "center",
        className: row ? "pl-label" : "pl-label pl-label-muted",
        interactive: false,
      });
      item.on("add", function () {
        const path = item.getElement && item.getElement();
        if (path) path.setAttribute("data-village", props.code);
      });
    },
  }).addTo(map);
  layer.eachLayer(function (item) {
    if (DIFF[item.feature.properties.code]) item.bringToFront();
  });
  const bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16] });
  container.dataset.countChanged = String(changed);
  container.dataset.loaded = "true";
  root.dataset.ready = "true";
};
