/*
 * gridmap: the map's vector-tile layers (GET /tiles/<layer>/{z}/{x}/{y}.mvt, the tiles app),
 * drawn by Leaflet.VectorGrid (vendored in grids/static/vendor/vectorgrid/).
 *
 * - gridTiles(): the grids of a large jurisdiction, clickable (the grid popup of map.js);
 * - incidentLayers(): the incident layer (clusters below the server's cluster zoom, points
 *   above; fill by severity, pale when the case is finished), a heat layer of the last N
 *   days, and a filter control (category, period, state, heat). Clicking a lone incident
 *   opens a popup built from DOM nodes (textContent only) with a link to its case page;
 *   clicking a cluster zooms in on it.
 */
import { el, fetchJson, formatNumber, interpolate, withQuery } from "../gridmap/common.js";

// Leaflet 1.9 dropped L.DomEvent.fakeStop, which VectorGrid 1.3's canvas renderer calls on a
// click on a feature: stopping the event's propagation is what it meant.
if (window.L && L.DomEvent && !L.DomEvent.fakeStop) {
  L.DomEvent.fakeStop = function (event) {
    L.DomEvent.stopPropagation(event);
  };
}

// A point feature is a CircleMarker without a position of its own (VectorGrid draws it in
// tile pixels): Leaflet 1.9 takes a small circle's getLatLng() as the event's position and
// fails on it. Without getLatLng the event carries the mouse's position, as for shapes.
if (window.L && L.VectorGrid && !L.VectorGrid.prototype._gmPointEvents) {
  const createLayer = L.VectorGrid.prototype._createLayer;
  L.VectorGrid.prototype._createLayer = function (feat, pxPerExtent, layerStyle) {
    const layer = createLayer.call(this, feat, pxPerExtent, layerStyle);
    if (feat.type === 1) layer.getLatLng = null;
    return layer;
  };
  L.VectorGrid.prototype._gmPointEvents = true;
}

export const SEVERITY_COLOURS = { red: "#e03131", yellow: "#f2b705", blue: "#1c7ed6" };
// States in which the case is done: drawn pale.
const FINISHED = ["resolved", "verified", "closed", "cancelled", "declined"];

export function tileUrl(config, layer, params) {
  const base = config.tileUrl.replace("LAYER", encodeURIComponent(layer));
  const query = withQuery("", params || {});
  return base + query;
}

/* Counts tile loads on the container (data-tiles-<layer>), for the browser tests, and the
   time of the first one (window.gridmap.firstTiles). */
function countTiles(layer, name, container) {
  layer.on("tileload", function () {
    const key = "tiles" + name.charAt(0).toUpperCase() + name.slice(1);
    container.dataset[key] = String((parseInt(container.dataset[key] || "0", 10) || 0) + 1);
    window.gridmapTimes = window.gridmapTimes || {};
    if (!window.gridmapTimes[name]) window.gridmapTimes[name] = performance.now();
  });
}

export function gridTiles(map, config, styleOf, onClick) {
  const layer = L.vectorGrid.protobuf(tileUrl(config, "grids"), {
    pane: "gm-grids",
    minZoom: config.tileMinZoom.grids,
    interactive: true,
    maxNativeZoom: 18,
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: {
      grids: function (properties) {
        const style = styleOf({ properties: properties });
        style.fill = true;
        return style;
      },
    },
    getFeatureId: function (feature) {
      return feature.properties.code;
    },
  });
  layer.on("click", function (event) {
    onClick(event.layer.properties.code, event.latlng);
  });
  countTiles(layer, "grids", map.getContainer());
  return layer;
}

function incidentStyle(properties, zoom, heat) {
  const count = properties.count || 1;
  const colour = SEVERITY_COLOURS[properties.severity] || SEVERITY_COLOURS.blue;
  if (heat) {
    return {
      radius: Math.min(40, 10 + 5 * Math.log2(count)),
      stroke: false,
      fill: true,
      fillColor: count > 20 ? "#c92a2a" : count > 4 ? "#f76707" : "#fab005",
      fillOpacity: Math.min(0.7, 0.2 + 0.05 * Math.log2(count + 1)),
    };
  }
  const finished = count === 1 && FINISHED.indexOf(properties.status) >= 0;
  return {
    radius: count > 1 ? Math.min(22, 7 + 3 * Math.log2(count)) : 7,
    color: "#ffffff",
    weight: count > 1 ? 3 : 2,
    fill: true,
    fillColor: colour,
    fillOpacity: finished ? 0.35 : 0.9,
    dashArray: finished ? "3 3" : null,
  };
}

// Category names by code in the user's language (GET /api/incident-categories/).
const categoryNames = new Map();

function renderIncident(p, S, config) {
  const root = el("div", "gm-popup gm-incident-detail");
  root.dataset.incident = String(p.id);
  root.appendChild(el("h3", "gm-popup-title", categoryNames.get(p.category) || p.category || S.incident));
  const line = el("div", "gm-incident-line");
  const badge = el("span", "gm-severity gm-severity-" + p.severity, config.severities[p.severity] || p.severity);
  line.appendChild(badge);
  line.appendChild(el("span", "gm-incident-state", config.statuses[p.status] || p.status));
  root.appendChild(line);
  root.appendChild(el("div", "gm-popup-code", "#" + p.id));
  const link = el("a", "gm-case-link", S.openCase);
  link.href = config.caseUrl.replace("/0/", "/" + encodeURIComponent(p.id) + "/");
  root.appendChild(link);
  return root;
}

/* The filter control: category, period, state and the heat layer; calls onChange(filters). */
function filterControl(S, config, narrow, onChange) {
  const control = L.control({ position: "topright" });
  control.onAdd = function () {
    const box = L.DomUtil.create("details", "gm-incident-filters leaflet-control");
    box.open = !narrow;
    box.appendChild(el("summary", null, S.incidents));
    function select(name, label, options) {
      const wrap = el("label", "gm-filter");
      wrap.appendChild(el("span", null, label));
      const input = el("select");
      input.name = name;
      options.forEach(function (option) {
        const node = el("option", null, option[1]);
        node.value = option[0];
        input.appendChild(node);
      });
      wrap.appendChild(input);
      box.appendChild(wrap);
      return input;
    }
    const category = select("category", S.category, [["", S.allCategories]]);
    fetchJson(config.categoriesUrl, {}, S.networkError)
      .then(function (answer) {
        (answer.body || []).forEach(function (item) {
          categoryNames.set(item.code, item.name);
          const node = el("option", null, item.name);
          node.value = item.code;
          category.appendChild(node);
        });
      })
      .catch(function () {
        /* the filter offers "all categories" only; the popup shows the category's code */
      });
    const period = select(
      "days",
      S.period,
      config.periods.map(function (days) {
        return [String(days), days ? interpolate(S.lastDays, { days: formatNumber(days) }) : S.allTime];
      })
    );
    period.value = String(config.defaultDays);
    const state = select("state", S.state, [
      ["open", S.stateOpen],
      ["finished", S.stateFinished],
      ["", S.stateAll],
    ]);
    const heatWrap = el("label", "gm-filter gm-filter-check");
    const heat = el("input");
    heat.type = "checkbox";
    heat.name = "heat";
    heatWrap.appendChild(heat);
    heatWrap.appendChild(el("span", null, interpolate(S.heat, { days: formatNumber(config.heatDays) })));
    box.appendChild(heatWrap);
    function changed() {
      onChange({
        category: category.value,
        days: period.value,
        state: state.value,
        heat: heat.checked,
      });
    }
    [category, period, state, heat].forEach(function (input) {
      input.addEventListener("change", changed);
    });
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  return control;
}

function incidentParams(filters, config) {
  const params = {};
  if (filters.category) params.category = filters.category;
  if (filters.days && filters.days !== "0") params.days = filters.days;
  if (filters.state === "open") params.status = config.openStatuses.join(",");
  if (filters.state === "finished") params.status = FINISHED.join(",");
  return params;
}

export function incidentLayers(map, config, S, narrow) {
  map.createPane("gm-heat").style.zIndex = 455;
  map.createPane("gm-incidents").style.zIndex = 460;
  const container = map.getContainer();
  let filters = { category: "", days: String(config.defaultDays), state: "open", heat: false };

  const incidents = L.vectorGrid.protobuf(tileUrl(config, "incidents", incidentParams(filters, config)), {
    pane: "gm-incidents",
    interactive: true,
    maxNativeZoom: 18,
    fetchOptions: { credentials: "same-origin" },
    rendererFactory: L.svg.tile,
    vectorTileLayerStyles: {
      incidents: function (properties, zoom) {
        return incidentStyle(properties, zoom, false);
      },
    },
  });
  const heat = L.vectorGrid.protobuf(tileUrl(config, "incidents", { days: String(config.heatDays) }), {
    pane: "gm-heat",
    interactive: false,
    maxNativeZoom: 18,
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: {
      incidents: function (properties, zoom) {
        return incidentStyle(properties, zoom, true);
      },
    },
  });
  countTiles(incidents, "incidents", container);
  countTiles(heat, "heat", container);

  incidents.on("click", function (event) {
    const p = event.layer.properties;
    if ((p.count || 1) > 1 || !p.id) {
      map.setView(event.latlng, Math.min(map.getZoom() + 2, map.getMaxZoom()));
      return;
    }
    L.popup({ maxWidth: 280, minWidth: 180, className: "gm-incident-popup", autoPanPadding: [24, 24] })
      .setLatLng(event.latlng)
      .setContent(renderIncident(p, S, config))
      .openOn(map);
    container.dataset.popup = "incident-" + p.id;
  });
  let hover = null;
  incidents.on("mouseover", function (event) {
    const p = event.layer.properties;
    if ((p.count || 1) < 2) return;
    hover = L.tooltip({ direction: "top", className: "gm-hover", offset: [0, -8] })
      .setLatLng(event.latlng)
      .setContent(el("span", null, interpolate(S.incidentCount, { count: formatNumber(p.count) })));
    map.openTooltip(hover);
  });
  incidents.on("mouseout", function () {
    if (hover) map.closeTooltip(hover);
    hover = null;
  });

  const control = filterControl(S, config, narrow, function (next) {
    filters = next;
    incidents.setUrl(tileUrl(config, "incidents", incidentParams(filters, config)));
    if (filters.heat && !map.hasLayer(heat)) heat.addTo(map);
    if (!filters.heat && map.hasLayer(heat)) map.removeLayer(heat);
    container.dataset.incidentFilters = JSON.stringify(incidentParams(filters, config));
  });
  return { incidents: incidents, heat: heat, control: control };
}
