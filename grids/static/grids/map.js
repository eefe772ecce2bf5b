/*
 * gridmap: the map page.
 *
 * django-leaflet creates the map (settings LEAFLET_CONFIG, basemap optional) and calls
 * window.gridmapInit(map). Layers come from GET /api/layers/<level>/ (GeoJSON, limited to
 * the user's jurisdiction); a grid's details from GET /api/grids/<code>/; a building's
 * households (links to their household files) from GET /api/buildings/<id>/households/.
 * A large jurisdiction's grids (CONFIG.gridTiles) and the incidents come as vector tiles
 * (map-tiles.js, GET /tiles/<layer>/{z}/{x}/{y}.mvt).
 * UI text comes from the "gridmap-strings" JSON the template renders in the active language.
 *
 * The map container gets data-loaded="true" once every initial layer has answered, and
 * data-errors="<n>" counting the layers that failed.
 */
import { el, fetchJson, formatNumber, interpolate, readJson, telHref, withQuery } from "../gridmap/common.js";
import { gridTiles, incidentLayers } from "./map-tiles.js";

const S = readJson("gridmap-strings");
const CONFIG = readJson("gridmap-config");
const NARROW = window.matchMedia("(max-width: 640px)").matches;
const WANTED_GRID = new URLSearchParams(window.location.search).get("grid");

/* --- talking to the API ------------------------------------------------------------------ */
let pending = 0;
function busy(delta) {
  pending = Math.max(0, pending + delta);
  const wrap = document.querySelector(".gm-map-wrap");
  if (wrap) wrap.classList.toggle("gm-busy", pending > 0);
}

/* GET a JSON body; a 4xx/5xx becomes an Error carrying the API's human "detail". */
async function getJson(url, signal) {
  busy(1);
  try {
    return (await fetchJson(url, { signal: signal }, S.networkError)).body;
  } finally {
    busy(-1);
  }
}

function layerUrl(level, params) {
  return withQuery(CONFIG.layerUrl.replace("LEVEL", encodeURIComponent(level)), params || {});
}

function gridUrl(code) {
  return CONFIG.gridUrl.replace("CODE", encodeURIComponent(code));
}

/* --- notices over the map ---------------------------------------------------------------- */
const notices = new Map();
function setNotice(key, text, kind) {
  if (text) notices.set(key, { text: text, kind: kind || "hint" });
  else notices.delete(key);
  const box = document.querySelector(".gm-notices");
  if (!box) return;
  box.textContent = "";
  notices.forEach(function (notice, noticeKey) {
    const node = el("div", "gm-notice gm-notice-" + notice.kind, notice.text);
    node.dataset.notice = noticeKey;
    box.appendChild(node);
  });
}

/* --- styles ------------------------------------------------------------------------------ */
// Panes keep the drawing order whatever order the layers arrive in: land under grids under
// buildings under the village, town and district lines; stations on top.
const PANES = {
  "gm-land": 350,
  "gm-grids": 400,
  "gm-buildings": 410,
  "gm-villages": 420,
  "gm-towns": 430,
  "gm-districts": 440,
  "gm-stations": 450,
};

const GRID_FILLS = ["#a5d8ff", "#b2f2bb", "#ffec99", "#fcc2d7", "#d0bfff", "#99e9f2", "#ffd8a8"];

const STYLE = {
  land: { pane: "gm-land", stroke: false, fillColor: "#ffffff", fillOpacity: 1, interactive: false },
  district: { pane: "gm-districts", color: "#8f1d14", weight: 3, opacity: 0.9, fill: false, interactive: false },
  town: { pane: "gm-towns", color: "#d9480f", weight: 2, opacity: 0.9, dashArray: "8 5", fill: false, interactive: false },
  village: { pane: "gm-villages", color: "#5f3dc4", weight: 1.3, opacity: 0.75, fill: false, interactive: false },
  building: { pane: "gm-buildings", color: "#495057", weight: 0.7, fillColor: "#adb5bd", fillOpacity: 0.85 },
};

function gridStyle(feature) {
  // Neighbouring grids differ: the colour follows the village and the grid sequence.
  const code = (feature && feature.properties && feature.properties.code) || "";
  const village = parseInt(code.slice(9, 12), 10) || 0;
  const sequence = (village * 3 + (parseInt(code.slice(12), 10) || 0)) % GRID_FILLS.length;
  return {
    pane: "gm-grids",
    color: "#1864ab",
    weight: 1,
    opacity: 0.85,
    fillColor: GRID_FILLS[sequence],
    fillOpacity: 0.45,
  };
}

const GRID_HOVER = { weight: 2.5, color: "#0b4a8b", fillOpacity: 0.6 };
const GRID_SELECTED = { weight: 3, color: "#a61c1c", fillOpacity: 0.6 };

function swatch(kind, label) {
  const span = el("span");
  span.appendChild(el("span", "gm-swatch gm-swatch-" + kind));
  span.appendChild(document.createTextNode(label));
  return span.innerHTML;
}

/* --- labels: which places are named at which zoom ---------------------------------------- */
function updateLabelClasses(map) {
  const zoom = map.getZoom();
  const container = map.getContainer();
  container.classList.toggle("gm-show-district-labels", zoom < 12);
  container.classList.toggle("gm-show-town-labels", zoom >= 10 && zoom < 15);
  container.classList.toggle("gm-show-village-labels", zoom >= 12);
  container.dataset.zoom = String(zoom);
}

/* A point inside a (multi)polygon for its name: the centroid of its largest part when that
   falls inside, otherwise the middle of the widest stretch of the part on the centroid's
   latitude (as GEOS's interior point does). Coordinates are GeoJSON [lon, lat]. */
function ringArea(ring) {
  let area = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    area += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
  }
  return area / 2;
}

function ringCentroid(ring) {
  let x = 0;
  let y = 0;
  let area = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const cross = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    area += cross;
    x += (ring[j][0] + ring[i][0]) * cross;
    y += (ring[j][1] + ring[i][1]) * cross;
  }
  if (area === 0) return ring[0];
  return [x / (3 * area), y / (3 * area)];
}

function labelPoint(geometry) {
  if (!geometry) return null;
  const polygons =
    geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  let largest = null;
  let largestArea = -1;
  polygons.forEach(function (polygon) {
    const area = Math.abs(ringArea(polygon[0]));
    if (area > largestArea) {
      largest = polygon;
      largestArea = area;
    }
  });
  if (!largest) return null;
  const centre = ringCentroid(largest[0]);
  const y = centre[1];
  const crossings = [];
  largest.forEach(function (ring) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const a = ring[j];
      const b = ring[i];
      if (a[1] > y !== b[1] > y) crossings.push(a[0] + ((y - a[1]) * (b[0] - a[0])) / (b[1] - a[1]));
    }
  });
  crossings.sort(function (p, q) {
    return p - q;
  });
  let best = null;
  let widest = -1;
  for (let i = 0; i + 1 < crossings.length; i += 2) {
    if (crossings[i] <= centre[0] && centre[0] <= crossings[i + 1]) return centre;
    if (crossings[i + 1] - crossings[i] > widest) {
      widest = crossings[i + 1] - crossings[i];
      best = (crossings[i] + crossings[i + 1]) / 2;
    }
  }
  return best === null ? centre : [best, y];
}

/* Outlines of one level with their names: an overlay of the shapes and a label group. */
function boundaries(kind, style) {
  const labels = L.layerGroup();
  const shapes = L.geoJSON(null, {
    style: style,
    onEachFeature: function (feature) {
      const name = feature.properties && feature.properties.name;
      const point = labelPoint(feature.geometry);
      if (!name || !point) return;
      const label = L.tooltip({
        permanent: true, // a standalone tooltip that is not permanent closes on any click
        direction: "center",
        className: "gm-label gm-label-" + kind,
        interactive: false,
        opacity: 1,
        // Village names sit just below the centre, clear of a station marker there.
        offset: kind === "village" ? [0, 13] : [0, 0],
      });
      labels.addLayer(label.setLatLng([point[1], point[0]]).setContent(el("span", null, name)));
    },
  });
  return { shapes: shapes, overlay: L.layerGroup([shapes, labels]) };
}

function hoverTooltip(layer, title, detail) {
  const node = el("span");
  node.appendChild(document.createTextNode(title));
  if (detail) node.appendChild(el("span", "gm-hover-code", detail));
  layer.bindTooltip(node, { sticky: true, direction: "top", className: "gm-hover", offset: [0, -8] });
}

/* --- the grid popup ---------------------------------------------------------------------- */
function personRow(list, label, person, missingText) {
  list.appendChild(el("dt", null, label));
  const dd = el("dd");
  if (!person) {
    dd.appendChild(el("span", "gm-missing", missingText));
  } else {
    dd.appendChild(el("span", "gm-person-name", person.name));
    if (person.phone) {
      const link = el("a", "gm-phone", person.phone);
      link.href = telHref(person.phone);
      link.title = interpolate(S.call, { name: person.name });
      dd.appendChild(link);
    }
  }
  list.appendChild(dd);
}

function renderGrid(grid) {
  const root = el("div", "gm-popup gm-grid-detail");
  root.dataset.gridCode = grid.code;
  root.appendChild(el("h3", "gm-popup-title", grid.name));
  root.appendChild(el("div", "gm-popup-code", S.code + " " + grid.code));

  const figures = el("div", "gm-popup-figures");
  [
    [S.households, grid.household_count, "households"],
    [S.population, grid.population, "population"],
  ].forEach(function (item) {
    const figure = el("div", "gm-figure");
    figure.dataset.figure = item[2];
    figure.appendChild(el("span", "gm-figure-value", formatNumber(item[1])));
    figure.appendChild(el("span", "gm-figure-label", item[0]));
    figures.appendChild(figure);
  });
  root.appendChild(figures);

  const list = el("dl");
  if (grid.village) {
    list.appendChild(el("dt", null, S.village));
    const place = grid.town ? grid.village.name + " · " + grid.town.name : grid.village.name;
    list.appendChild(el("dd", null, place));
  }
  personRow(list, S.gridLeader, grid.leader, S.noGridLeader);
  personRow(list, S.gridMember, grid.member, S.noGridMember);
  personRow(list, S.partyGuide, grid.guide, S.noPartyGuide);
  root.appendChild(list);
  return root;
}

/* --- the map ----------------------------------------------------------------------------- */
window.gridmapInit = function (map) {
  const container = map.getContainer();
  Object.keys(PANES).forEach(function (name) {
    map.createPane(name).style.zIndex = PANES[name];
  });
  // Leaflet expects a basemap; without one the attribution control only advertises Leaflet.
  if (!CONFIG.hasBasemap && map.attributionControl) map.attributionControl.setPrefix(false);

  const land = L.geoJSON(null, { style: STYLE.land });
  if (!CONFIG.hasBasemap) land.addTo(map);

  const districtLevel = boundaries("district", STYLE.district);
  const townLevel = boundaries("town", STYLE.town);
  const villageLevel = boundaries("village", STYLE.village);
  const districts = districtLevel.shapes;
  const towns = townLevel.shapes;
  const villages = villageLevel.shapes;

  let selectedGrid = null;
  const grids = L.geoJSON(null, {
    style: gridStyle,
    onEachFeature: function (feature, layer) {
      hoverTooltip(layer, feature.properties.name, feature.properties.code);
      layer.on("add", function () {
        const path = layer.getElement();
        if (path) path.setAttribute("data-grid-code", feature.properties.code);
      });
      layer.on("mouseover", function () {
        if (layer !== selectedGrid) layer.setStyle(GRID_HOVER);
      });
      layer.on("mouseout", function () {
        if (layer !== selectedGrid) grids.resetStyle(layer);
      });
      layer.on("click", function (event) {
        L.DomEvent.stopPropagation(event);
        openGrid(feature.properties.code, event.latlng, layer);
      });
    },
  });

  // A large jurisdiction's grids come as tiles (clicks open the same popup); small ones as
  // GeoJSON, with hover and selection.
  const gridTileLayer = CONFIG.gridTiles
    ? gridTiles(map, CONFIG, gridStyle, function (code, latlng) {
        openGrid(code, latlng, null);
      })
    : null;
  const incidentLayer = incidentLayers(map, CONFIG, S, NARROW);

  const stations = L.geoJSON(null, {
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, {
        pane: "gm-stations",
        radius: 6.5,
        color: "#ffffff",
        weight: 2,
        fillColor: "#c92a2a",
        fillOpacity: 1,
      });
    },
    onEachFeature: function (feature, layer) {
      const p = feature.properties;
      hoverTooltip(layer, p.name, interpolate(S.stationVillages, { count: p.village_count }));
      const body = el("div", "gm-popup gm-station-detail");
      body.appendChild(el("h3", "gm-popup-title", p.name));
      body.appendChild(el("div", "gm-popup-code", S.code + " " + p.code));
      body.appendChild(el("div", null, interpolate(S.stationVillages, { count: p.village_count })));
      layer.bindPopup(body);
    },
  });

  const buildings = L.geoJSON(null, {
    style: STYLE.building,
    onEachFeature: function (feature, layer) {
      const p = feature.properties;
      hoverTooltip(layer, p.name || S.building, p.grid_code ? S.grid + " " + p.grid_code : "");
      layer.on("click", function (event) {
        L.DomEvent.stopPropagation(event);
        openBuilding(p, event.latlng);
      });
    },
  });

  function findGrid(code) {
    let found = null;
    grids.eachLayer(function (layer) {
      if (layer.feature.properties.code === code) found = layer;
    });
    return found;
  }

  function selectGrid(layer) {
    if (selectedGrid && selectedGrid !== layer) grids.resetStyle(selectedGrid);
    selectedGrid = layer || null;
    if (selectedGrid) {
      selectedGrid.setStyle(GRID_SELECTED);
      selectedGrid.bringToFront();
    }
  }

  // Each click gets a ticket, so a slow answer never fills a newer popup.
  let gridTicket = 0;
  function openGrid(code, latlng, layer) {
    const ticket = ++gridTicket;
    buildingTicket += 1; // a building answer still on its way must not replace this popup
    selectGrid(layer);
    const popup = L.popup({ maxWidth: 320, minWidth: 220, className: "gm-grid-popup", autoPanPadding: [24, 24] })
      .setLatLng(latlng)
      .setContent(el("div", "gm-popup gm-popup-loading", S.loading))
      .openOn(map);
    container.dataset.popup = "loading";
    getJson(gridUrl(code))
      .then(function (feature) {
        if (ticket !== gridTicket) return;
        popup.setContent(renderGrid(feature.properties));
        container.dataset.popup = code;
      })
      .catch(function (error) {
        if (ticket !== gridTicket) return;
        popup.setContent(el("div", "gm-popup gm-popup-error", interpolate(S.gridError, { detail: error.message })));
        container.dataset.popup = "error";
      });
  }

  /* A building's households (GET CONFIG.buildingHouseholdsUrl), each a link to its household
     file, and a button opening the building's grid. Text only. */
  let buildingTicket = 0;
  function openBuilding(p, latlng) {
    const ticket = ++buildingTicket;
    gridTicket += 1; // a grid answer still on its way must not replace this popup
    const popup = L.popup({ maxWidth: 320, minWidth: 220, className: "gm-building-popup", autoPanPadding: [24, 24] })
      .setLatLng(latlng)
      .setContent(el("div", "gm-popup gm-popup-loading", S.loading))
      .openOn(map);
    container.dataset.popup = "loading";
    getJson(CONFIG.buildingHouseholdsUrl.replace("ID", encodeURIComponent(p.id)))
      .then(function (body) {
        if (ticket !== buildingTicket) return;
        popup.setContent(renderBuilding(body, p, latlng));
        container.dataset.popup = "building-" + p.id;
      })
      .catch(function (error) {
        if (ticket !== buildingTicket) return;
        popup.setContent(el("div", "gm-popup gm-popup-error", interpolate(S.buildingError, { detail: error.message })));
        container.dataset.popup = "error";
      });
  }

  function renderBuilding(body, p, latlng) {
    const root = el("div", "gm-popup gm-building-detail");
    root.dataset.building = String(p.id);
    root.appendChild(el("h3", "gm-popup-title", body.building.name || S.building));
    if (body.building.code) root.appendChild(el("div", "gm-popup-code", S.code + " " + body.building.code));
    const households = body.households || [];
    root.appendChild(el("div", null, interpolate(S.buildingHouseholds, { count: formatNumber(households.length) })));
    if (households.length) {
      const list = el("ul", "gm-building-households");
      households.forEach(function (h) {
        const item = el("li");
        const link = el("a", null, h.address);
        link.href = h.url;
        link.dataset.household = h.key;
        item.appendChild(link);
        if (h.key_persons) item.appendChild(el("span", "gm-key-person", " " + S.keyPerson));
        list.appendChild(item);
      });
      root.appendChild(list);
      if (body.truncated) root.appendChild(el("div", "gm-popup-code", S.buildingTruncated));
    }
    if (p.grid_code) {
      const button = el("button", "gm-link-button", S.openGrid);
      button.type = "button";
      button.addEventListener("click", function () {
        openGrid(p.grid_code, latlng, findGrid(p.grid_code));
      });
      root.appendChild(button);
    }
    return root;
  }

  map.on("popupclose", function () {
    selectGrid(null);
  });

  /* layers control: overlays only (django-leaflet's own control when it made one for
     several basemaps) */
  const control = map.layerscontrol || L.control.layers(null, null, { collapsed: NARROW });
  if (!map.layerscontrol) control.addTo(map);
  [
    [districtLevel.overlay, "district", S.districts],
    [townLevel.overlay, "town", S.towns],
    [villageLevel.overlay, "village", S.villages],
    [gridTileLayer || grids, "grid", S.grids],
    [stations, "station", S.stations],
    [buildings, "building", S.buildings],
    [incidentLayer.incidents, "incident", S.incidents],
  ].forEach(function (item) {
    item[0].addTo(map);
    control.addOverlay(item[0], swatch(item[1], item[2]));
  });
  control.addOverlay(incidentLayer.heat, swatch("heat", interpolate(S.heat, { days: formatNumber(CONFIG.heatDays) })));
  incidentLayer.control.addTo(map);

  /* legend */
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    const details = L.DomUtil.create("details", "gm-legend leaflet-control");
    details.open = !NARROW;
    details.appendChild(el("summary", null, S.legend));
    const list = el("ul");
    [
      ["district", S.districts],
      ["town", S.towns],
      ["village", S.villages],
      ["grid", S.grids],
      ["station", S.stations],
      ["building", S.buildings],
      ["selected", S.selectedGrid],
      ["incident-red", S.severityRed],
      ["incident-yellow", S.severityYellow],
      ["incident-blue", S.severityBlue],
      ["incident-finished", S.stateFinished],
    ].forEach(function (item) {
      const li = el("li");
      li.appendChild(el("span", "gm-swatch gm-swatch-" + item[0]));
      li.appendChild(document.createTextNode(item[1]));
      list.appendChild(li);
    });
    details.appendChild(list);
    L.DomEvent.disableClickPropagation(details);
    L.DomEvent.disableScrollPropagation(details);
    return details;
  };
  legend.addTo(map);

  /* "show my whole jurisdiction" button under the zoom buttons */
  let homeBounds = null;
  function fitHome() {
    if (homeBounds && homeBounds.isValid()) map.fitBounds(homeBounds, { padding: [16, 16] });
  }
  const fit = L.control({ position: "topleft" });
  fit.onAdd = function () {
    const bar = L.DomUtil.create("div", "leaflet-bar gm-fit");
    const link = L.DomUtil.create("a", "", bar);
    link.href = "#";
    link.title = S.fitAll;
    link.setAttribute("role", "button");
    link.setAttribute("aria-label", S.fitAll);
    link.innerHTML =
      '<svg viewBox="0 0 20 20" width="16" height="16" aria-hidden="true"><path d="M3 7V3h4M13 3h4v4M17 13v4h-4M7 17H3v-4" fill="none" stroke="#333" stroke-width="2"/></svg>';
    L.DomEvent.on(link, "click", function (event) {
      L.DomEvent.stop(event);
      fitHome();
    });
    L.DomEvent.disableClickPropagation(bar);
    return bar;
  };
  fit.addTo(map);

  /* buildings: by bbox, from CONFIG.buildingMinZoom on, reloaded when the view moves */
  let buildingsRequest = null;
  let buildingsBounds = null;
  function refreshBuildings() {
    if (!map.hasLayer(buildings)) {
      if (buildingsRequest) buildingsRequest.abort();
      setNotice("buildings", null);
      return;
    }
    if (map.getZoom() < CONFIG.buildingMinZoom) {
      if (buildingsRequest) buildingsRequest.abort();
      buildings.clearLayers();
      buildingsBounds = null;
      setNotice("buildings", S.zoomForBuildings, "hint");
      return;
    }
    const view = map.getBounds();
    if (buildingsBounds && buildingsBounds.contains(view)) return;
    setNotice("buildings", null);
    if (buildingsRequest) buildingsRequest.abort();
    buildingsRequest = new AbortController();
    const padded = view.pad(0.25);
    const clamp = function (value, limit) {
      return Math.max(-limit, Math.min(limit, value)).toFixed(6);
    };
    const bbox = [
      clamp(padded.getWest(), 180),
      clamp(padded.getSouth(), 90),
      clamp(padded.getEast(), 180),
      clamp(padded.getNorth(), 90),
    ].join(",");
    getJson(layerUrl("building", { bbox: bbox }), buildingsRequest.signal)
      .then(function (collection) {
        buildings.clearLayers();
        buildings.addData(collection);
        // A cut list must be fetched again for any other view.
        buildingsBounds = collection.truncated ? null : padded;
        if (collection.truncated) {
          setNotice(
            "buildings",
            interpolate(S.buildingsTruncated, { count: formatNumber(collection.features.length) }),
            "hint"
          );
        }
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        setNotice("buildings", interpolate(S.layerError, { layer: S.buildings, detail: error.message }), "error");
      });
  }
  map.on("moveend", refreshBuildings);
  map.on("overlayadd overlayremove", function (event) {
    if (event.layer === buildings) refreshBuildings();
  });
  map.on("zoomend", function () {
    updateLabelClasses(map);
  });
  updateLabelClasses(map);

  /* initial layers: everything in the jurisdiction except buildings */
  const initial = [
    ["district", S.districts, [districts, land]],
    ["town", S.towns, [towns]],
    ["village", S.villages, [villages]],
    ["grid", S.grids, [grids]],
    ["station", S.stations, [stations]],
  ].filter(function (item) {
    return !(gridTileLayer && item[0] === "grid");
  });
  let errors = 0;
  const loads = initial.map(function (item) {
    const level = item[0];
    return getJson(layerUrl(level))
      .then(function (collection) {
        item[2].forEach(function (layer) {
          layer.addData(collection);
        });
        container.dataset["count" + level.charAt(0).toUpperCase() + level.slice(1)] = String(
          collection.features.length
        );
        if (level === "district") {
          // Home: the server's extent of the user's own places (a grid leader's grid), else
          // every district in view. A grid named in the address (?grid=CODE) is fitted once
          // every layer is in.
          const home = CONFIG.home;
          homeBounds = home ? L.latLngBounds([home[1], home[0]], [home[3], home[2]]) : districts.getBounds();
          if (!homeBounds.isValid()) setNotice("empty", S.emptyJurisdiction, "hint");
          else if (!WANTED_GRID) fitHome();
        }
      })
      .catch(function (error) {
        errors += 1;
        setNotice("layer-" + level, interpolate(S.layerError, { layer: item[1], detail: error.message }), "error");
      });
  });
  // For the browser console and the browser tests.
  window.gridmap = {
    map: map,
    layers: {
      districts: districts,
      towns: towns,
      villages: villages,
      grids: gridTileLayer || grids,
      stations: stations,
      buildings: buildings,
      incidents: incidentLayer.incidents,
      heat: incidentLayer.heat,
    },
    openGrid: openGrid,
    openBuilding: openBuilding,
  };

  Promise.all(loads).then(function () {
    container.dataset.errors = String(errors);
    // /map/?grid=CODE (the coverage page's links): open on that grid when it is in the
    // jurisdiction's layer, else on the whole jurisdiction as usual.
    const layer = WANTED_GRID ? findGrid(WANTED_GRID) : null;
    if (layer) {
      map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 17, animate: false });
      openGrid(WANTED_GRID, layer.getBounds().getCenter(), layer);
    } else if (WANTED_GRID) {
      fitHome();
    }
    container.dataset.loaded = "true";
    refreshBuildings();
  });
};
