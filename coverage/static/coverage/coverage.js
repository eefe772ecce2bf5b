/*
 * gridmap: the coverage page.
 *
 * django-leaflet creates the map and calls window.coverageInit(map). The report is the one
 * the table shows (the "coverage-report" JSON, the same as GET /api/coverage/?area=); the
 * villages, grids and stations come from GET /api/layers/<level>/, the households in no grid,
 * in no unit and beyond the service circle as counts per map cell from
 * GET /api/coverage/uncovered-clusters/ (reloaded when the map moves).
 * The map gets data-loaded="true" once every layer has answered, data-errors="<n>" counting
 * those that failed and data-count-<layer>="<n>" per drawn layer.
 */
import { el, fetchJson, interpolate, readJson, textTooltip } from "../gridmap/common.js";

const S = readJson("coverage-strings");
const CONFIG = readJson("coverage-config");
const REPORT = readJson("coverage-report");
const CHECKS = REPORT.checks || {};
const NARROW = window.matchMedia("(max-width: 640px)").matches;

async function getJson(url) {
  return (await fetchJson(url, {}, S.networkError)).body;
}

function notice(text) {
  const box = document.querySelector(".cv-notices");
  if (!box) return;
  box.appendChild(el("div", "cv-notice", text));
}

function codesOf(list) {
  return new Set(
    (list || []).map(function (item) {
      return typeof item === "string" ? item : item.code;
    })
  );
}

function inArea(feature) {
  const code = (feature.properties && feature.properties.code) || "";
  return code.indexOf(CONFIG.prefix) === 0;
}

const STYLE = {
  village: { pane: "cv-villages", color: "#5f3dc4", weight: 1.4, opacity: 0.8, fillColor: "#ffffff", fillOpacity: 0.9, interactive: false },
  grid: { pane: "cv-grids", color: "#1864ab", weight: 0.8, opacity: 0.7, fillColor: "#a5d8ff", fillOpacity: 0.25 },
  missing: { pane: "cv-missing", color: "#f08c00", weight: 3, opacity: 1, dashArray: "6 4", fill: false },
};

function dot(color, radius) {
  return function (latlng) {
    return L.circleMarker(latlng, { pane: "cv-points", radius: radius, color: "#ffffff", weight: 1, fillColor: color, fillOpacity: 0.95 });
  };
}

/* A colour sample (a filled or dashed box) as an element; labels go beside it as text. */
function swatch(color, outline) {
  const span = el("span", "cv-swatch");
  if (outline) span.style.border = "2px dashed " + color;
  else span.style.background = color;
  return span;
}

/* A layer's label: a colour swatch and the text, as elements (the text as a text node). */
function swatchLabel(color, text, outline) {
  const label = el("span");
  label.appendChild(swatch(color, outline));
  label.appendChild(document.createTextNode(" " + text));
  return label;
}

/* Leaflet's layer control would parse each name as markup. This one hands it an empty name and
   puts a copy of the label element into the item as nodes, so no name is ever parsed as markup
   (tests/security/test_payloads_in_pages.py loads /coverage/ with a <script> payload in every
   name). The control redraws its items on every change: hence the copy. */
const TextLayers = L.Control.Layers.extend({
  _addItem: function (obj) {
    const label = L.Control.Layers.prototype._addItem.call(this, L.extend({}, obj, { name: "" }));
    const name = label.querySelector("span > span");
    name.textContent = "";
    name.appendChild(obj.name.cloneNode(true));
    return label;
  },
});

window.coverageInit = function (map) {
  const container = map.getContainer();
  // Panes keep the drawing order whatever order the layers arrive in.
  [["cv-villages", 380], ["cv-grids", 400], ["cv-missing", 420], ["cv-points", 450]].forEach(function (pane) {
    map.createPane(pane[0]).style.zIndex = pane[1];
  });
  if (!CONFIG.hasBasemap && map.attributionControl) map.attributionControl.setPrefix(false);
  const tiling = CHECKS.tiling || {};
  const roles = CHECKS.roles || {};
  const stationsCheck = CHECKS.stations || {};
  const missingRoles = codesOf(roles.grids_missing_any_role);
  const offStations = codesOf(
    [].concat(
      stationsCheck.stations_too_few_villages || [],
      stationsCheck.stations_too_many_villages || [],
      stationsCheck.stations_not_contiguous || []
    )
  );

  const villages = L.geoJSON(null, { style: STYLE.village, filter: inArea });
  const grids = L.geoJSON(null, {
    style: STYLE.grid,
    filter: inArea,
    onEachFeature: function (feature, layer) {
      textTooltip(layer, feature.properties.name + " " + feature.properties.code, { sticky: true });
    },
  });
  const missing = L.geoJSON(null, {
    style: STYLE.missing,
    filter: function (feature) {
      return missingRoles.has(feature.properties.code);
    },
    onEachFeature: function (feature, layer) {
      textTooltip(layer, S.gridsMissingRoles + ": " + feature.properties.code, { sticky: true });
    },
  });
  const stations = L.geoJSON(null, {
    filter: function (feature) {
      return offStations.has(feature.properties.code);
    },
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, { pane: "cv-points", radius: 8, color: "#ffffff", weight: 2, fillColor: "#862e9c", fillOpacity: 1 });
    },
    onEachFeature: function (feature, layer) {
      textTooltip(layer, feature.properties.name + " " + feature.properties.code);
    },
  });

  function located(items, color, text) {
    const group = L.featureGroup();
    (items || []).forEach(function (item) {
      if (!item.location) return;
      const marker = dot(color, 7)(L.latLng(item.location[1], item.location[0]));
      textTooltip(marker, text + " · " + item.village + " · " + item.area_m2 + " m²");
      group.addLayer(marker);
    });
    return group;
  }
  // Check 7: each service centre's area (reachable within 15 minutes along the roads).
  const circle = CHECKS.service_circle || {};
  const serviceAreas = L.geoJSON(null, {
    style: { color: "#2b8a3e", weight: 1, fillColor: "#51cf66", fillOpacity: 0.15 },
    onEachFeature: function (feature, layer) {
      textTooltip(layer, S.serviceAreas + " · " + feature.properties.name, { sticky: true });
    },
  });
  if (circle.service_areas && circle.service_areas.features) {
    serviceAreas.addData(circle.service_areas);
  }
  container.dataset.countServiceAreas = String(serviceAreas.getLayers().length);
  const gaps = located(tiling.gaps, "#e03131", S.gaps);
  const overlaps = located(tiling.overlaps, "#a61e4d", S.overlaps);

  const reasons = {
    no_grid: [L.featureGroup(), "#e8590c", S.householdsNoGrid],
    no_unit: [L.featureGroup(), "#fab005", S.householdsNoUnit],
    beyond_15_minutes: [L.featureGroup(), "#c2255c", S.uncovered],
  };

  villages.addTo(map);
  grids.addTo(map);
  const control = new TextLayers(null, null, { collapsed: true }).addTo(map);
  const overlays = [
    [villages, "#5f3dc4", S.villages],
    [grids, "#a5d8ff", S.grids],
    [missing, "#f08c00", S.gridsMissingRoles, true],
    [gaps, "#e03131", S.gaps],
    [overlaps, "#a61e4d", S.overlaps],
    [stations, "#862e9c", S.stationsOff],
    [serviceAreas, "#51cf66", S.serviceAreas],
    [reasons.no_grid[0], reasons.no_grid[1], reasons.no_grid[2]],
    [reasons.no_unit[0], reasons.no_unit[1], reasons.no_unit[2]],
    [reasons.beyond_15_minutes[0], reasons.beyond_15_minutes[1], reasons.beyond_15_minutes[2]],
  ];
  overlays.forEach(function (item) {
    item[0].addTo(map);
    control.addOverlay(item[0], swatchLabel(item[1], item[2], item[3]));
  });
  container.dataset.countGaps = String(gaps.getLayers().length);
  container.dataset.countOverlaps = String(overlaps.getLayers().length);

  /* The uncovered households as counts per map cell (GET /api/coverage/uncovered-clusters/),
     reloaded when the view moves: never one marker per household, whatever the area. */
  let clusterRequest = 0;
  function loadClusters() {
    const request = ++clusterRequest;
    const b = map.getBounds();
    const clamp = function (v, lo, hi) {
      return Math.min(hi, Math.max(lo, v));
    };
    const bbox = [
      clamp(b.getWest(), -180, 179.9), clamp(b.getSouth(), -90, 89.9),
      clamp(b.getEast(), -179.9, 180), clamp(b.getNorth(), -89.9, 90),
    ].map(function (v) { return v.toFixed(6); }).join(",");
    const url = CONFIG.clustersUrl + "&zoom=" + Math.round(map.getZoom()) + "&bbox=" + bbox;
    return getJson(url).then(function (collection) {
      if (request !== clusterRequest) return;
      Object.keys(reasons).forEach(function (reason) {
        reasons[reason][0].clearLayers();
      });
      (collection.features || []).forEach(function (feature) {
        const entry = reasons[feature.properties.reason];
        if (!entry || !feature.geometry) return;
        const c = feature.geometry.coordinates;
        const count = feature.properties.count;
        const radius = count > 1 ? Math.min(18, 4 + 2.5 * Math.log(count)) : 3.5;
        const marker = dot(entry[1], radius)(L.latLng(c[1], c[0]));
        textTooltip(marker, entry[2] + " · " + count.toLocaleString());
        entry[0].addLayer(marker);
      });
      Object.keys(reasons).forEach(function (reason) {
        container.dataset["count_" + reason] = String((collection.totals || {})[reason] || 0);
      });
      container.dataset.clusterMarkers = String((collection.features || []).length);
    });
  }

  let errors = 0;
  function fail(layerName, error) {
    errors += 1;
    notice(interpolate(S.layerError, { layer: layerName, detail: error.message }));
  }
  const layerUrl = function (level) {
    return CONFIG.layerUrl.replace("LEVEL", level);
  };
  const villagesLoaded = getJson(layerUrl("village"))
      .then(function (collection) {
        villages.addData(collection);
        container.dataset.countVillages = String(villages.getLayers().length);
        const bounds = villages.getBounds();
        if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
      })
      .catch(function (error) {
        fail(S.villages, error);
      });
  const loads = [
    villagesLoaded,
    getJson(layerUrl("grid"))
      .then(function (collection) {
        grids.addData(collection);
        missing.addData(collection);
        container.dataset.countGrids = String(grids.getLayers().length);
        container.dataset.countMissing = String(missing.getLayers().length);
        missing.bringToFront();
      })
      .catch(function (error) {
        fail(S.grids, error);
      }),
    getJson(layerUrl("station"))
      .then(function (collection) {
        stations.addData(collection);
        container.dataset.countStations = String(stations.getLayers().length);
      })
      .catch(function (error) {
        fail(S.stationsOff, error);
      }),
    // After the map has been fitted to the villages: the clusters of the visible box.
    villagesLoaded.then(loadClusters).catch(function (error) {
      fail(S.uncovered, error);
    }),
  ];

  const legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    const details = L.DomUtil.create("details", "cv-legend leaflet-control");
    details.open = !NARROW;
    const summary = document.createElement("summary");
    summary.textContent = S.legend;
    details.appendChild(summary);
    const list = document.createElement("ul");
    overlays.forEach(function (item) {
      const li = document.createElement("li");
      li.appendChild(swatch(item[1], item[3]));
      li.appendChild(document.createTextNode(item[2]));
      list.appendChild(li);
    });
    details.appendChild(list);
    L.DomEvent.disableClickPropagation(details);
    return details;
  };
  legend.addTo(map);

  let moveTimer = null;
  map.on("moveend", function () {
    clearTimeout(moveTimer);
    moveTimer = setTimeout(function () {
      loadClusters().catch(function (error) {
        fail(S.uncovered, error);
      });
    }, 250);
  });
  if (circle.status === "computing") notice(S.computing);

  window.coverage = { map: map, report: REPORT };
  Promise.all(loads).then(function () {
    container.dataset.errors = String(errors);
    container.dataset.loaded = "true";
  });
};
