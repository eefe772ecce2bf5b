/*
 * gridmap: the ten-household unit editor, the "Ten-household unit" tab of the field page
 * (/field/). Pick member households on the map (tap, or drag a box), choose the head and
 * the party-member central household, name it, save (POST CONFIG.unitsUrl); the warnings
 * and who was notified are shown. A household already in a unit cannot join another.
 *
 * The field page sets it up with setUpUnitEditor({root, map, strings, config, ui}): its
 * root element (#field, whose .fd-unit form and panels this fills), the Leaflet map, the
 * page's text and settings, and the page's own toast, mapHint, fieldError, clearErrors,
 * showApiErrors, showPanel and personRow. It answers with the mode's handlers. For the
 * browser tests #field carries data-households (drawn) and data-selected (chosen).
 */
import { el, fetchJson, interpolate, isAuthError, jsonPost, textTooltip, withQuery } from "../gridmap/common.js";

let root = null;
let map = null;
let S = {};
let CONFIG = {};
let ui = null;
let unitForm = null;

function $(selector, scope) {
  return (scope || root).querySelector(selector);
}

function api(url, options) {
  return fetchJson(url, options, S.networkError);
}

const unit = {
  households: new Map(), // id -> {feature, layer}
  selected: new Map(), // id -> feature (kept when the view moves)
  head: null,
  central: null,
  layer: null,
  units: null,
  request: null,
  boxMode: false,
  active: false, // the unit mode is on
};

const HOUSEHOLD_STYLE = {
  base: { radius: 9, weight: 2, color: "#1f2933", fillColor: "#ffffff", fillOpacity: 1 },
  inUnit: { radius: 9, weight: 2, color: "#7c8a99", fillColor: "#d5dbe1", fillOpacity: 1 },
  selected: { radius: 11, weight: 3, color: "#ffffff", fillColor: "#a61c1c", fillOpacity: 1 },
};

function householdStyle(id) {
  const entry = unit.households.get(id);
  const p = (entry && entry.feature.properties) || {};
  const style = Object.assign(
    {},
    unit.selected.has(id) ? HOUSEHOLD_STYLE.selected : p.ten_household_unit ? HOUSEHOLD_STYLE.inUnit : HOUSEHOLD_STYLE.base
  );
  if (p.is_central_household && !unit.selected.has(id)) style.color = "#c48a00";
  return style;
}

/* Tap or box: a household already in a unit cannot join another one (the API says so
   too), so it is left out with a word why. Returns whether it is selected now. */
function toggleHousehold(id, on, quiet) {
  const entry = unit.households.get(id);
  const want = on === undefined ? !unit.selected.has(id) : on;
  if (want && entry && entry.feature.properties.ten_household_unit && !unit.selected.has(id)) {
    if (!quiet) ui.toast(S.inUnitAlready, "warning");
    return false;
  }
  if (want && entry) unit.selected.set(id, entry.feature);
  if (!want) {
    unit.selected.delete(id);
    if (unit.head === id) unit.head = null;
  }
  if (entry) {
    entry.layer.setStyle(householdStyle(id));
    const path = entry.layer.getElement();
    if (path) path.setAttribute("data-selected", want ? "true" : "false");
  }
  return want;
}

function householdLabel(feature) {
  const p = feature.properties || {};
  return p.address || "#" + (feature.id || p.id);
}

/* Addresses without the part every selected one shares (district, town, community):
   "钦南区胜利街道长安社区滨江路49号2单元402" -> "滨江路49号2单元402". */
function sharedPrefix(features) {
  const addresses = features
    .map(function (feature) {
      return feature.properties.address || "";
    })
    .filter(Boolean);
  if (!addresses.length) return "";
  let prefix = addresses[0];
  addresses.forEach(function (address) {
    while (address.indexOf(prefix) !== 0) prefix = prefix.slice(0, -1);
  });
  const cut = Math.max(-1, ...["区", "县", "街道", "镇", "乡", "社区", "村"].map(function (word) {
    const at = prefix.lastIndexOf(word);
    return at === -1 ? -1 : at + word.length;
  }));
  return cut > 0 ? prefix.slice(0, cut) : "";
}

function shortAddress(feature, prefix) {
  const full = householdLabel(feature);
  return prefix && full.indexOf(prefix) === 0 && full.length > prefix.length ? full.slice(prefix.length) : full;
}

function latLngOf(feature) {
  const c = feature.geometry.coordinates;
  return L.latLng(c[1], c[0]);
}

/* The central household: a party member's household (a CentralHousehold of the layer),
   a member of the unit or not; the nearest to the selection comes first. */
function renderCentralChoices() {
  const select = $("#fd-unit-central");
  const centre = unit.selected.size
    ? L.latLngBounds(Array.from(unit.selected.values()).map(latLngOf)).getCenter()
    : map.getCenter();
  const candidates = [];
  const seen = new Set();
  unit.selected.forEach(function (feature) {
    candidates.push(feature);
    seen.add(feature.properties.central_household);
  });
  unit.households.forEach(function (entry) {
    if (!seen.has(entry.feature.properties.central_household)) candidates.push(entry.feature);
  });
  const options = candidates
    .filter(function (feature) {
      return feature.properties.central_household;
    })
    .map(function (feature) {
      return { feature: feature, metres: Math.round(centre.distanceTo(latLngOf(feature))) };
    })
    .sort(function (a, b) {
      return a.metres - b.metres;
    })
    .slice(0, 12);
  if (unit.central === null && options.length && unit.selected.size) {
    unit.central = options[0].feature.properties.central_household;
  }
  select.textContent = "";
  const none = el("option", null, options.length ? S.chooseCentral : S.noCentralNearby);
  none.value = "";
  select.appendChild(none);
  options.forEach(function (option) {
    const p = option.feature.properties;
    const parts = [householdLabel(option.feature), interpolate(S.distance, { metres: option.metres })];
    if (unit.selected.has(option.feature.id !== undefined ? option.feature.id : p.id)) parts.push(S.member);
    const node = el("option", null, parts.join(" · "));
    node.value = String(p.central_household);
    node.selected = unit.central === p.central_household;
    select.appendChild(node);
  });
}

function renderMembers() {
  const count = unit.selected.size;
  const box = $("[data-unit-count]", unitForm);
  $("[data-unit-count-text]", unitForm).textContent = interpolate(S.selectedCount, { count: count });
  $("[data-unit-size-hint]", unitForm).textContent = interpolate(S.unitSizeHint, { min: CONFIG.unitMin, max: CONFIG.unitMax });
  box.dataset.state = count === 0 ? "empty" : count < CONFIG.unitMin || count > CONFIG.unitMax ? "warn" : "ok";
  if (unit.head === null && count) unit.head = unit.selected.keys().next().value;
  const list = $("[data-members]", unitForm);
  list.textContent = "";
  const prefix = sharedPrefix(Array.from(unit.households.values()).map(function (entry) {
    return entry.feature;
  }).concat(Array.from(unit.selected.values())));
  unit.selected.forEach(function (feature, id) {
    const p = feature.properties || {};
    const row = el("li", "fd-member");
    row.dataset.householdId = id;
    const name = el("div", "fd-member-name");
    name.title = householdLabel(feature);
    name.appendChild(el("span", null, shortAddress(feature, prefix)));
    if (p.is_central_household) name.appendChild(el("span", "fd-tag fd-tag-central", S.centralHousehold));
    row.appendChild(name);
    const choices = el("div", "fd-member-roles");
    const option = el("label", "fd-toggle");
    const input = el("input");
    input.type = "radio";
    input.name = "unit-head";
    input.value = id;
    input.checked = unit.head === id;
    input.addEventListener("change", function () {
      unit.head = id;
    });
    option.appendChild(input);
    option.appendChild(el("span", null, S.head));
    choices.appendChild(option);
    const remove = el("button", "fd-member-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", S.removeHousehold);
    remove.addEventListener("click", function () {
      toggleHousehold(id, false);
      renderMembers();
    });
    choices.appendChild(remove);
    row.appendChild(choices);
    list.appendChild(row);
  });
  root.dataset.selected = String(count);
  renderCentralChoices();
}

function unitsBbox() {
  return map.getBounds().toBBoxString();
}

async function loadHouseholds() {
  if (!unit.active) return;
  if (map.getZoom() < CONFIG.householdMinZoom) {
    unit.layer.clearLayers();
    unit.households.clear();
    ui.mapHint(S.zoomForHouseholds);
    return;
  }
  ui.mapHint("");
  if (unit.request) unit.request.abort();
  const controller = new AbortController();
  unit.request = controller;
  try {
    const answer = await api(withQuery(CONFIG.householdsUrl, { bbox: unitsBbox(), page_size: "1000" }), {
      signal: controller.signal,
    });
    const body = answer.body || {};
    unit.layer.clearLayers();
    unit.households.clear();
    // Households that can still join a unit are drawn last, on top of the others.
    const features = (body.features || []).slice().sort(function (a, b) {
      return (b.properties.ten_household_unit ? 1 : 0) - (a.properties.ten_household_unit ? 1 : 0);
    });
    features.forEach(function (feature) {
      const id = feature.id !== undefined ? feature.id : feature.properties.id;
      const c = feature.geometry.coordinates;
      const layer = L.circleMarker([c[1], c[0]], Object.assign({ pane: "fd-households", bubblingMouseEvents: false }, HOUSEHOLD_STYLE.base));
      unit.households.set(id, { feature: feature, layer: layer });
      if (unit.selected.has(id)) unit.selected.set(id, feature);
      layer.setStyle(householdStyle(id));
      textTooltip(layer, householdLabel(feature), { direction: "top", offset: [0, -8] });
      layer.on("click", function (event) {
        L.DomEvent.stopPropagation(event);
        toggleHousehold(id);
        renderMembers();
      });
      layer.on("add", function () {
        const path = layer.getElement();
        if (path) {
          path.setAttribute("data-household-id", String(id));
          path.setAttribute("data-selected", unit.selected.has(id) ? "true" : "false");
        }
      });
      unit.layer.addLayer(layer);
    });
    root.dataset.households = String(unit.households.size);
    renderCentralChoices();
    if (body.next) ui.mapHint(interpolate(S.householdsTruncated, { count: unit.households.size }));
  } catch (error) {
    if (error.name === "AbortError") return;
    ui.toast(interpolate(S.householdsError, { detail: error.message }), "error");
  }
  loadUnits();
}

async function loadUnits() {
  try {
    const answer = await api(withQuery(CONFIG.unitsUrl, { bbox: unitsBbox() }));
    const body = answer.body || {};
    unit.units.clearLayers();
    if (body.type === "FeatureCollection") unit.units.addData(body);
  } catch (error) {
    // Existing units are context only.
  }
}

/* Drag a box over households to select them (map dragging is off meanwhile). */
function setBoxMode(on) {
  unit.boxMode = on;
  const button = $(".fd-boxselect");
  button.setAttribute("aria-pressed", on ? "true" : "false");
  button.classList.toggle("is-active", on);
  map.getContainer().classList.toggle("fd-drawing", on);
  if (on) {
    map.dragging.disable();
    ui.mapHint(S.drawBoxHint);
  } else {
    map.dragging.enable();
    ui.mapHint(map.getZoom() < CONFIG.householdMinZoom ? S.zoomForHouseholds : "");
  }
}

function setUpBoxSelect() {
  const container = map.getContainer();
  let start = null;
  let rectangle = null;
  container.addEventListener("pointerdown", function (event) {
    if (!unit.boxMode || !unit.active || event.button > 0) return;
    event.preventDefault();
    event.stopPropagation();
    start = map.mouseEventToLatLng(event);
    rectangle = L.rectangle(L.latLngBounds(start, start), { className: "fd-box", interactive: false }).addTo(map);
    try {
      container.setPointerCapture(event.pointerId);
    } catch (e) {
      /* not capturable */
    }
  });
  container.addEventListener("pointermove", function (event) {
    if (!start) return;
    rectangle.setBounds(L.latLngBounds(start, map.mouseEventToLatLng(event)));
  });
  function finish(event) {
    if (!start) return;
    const bounds = L.latLngBounds(start, map.mouseEventToLatLng(event));
    start = null;
    rectangle.remove();
    rectangle = null;
    let skipped = 0;
    unit.households.forEach(function (entry, id) {
      if (bounds.contains(entry.layer.getLatLng()) && !toggleHousehold(id, true, true)) skipped += 1;
    });
    if (skipped) ui.toast(interpolate(S.skippedInUnit, { count: skipped }), "warning");
    renderMembers();
    setBoxMode(false);
  }
  container.addEventListener("pointerup", finish);
  container.addEventListener("pointercancel", finish);
}

function validateUnit() {
  ui.clearErrors(unitForm);
  const problems = [];
  if (!unit.selected.size) problems.push(["members", S.needHouseholds]);
  else if (unit.head === null) problems.push(["head_household", S.needHead]);
  if (unit.central === null) problems.push(["central_household", S.needCentral]);
  if (!$("#fd-unit-name").value.trim()) problems.push(["name", S.needName]);
  problems.forEach(function (problem) {
    ui.fieldError(unitForm, problem[0], problem[1]);
  });
  return problems.length === 0;
}

async function saveUnit() {
  if (!validateUnit()) return;
  if (!navigator.onLine) {
    ui.fieldError(unitForm, "unit-form", S.unitOffline);
    return;
  }
  const button = $(".fd-submit", unitForm);
  button.disabled = true;
  button.textContent = S.sending;
  try {
    const answer = await api(CONFIG.unitsUrl, jsonPost({
      name: $("#fd-unit-name").value.trim(),
      head_household: unit.head,
      central_household: unit.central,
      members: Array.from(unit.selected.keys()),
    }));
    showUnitResult(answer.body || {});
    unit.selected.clear();
    unit.head = unit.central = null;
    unit.layer.eachLayer(function (layer) {
      layer.setStyle(HOUSEHOLD_STYLE.base);
    });
    $("#fd-unit-name").value = "";
    renderMembers();
    loadHouseholds();
  } catch (error) {
    if (error.network) ui.fieldError(unitForm, "unit-form", S.unitOffline);
    else if (isAuthError(error)) ui.fieldError(unitForm, "unit-form", S.loginExpired);
    else ui.showApiErrors(unitForm, error, "unit-form");
  } finally {
    button.disabled = false;
    button.textContent = S.saveUnit;
  }
}

function showUnitResult(result) {
  const panel = $('[data-panel="unit-result"]');
  panel.textContent = "";
  const warnings = result.warnings || [];
  const head = el("header", "fd-panel-head fd-result-banner" + (warnings.length ? " is-warning" : ""));
  head.appendChild(el("h2", "fd-title", warnings.length ? S.unitWarnings : S.unitSaved));
  const households = result.households;
  const count = Array.isArray(households) ? households.length : households;
  head.appendChild(el("p", "fd-where", [result.name, result.grid && (result.grid.name || result.grid.code || result.grid), count ? interpolate(S.householdCount, { count: count }) : ""].filter(Boolean).join(" · ")));
  panel.appendChild(head);
  panel.dataset.unitId = result.id;
  if (warnings.length) {
    const box = el("ul", "fd-alert fd-alert-warning fd-warnings");
    box.setAttribute("role", "alert");
    warnings.forEach(function (text) {
      box.appendChild(el("li", null, text));
    });
    panel.appendChild(box);
  }
  const people = result.recipients || [];
  const group = el("section", "fd-people");
  group.appendChild(el("h4", "fd-people-title", S.notified));
  const list = el("ul", "fd-people-list");
  people.forEach(function (person) {
    list.appendChild(ui.personRow(person));
  });
  group.appendChild(list);
  panel.appendChild(group);
  const again = el("button", "fd-submit", S.newUnit);
  again.type = "button";
  again.addEventListener("click", function () {
    ui.showPanel("unit");
  });
  panel.appendChild(again);
  ui.showPanel("unit-result");
}

/* --- the mode ------------------------------------------------------------------------------ */
function enter() {
  unit.active = true;
  $(".fd-boxselect").hidden = false;
  unit.layer.addTo(map);
  unit.units.addTo(map);
  ui.showPanel("unit");
  renderMembers();
  loadHouseholds();
}

function leave() {
  unit.active = false;
  $(".fd-boxselect").hidden = true;
  if (unit.boxMode) setBoxMode(false);
  map.removeLayer(unit.layer);
  map.removeLayer(unit.units);
}

function clearSelection() {
  Array.from(unit.selected.keys()).forEach(function (id) {
    toggleHousehold(id, false);
  });
  unit.central = null;
  renderMembers();
}

export function setUpUnitEditor(options) {
  root = options.root;
  map = options.map;
  S = options.strings;
  CONFIG = options.config;
  ui = options.ui;
  unitForm = $(".fd-unit");

  map.createPane("fd-households").style.zIndex = 620;
  unit.layer = L.layerGroup();
  unit.units = L.geoJSON(null, {
    interactive: false,
    style: { color: "#7048e8", weight: 1.5, opacity: 0.7, fillColor: "#d0bfff", fillOpacity: 0.08, dashArray: "4 3" },
  });
  map.on("moveend", function () {
    if (unit.active) loadHouseholds();
  });
  setUpBoxSelect();
  unitForm.addEventListener("submit", function (event) {
    event.preventDefault();
    saveUnit();
  });
  $("#fd-unit-central").addEventListener("change", function (event) {
    unit.central = event.target.value ? Number(event.target.value) : null;
  });

  return {
    enter: enter,
    leave: leave,
    render: renderMembers,
    toggleBoxSelect: function () {
      setBoxMode(!unit.boxMode);
    },
    clearSelection: clearSelection,
  };
}
