/*
 * gridmap: the catchment plan editor (/plans/<id>/).
 *
 * django-leaflet creates the map and calls window.planEditorInit(map). The plan comes from
 * GET /api/plans/<id>/ (stations with their figures and colours, the assignment, the
 * violations, can_undo/can_redo, the latest changes) and the village polygons once from
 * GET /api/plans/<id>/villages/. Every edit is one POST of the planning API, which answers
 * with the plan as it now is: the page redraws colours, markers, figures and rules from that
 * answer only, so what is shown is always what the server holds.
 *
 * A refused change (400 with errors.constraints) shows every reason and, when a reason may
 * override it, a field that sends the same request again with override_reason.
 *
 * Hooks for tests: #plan-editor gets data-ready="true" after the first draw, data-version
 * counts the draws, data-busy is "true" while a request runs, data-mode is the map mode.
 * UI text comes from the "plan-strings" JSON the template renders in the active language.
 */
import { el, fetchJson, formatNumber, interpolate, jsonPost, readJson, textTooltip } from "../gridmap/common.js";

const S = readJson("plan-strings");
const C = readJson("plan-config");
const root = document.getElementById("plan-editor");
const MAX_LABELS = 120;

function $(selector) {
  return root.querySelector(selector);
}

function role(name) {
  return root.querySelector('[data-role="' + name + '"]');
}

function minutes(value, estimated) {
  if (value === null || value === undefined) return "–";
  return (estimated ? "≈" : "") + interpolate(S.minutes, { value: formatNumber(value) });
}

/* --- talking to the API ------------------------------------------------------------------ */
let pending = 0;
function busy(delta) {
  pending = Math.max(0, pending + delta);
  root.dataset.busy = pending > 0 ? "true" : "false";
}

/* The answer's body (``init``: fetch's options); an Error with .status and .body when the
 * API refuses. data-busy is "true" meanwhile. */
async function request(url, init) {
  busy(1);
  try {
    return (await fetchJson(url, init, S.networkError)).body;
  } finally {
    busy(-1);
  }
}

/* --- state ---------------------------------------------------------------------------------- */
const state = {
  map: null,
  plan: null,
  colours: {},
  stations: {}, // code -> feature properties
  villageLayers: {}, // code -> Leaflet layer
  villageNames: {},
  markers: {}, // code -> Leaflet marker
  selected: null,
  mode: "select",
  stroke: null,
  suppressClick: false,
  refused: [], // villages of a refused change, outlined until the message goes
  version: 0,
};

function editable() {
  return !!(state.plan && state.plan.editable);
}

function stationLabel(code) {
  const station = state.stations[code];
  return station ? station.name + " (" + code + ")" : code || S.unassigned;
}

function villageLabel(code) {
  const name = state.villageNames[code];
  return name ? name + " (" + code + ")" : code;
}

/* --- messages ------------------------------------------------------------------------------- */
function flash(text) {
  const node = role("flash");
  node.textContent = text || "";
}

function hideMessage() {
  if (state.refused.length) {
    state.refused = [];
    if (state.plan && state.map) recolour();
  }
  const box = role("message");
  box.hidden = true;
  box.className = "pl-message";
  box.replaceChildren();
  delete root.dataset.message;
}

function showMessage(kind, build) {
  const box = role("message");
  box.replaceChildren();
  box.className = "pl-message pl-message-" + kind;
  build(box);
  box.hidden = false;
  root.dataset.message = kind;
  box.focus({ preventScroll: true });
  box.scrollIntoView({ block: "nearest" });
}

function reasonsList(errors, detail) {
  const list = el("ul", "pl-reasons");
  const messages = [];
  Object.keys(errors || {}).forEach(function (field) {
    (errors[field] || []).forEach(function (message) {
      messages.push(message);
    });
  });
  if (!messages.length && detail) messages.push(detail);
  messages.forEach(function (message) {
    list.appendChild(el("li", null, message));
  });
  return list;
}

function button(text, className, onClick) {
  const node = el("button", className || "gm-button pl-button-secondary", text);
  node.type = "button";
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

/* A refused write: every reason, and (when a reason may override it) the override form. */
function showRefusal(error, retry) {
  const body = error.body || {};
  const errors = body.errors || {};
  const overridable = !!body.overridable && !!retry;
  showMessage("refused", function (box) {
    box.appendChild(el("h3", null, S.refusedTitle));
    box.appendChild(reasonsList(errors, error.message));
    if (overridable) {
      const form = el("form", "pl-override");
      form.noValidate = true;
      const id = "pl-override-" + Date.now();
      const label = el("label", null, S.overrideLabel);
      label.htmlFor = id;
      const input = el("textarea");
      input.id = id;
      input.name = "override_reason";
      input.rows = 2;
      const help = el("p", "pl-help gm-muted", S.overrideHelp);
      const actions = el("div", "pl-buttons");
      const apply = el("button", "gm-button gm-button-primary", S.overrideApply);
      apply.type = "submit";
      actions.appendChild(apply);
      actions.appendChild(button(S.cancel, null, hideMessage));
      form.append(label, input, help, actions);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const reason = input.value.trim();
        if (!reason) {
          input.setAttribute("aria-invalid", "true");
          help.textContent = S.overrideNeedReason;
          input.focus();
          return;
        }
        retry(reason);
      });
      box.appendChild(form);
    } else {
      if (errors.constraints && body.overridable === false) {
        box.appendChild(el("p", "pl-help", S.refusedFinal));
      }
      const actions = el("div", "pl-buttons");
      actions.appendChild(button(S.dismiss, null, hideMessage));
      box.appendChild(actions);
    }
  });
}

function showError(error) {
  showMessage("error", function (box) {
    box.appendChild(reasonsList((error.body && error.body.errors) || {}, error.message));
    const actions = el("div", "pl-buttons");
    actions.appendChild(button(S.dismiss, null, hideMessage));
    box.appendChild(actions);
  });
}

/* A question with optional fields; ``onConfirm(values)``, ``onCancel()``. */
function ask(text, fields, onConfirm, onCancel) {
  showMessage("confirm", function (box) {
    const form = el("form", "pl-ask");
    form.noValidate = true;
    form.appendChild(el("p", "pl-ask-text", text));
    const inputs = {};
    (fields || []).forEach(function (field, index) {
      const id = "pl-ask-" + index + "-" + Date.now();
      const label = el("label", null, field.label);
      label.htmlFor = id;
      const input = el(field.multiline ? "textarea" : "input");
      input.id = id;
      input.name = field.name;
      if (!field.multiline) input.type = "text";
      else input.rows = 2;
      if (field.value) input.value = field.value;
      inputs[field.name] = input;
      const wrap = el("div", "pl-field");
      wrap.append(label, input);
      form.appendChild(wrap);
    });
    const actions = el("div", "pl-buttons");
    const ok = el("button", "gm-button gm-button-primary", S.confirm);
    ok.type = "submit";
    ok.dataset.role = "confirm";
    actions.appendChild(ok);
    actions.appendChild(
      button(S.cancel, null, function () {
        hideMessage();
        if (onCancel) onCancel();
      })
    );
    form.appendChild(actions);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const values = {};
      let missing = null;
      (fields || []).forEach(function (field) {
        values[field.name] = inputs[field.name].value.trim();
        if (field.required && !values[field.name] && !missing) missing = inputs[field.name];
      });
      if (missing) {
        missing.setAttribute("aria-invalid", "true");
        missing.focus();
        return;
      }
      hideMessage();
      onConfirm(values);
    });
    box.appendChild(form);
    const first = form.querySelector("input, textarea");
    if (first) setTimeout(function () { first.focus(); }, 0);
  });
}

/* --- writes --------------------------------------------------------------------------------- */
/* POST ``json`` to ``url``; on success redraw from the answer and call ``done(body)``. A
 * refusal under "constraints" offers to send it again with a reason. */
/* Writes go one after the other (a quick second click waits for the first answer), so
 * the last answer drawn is always the server's latest state. */
let queue = Promise.resolve();
function write(url, json, done, options) {
  const run = queue.then(function () {
    return send(url, json, done, options);
  });
  queue = run.catch(function () {});
  return run;
}

async function send(url, json, done, options) {
  options = options || {};
  if (!options.keepMessage) hideMessage();
  flash(S.saving);
  let body;
  try {
    body = await request(url, options.form ? { method: "POST", body: options.form } : jsonPost(json || {}));
  } catch (error) {
    flash("");
    if (options.onError) options.onError(error);
    if (error.status === 400 && !options.form) {
      showRefusal(error, function (reason) {
        const again = Object.assign({}, json || {}, { override_reason: reason });
        write(url, again, done, options);
      });
    } else if (error.status === 400) {
      showRefusal(error, null);
    } else {
      showError(error);
    }
    render(state.plan); // a brush preview goes back to what the server holds
    return null;
  }
  hideMessage();
  render(body);
  flash(done ? done(body) || "" : "");
  return body;
}

function assign(codes, station, action) {
  if (!codes.length) return;
  const options = {
    onError: function (error) {
      if (error.status === 400) state.refused = codes.slice();
    },
  };
  write(C.assignUrl, { villages: codes, station: station, action: action }, function (body) {
    const changed = body.changed || [];
    if (!changed.length) return S.nothingChanged;
    if (changed.length === 1) {
      return interpolate(S.moved, { village: villageLabel(changed[0]), station: stationLabel(station) });
    }
    return interpolate(S.movedMany, { count: changed.length, station: stationLabel(station) });
  }, options);
}

function undo() {
  if (!state.plan || !state.plan.can_undo) return;
  write(C.undoUrl, {}, function () {
    return S.undone;
  });
}

function redo() {
  if (!state.plan || !state.plan.can_redo) return;
  write(C.redoUrl, {}, function () {
    return S.redone;
  });
}

function stationUrl(template, code) {
  return template.replace("CODE", encodeURIComponent(code));
}

function toggleLock(code) {
  const station = state.stations[code];
  write(stationUrl(C.stationLockUrl, code), { locked: !station.locked });
}

function retire(code) {
  const station = state.stations[code];
  const fields = [];
  let text = interpolate(S.retireAsk, { name: stationLabel(code) });
  if (station.villages > 0) {
    text += " " + interpolate(S.retireHolds, { count: station.villages });
    fields.push({ name: "override_reason", label: S.overrideLabel, multiline: true, required: true });
  }
  ask(text, fields, function (values) {
    if (state.selected === code) state.selected = null;
    write(stationUrl(C.stationRetireUrl, code), values);
  });
}

function moveStation(code, marker, from) {
  const to = marker.getLatLng();
  ask(
    interpolate(S.moveAsk, { name: stationLabel(code) }),
    [],
    function () {
      write(stationUrl(C.stationMoveUrl, code), { lon: to.lng, lat: to.lat }, null, {
        onError: function () {
          marker.setLatLng(from);
        },
      });
    },
    function () {
      marker.setLatLng(from);
    }
  );
}

function addStation(latlng) {
  const ghost = L.circleMarker(latlng, { radius: 10, color: "#a61c1c", weight: 2, dashArray: "3 3", fillOpacity: 0.1 }).addTo(state.map);
  ask(
    S.addAsk,
    [{ name: "name", label: S.addName, required: true }],
    function (values) {
      state.map.removeLayer(ghost);
      write(C.stationAddUrl, { name: values.name, lon: latlng.lng, lat: latlng.lat }, function (body) {
        if (body.station) state.selected = body.station;
        setMode("select");
        render(state.plan);
        return interpolate(S.added, { name: stationLabel(body.station) });
      });
    },
    function () {
      state.map.removeLayer(ghost);
    }
  );
}

function solve(mode) {
  const stayClose = role("stay-close").checked;
  const report = role("report");
  report.hidden = false;
  report.replaceChildren(el("p", "pl-solving", interpolate(S.solving, { seconds: C.solverSeconds })));
  root.querySelectorAll('[data-action="propose"], [data-action="repair"]').forEach(function (b) {
    b.disabled = true;
  });
  write(C.solveUrl, { mode: mode, stay_close: mode === "propose" && stayClose }, function (body) {
    showReport(body.report);
    const found = body.report && (body.report.status === "optimal" || body.report.status === "feasible");
    if (!found) return S.solverNothing;
    if (!body.report.applied) return S.solverSame;
    return interpolate(mode === "repair" ? S.repairDone : S.proposeDone, { count: body.report.applied });
  }, {
    onError: function () {
      report.hidden = true;
    },
  }).finally(function () {
    root.querySelectorAll('[data-action="propose"], [data-action="repair"]').forEach(function (b) {
      b.disabled = false;
    });
  });
}

function showReport(report) {
  const box = role("report");
  box.replaceChildren();
  if (!report) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.dataset.status = report.status;
  const statusText = {
    optimal: S.statusOptimal,
    feasible: S.statusFeasible,
    infeasible: S.statusInfeasible,
    unknown: S.statusUnknown,
  }[report.status] || report.status;
  const c = report.constraints || {};
  const rows = [
    [S.meanTravel, minutes(report.mean_minutes, false), "mean"],
    [S.villagesMoved, formatNumber(report.moved), "moved"],
    [S.changedFromPublished, formatNumber(report.changed_from_published), "changed"],
    [S.timeTaken, interpolate(S.seconds, { value: formatNumber(report.seconds_taken) }), "time"],
    [S.status, statusText, "status"],
  ];
  const dl = el("dl", "pl-report-figures");
  rows.forEach(function (row) {
    const wrap = el("div");
    wrap.dataset.figure = row[2];
    wrap.append(el("dt", null, row[0]), el("dd", null, row[1]));
    dl.appendChild(wrap);
  });
  box.appendChild(dl);
  const checks = el("ul", "pl-report-checks");
  checks.setAttribute("aria-label", S.constraintsMet);
  [
    ["all_assigned", S.allAssigned],
    ["own_town_ok", S.ownTown],
    ["sizes_ok", S.sizes],
    ["contiguous_ok", S.contiguity],
    ["locked_ok", S.lockedKept],
  ].forEach(function (item) {
    if (!(item[0] in c)) return;
    const ok = !!c[item[0]];
    const li = el("li", ok ? "is-ok" : "is-bad", (ok ? "✓ " : "✗ ") + item[1]);
    li.dataset.check = item[0];
    checks.appendChild(li);
  });
  box.appendChild(el("h3", null, S.constraintsMet));
  box.appendChild(checks);
  (report.messages || []).forEach(function (message) {
    box.appendChild(el("p", "pl-help gm-muted", message));
  });
}

function publish(event) {
  event.preventDefault();
  const form = role("publish-form");
  const date = form.elements.effective_from.value || C.today;
  const reason = form.elements.override_reason.value.trim();
  const violations = (state.plan.violations || []).length;
  if (violations && !reason) {
    const field = form.elements.override_reason;
    field.setAttribute("aria-invalid", "true");
    field.focus();
    showMessage("error", function (box) {
      box.appendChild(el("p", null, S.publishNeedsReason));
      box.appendChild(button(S.dismiss, null, hideMessage));
    });
    return;
  }
  ask(interpolate(S.publishAsk, { date: date }), [], function () {
    write(C.publishUrl, { effective_from: date, override_reason: reason }, function () {
      state.selected = null;
      setMode("select");
      render(state.plan);
      window.scrollTo(0, 0);
      role("banner").scrollIntoView({ block: "nearest" });
      return ""; // the banner says it
    });
  });
}

function importCsv(event) {
  event.preventDefault();
  const input = document.getElementById("pl-csv");
  if (!input.files || !input.files.length) {
    showMessage("error", function (box) {
      box.appendChild(el("p", null, S.importChoose));
      box.appendChild(button(S.dismiss, null, hideMessage));
    });
    return;
  }
  const form = new FormData();
  form.append("file", input.files[0]);
  write(C.importUrl, null, function (body) {
    input.value = "";
    return interpolate(S.importDone, { count: body.imported || 0 });
  }, { form: form });
}

/* --- the map -------------------------------------------------------------------------------- */
function villageStyle(code) {
  const station = state.plan ? state.plan.assignment[code] : null;
  const colour = station ? state.colours[station] : null;
  const selected = !!station && station === state.selected;
  if (state.refused.indexOf(code) >= 0) {
    return {
      color: "#c92a2a",
      weight: 3,
      opacity: 1,
      fillColor: colour || "url(#pl-hatch)",
      fillOpacity: colour ? 0.72 : 1,
      dashArray: "6 4",
    };
  }
  if (!colour) {
    return { color: "#5c6773", weight: 1.2, opacity: 0.9, fillColor: "url(#pl-hatch)", fillOpacity: 1, dashArray: null };
  }
  return {
    color: selected ? "#1f2933" : "#ffffff",
    weight: selected ? 2.6 : 1.4,
    opacity: 1,
    fillColor: colour,
    fillOpacity: state.selected && !selected ? 0.45 : 0.72,
    dashArray: null,
  };
}

function recolour() {
  Object.keys(state.villageLayers).forEach(function (code) {
    const layer = state.villageLayers[code];
    layer.setStyle(villageStyle(code));
    const path = layer.getElement && layer.getElement();
    if (path) path.setAttribute("data-station", (state.plan.assignment[code] || ""));
    if (state.plan.assignment[code] === state.selected && state.selected) layer.bringToFront();
  });
  state.refused.forEach(function (code) {
    if (state.villageLayers[code]) state.villageLayers[code].bringToFront();
  });
}

function pin(props) {
  const classes = ["pl-pin"];
  if (props.code === state.selected) classes.push("is-selected");
  if (props.locked) classes.push("is-locked");
  if (!props.published) classes.push("is-new");
  const number = props.code.slice(-2);
  const lock = props.locked ? '<span class="pl-pin-lock" aria-hidden="true">🔒</span>' : "";
  return L.divIcon({
    className: "pl-pin-wrap",
    html: '<span class="' + classes.join(" ") + '" style="--pin:' + props.colour + '">' + number + lock + "</span>",
    iconSize: [30, 30],
    iconAnchor: [15, 15],
  });
}

function drawMarkers() {
  const map = state.map;
  Object.keys(state.markers).forEach(function (code) {
    map.removeLayer(state.markers[code]);
  });
  state.markers = {};
  state.plan.stations.features.forEach(function (feature) {
    const props = feature.properties;
    if (props.retired) return;
    const latlng = L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
    const marker = L.marker(latlng, {
      icon: pin(props),
      title: props.name + " " + props.code,
      alt: props.name,
      keyboard: true,
      riseOnHover: true,
      zIndexOffset: props.code === state.selected ? 2000 : 1000,
      draggable: false,
      pane: "pl-stations",
    });
    marker.on("click", function () {
      if (state.mode === "move") return;
      select(props.code);
    });
    marker.on("dragend", function () {
      moveStation(props.code, marker, latlng);
    });
    marker.addTo(map);
    const element = marker.getElement();
    if (element) element.dataset.station = props.code;
    if (state.mode === "move" && editable() && marker.dragging) marker.dragging.enable();
    state.markers[props.code] = marker;
  });
}

/* Point-in-polygon (ray casting) over a GeoJSON Polygon or MultiPolygon, lon/lat. */
function inRing(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function covers(geometry, lng, lat) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  return polygons.some(function (rings) {
    if (!inRing(lng, lat, rings[0])) return false;
    for (let k = 1; k < rings.length; k++) if (inRing(lng, lat, rings[k])) return false;
    return true;
  });
}

function villageAt(latlng) {
  const codes = Object.keys(state.villageLayers);
  for (let i = 0; i < codes.length; i++) {
    const layer = state.villageLayers[codes[i]];
    if (!layer.getBounds().contains(latlng)) continue;
    if (covers(layer.feature.geometry, latlng.lng, latlng.lat)) return codes[i];
  }
  return null;
}

/* Brush strokes: villages under the pointer while the button is held, one batch on release. */
function strokeStart(latlng) {
  if (!editable()) return false;
  if (!state.selected) {
    flash(S.selectStationFirst);
    return false;
  }
  state.stroke = { codes: [] };
  state.map.dragging.disable();
  strokeAdd(latlng);
  return true;
}

function strokeAdd(latlng) {
  if (!state.stroke) return;
  const code = villageAt(latlng);
  if (!code || state.stroke.codes.indexOf(code) >= 0) return;
  state.stroke.codes.push(code);
  preview(code, state.selected);
}

/* The village drawn as going to ``station`` until the server answers. */
function preview(code, station) {
  const layer = state.villageLayers[code];
  layer.setStyle({ fillColor: state.colours[station], fillOpacity: 0.9, color: "#1f2933", weight: 2.6, dashArray: "4 3" });
  layer.bringToFront();
}

function strokeEnd() {
  if (!state.stroke) return;
  const codes = state.stroke.codes;
  state.stroke = null;
  if (state.mode !== "brush") state.map.dragging.enable();
  state.suppressClick = true;
  setTimeout(function () {
    state.suppressClick = false;
  }, 0);
  const target = state.selected;
  const moving = codes.filter(function (code) {
    return state.plan.assignment[code] !== target;
  });
  if (!moving.length) {
    recolour();
    return;
  }
  assign(moving, target, "brush");
}

function wireBrush(map) {
  const container = map.getContainer();
  const wrap = container.parentNode;
  // Capture phase on the wrapper: runs before Leaflet's own drag handler on the map.
  wrap.addEventListener(
    "mousedown",
    function (event) {
      if (event.button !== 0 || !container.contains(event.target)) return;
      if (event.target.closest(".leaflet-control, .leaflet-marker-icon")) return;
      if (state.mode === "brush" || (state.mode === "select" && event.shiftKey)) {
        if (strokeStart(map.mouseEventToLatLng(event))) {
          event.preventDefault();
          event.stopPropagation();
        }
      }
    },
    true
  );
  container.addEventListener("mousemove", function (event) {
    if (state.stroke) strokeAdd(map.mouseEventToLatLng(event));
  });
  document.addEventListener("mouseup", strokeEnd);
  wrap.addEventListener(
    "touchstart",
    function (event) {
      if (state.mode !== "brush" || event.touches.length !== 1) return;
      if (strokeStart(map.mouseEventToLatLng(event.touches[0]))) event.preventDefault();
    },
    { capture: true, passive: false }
  );
  container.addEventListener(
    "touchmove",
    function (event) {
      if (!state.stroke) return;
      event.preventDefault();
      strokeAdd(map.mouseEventToLatLng(event.touches[0]));
    },
    { passive: false }
  );
  container.addEventListener("touchend", strokeEnd);
  container.addEventListener("touchcancel", strokeEnd);
}

function villageClicked(code, event) {
  if (state.suppressClick || state.stroke) return;
  if (state.mode === "add" && editable()) {
    addStation(event.latlng);
    return;
  }
  if (state.mode === "move") {
    flash(S.moveMode);
    return;
  }
  if (editable() && state.selected && state.mode === "select") {
    if (state.plan.assignment[code] === state.selected) {
      flash(interpolate(S.moved, { village: villageLabel(code), station: stationLabel(state.selected) }));
      return;
    }
    preview(code, state.selected);
    assign([code], state.selected, "click");
    return;
  }
  showVillagePopup(code, event.latlng);
  if (editable() && !state.selected) flash(S.selectStationFirst);
}

function showVillagePopup(code, latlng) {
  const layer = state.villageLayers[code];
  const box = el("div", "pl-popup");
  box.appendChild(el("strong", null, state.villageNames[code] || code));
  box.appendChild(el("div", "gm-muted", code));
  const station = state.plan.assignment[code];
  box.appendChild(el("div", null, S.station + ": " + (station ? stationLabel(station) : S.unassigned)));
  box.appendChild(el("div", null, S.households + ": " + formatNumber(layer.feature.properties.households)));
  L.popup({ autoPan: true }).setLatLng(latlng).setContent(box).openOn(state.map);
}

function drawVillages(collection) {
  const map = state.map;
  const labels = (collection.features || []).length <= MAX_LABELS;
  const layer = L.geoJSON(collection, {
    pane: "pl-villages",
    style: function (feature) {
      return villageStyle(feature.properties.code);
    },
    onEachFeature: function (feature, item) {
      const code = feature.properties.code;
      state.villageLayers[code] = item;
      state.villageNames[code] = feature.properties.name;
      item.on("click", function (event) {
        villageClicked(code, event);
      });
      if (labels) {
        textTooltip(item, feature.properties.name, {
          permanent: true,
          direction: "center",
          className: "pl-label",
          interactive: false,
        });
      } else {
        textTooltip(item, feature.properties.name + " " + code, { sticky: true });
      }
    },
  }).addTo(map);
  Object.keys(state.villageLayers).forEach(function (code) {
    const path = state.villageLayers[code].getElement && state.villageLayers[code].getElement();
    if (path) {
      path.setAttribute("data-village", code);
    }
  });
  const bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16] });
  map.getContainer().dataset.loaded = "true";
  map.getContainer().dataset.countVillages = String(Object.keys(state.villageLayers).length);
}

/* --- the side panel ------------------------------------------------------------------------- */
function select(code) {
  if (code && state.stations[code] && state.stations[code].retired) return;
  state.selected = state.selected === code ? null : code;
  render(state.plan);
  if (state.selected) {
    const item = root.querySelector('.pl-station[data-station="' + state.selected + '"]');
    if (item) item.scrollIntoView({ block: "nearest" });
  }
}

function stat(name, label, value, bad, title) {
  const wrap = el("div", "pl-stat" + (bad ? " is-bad" : ""));
  wrap.dataset.stat = name;
  if (title) wrap.title = title;
  wrap.append(el("dt", null, label), el("dd", null, value));
  return wrap;
}

function renderStations() {
  const list = role("stations");
  list.replaceChildren();
  const features = state.plan.stations.features.slice().sort(function (a, b) {
    const ra = a.properties.retired ? 1 : 0, rb = b.properties.retired ? 1 : 0;
    return ra - rb || (a.properties.code < b.properties.code ? -1 : 1);
  });
  let live = 0;
  features.forEach(function (feature) {
    const p = feature.properties;
    if (!p.retired) live += 1;
    const item = el("li", "pl-station" + (p.retired ? " is-retired" : "") + (p.code === state.selected ? " is-selected" : ""));
    item.dataset.station = p.code;
    item.style.setProperty("--station", p.colour);
    const head = el("div", "pl-station-head");
    const pick = el("button", "pl-station-pick");
    pick.type = "button";
    pick.setAttribute("aria-pressed", p.code === state.selected ? "true" : "false");
    pick.disabled = p.retired;
    const swatch = el("span", "pl-swatch");
    swatch.style.background = p.colour;
    pick.append(swatch, el("span", "pl-station-name", p.name), el("span", "pl-station-code", p.code));
    if (p.locked) pick.appendChild(el("span", "pl-tag pl-tag-locked", S.locked));
    if (!p.published && !p.retired) pick.appendChild(el("span", "pl-tag pl-tag-new", S.newStation));
    if (p.retired) pick.appendChild(el("span", "pl-tag", S.retired));
    pick.addEventListener("click", function () {
      select(p.code);
    });
    head.appendChild(pick);
    if (editable() && !p.retired) {
      const actions = el("div", "pl-station-actions");
      const lock = button(p.locked ? S.unlock : S.lock, "pl-mini", function () {
        toggleLock(p.code);
      });
      lock.dataset.action = "lock";
      lock.title = S.lockTitle;
      lock.setAttribute("aria-pressed", p.locked ? "true" : "false");
      const retireButton = button(S.retire, "pl-mini pl-mini-danger", function () {
        retire(p.code);
      });
      retireButton.dataset.action = "retire";
      retireButton.title = interpolate(S.retireTitle, { name: p.name });
      actions.append(lock, retireButton);
      head.appendChild(actions);
    }
    item.appendChild(head);
    if (!p.retired) {
      const limits = state.plan.limits;
      const dl = el("dl", "pl-stats");
      dl.append(
        stat("villages", S.villages, formatNumber(p.villages), !p.size_ok, interpolate("%(min)s–%(max)s", { min: limits.min_villages, max: limits.max_villages })),
        stat("households", S.households, formatNumber(p.households)),
        stat("population", S.population, formatNumber(p.population)),
        stat("party-members", S.partyMembers, formatNumber(p.party_members)),
        stat("longest", S.longest, minutes(p.longest_minutes, p.estimated), false, p.estimated ? S.estimatedTitle : ""),
        stat("p95", S.p95, minutes(p.p95_minutes, p.estimated), false, p.estimated ? S.estimatedTitle : ""),
        stat("contiguous", S.contiguous, p.contiguous ? S.yes : interpolate(S.pieces, { count: p.pieces }), !p.contiguous)
      );
      item.appendChild(dl);
    }
    list.appendChild(item);
  });
  role("station-count").textContent = "(" + live + ")";
}

function renderViolations() {
  const list = role("violations");
  list.replaceChildren();
  const violations = state.plan.violations || [];
  const count = role("violation-count");
  count.textContent = violations.length ? interpolate(S.violationsCount, { count: violations.length }) : "";
  count.className = "pl-count" + (violations.length ? " is-bad" : "");
  if (!violations.length) {
    list.appendChild(el("li", "pl-ok", "✓ " + S.noViolations));
    return;
  }
  violations.forEach(function (v) {
    const item = el("li", "pl-violation");
    item.dataset.kind = v.kind;
    const link = button(v.message, "pl-link", function () {
      if (v.village && state.villageLayers[v.village]) {
        const layer = state.villageLayers[v.village];
        state.map.fitBounds(layer.getBounds(), { maxZoom: state.map.getZoom(), padding: [60, 60] });
        showVillagePopup(v.village, layer.getBounds().getCenter());
      } else if (v.station && state.stations[v.station] && !state.stations[v.station].retired) {
        if (state.selected !== v.station) select(v.station);
      }
    });
    item.appendChild(link);
    list.appendChild(item);
  });
}

function renderHistory() {
  const list = role("history");
  list.replaceChildren();
  const changes = state.plan.changes || { recent: [], count: 0 };
  role("history-count").textContent = "(" + changes.count + ")";
  if (!changes.recent.length) {
    list.appendChild(el("li", "gm-muted", S.historyEmpty));
    return;
  }
  changes.recent.forEach(function (c) {
    const item = el("li", c.undone ? "is-undone" : "");
    const what = [c.kind_label];
    if (c.village) what.push(villageLabel(c.village));
    if (c.kind === "assign") what.push((c.from_station || S.unassigned) + " → " + (c.to_station || S.unassigned));
    else if (c.station) what.push(c.station);
    item.appendChild(el("span", null, "#" + c.seq + " " + what.join(" · ")));
    if (c.override_reason) item.appendChild(el("span", "pl-reason", interpolate(S.override, { reason: c.override_reason })));
    if (c.undone) item.appendChild(el("span", "pl-tag", S.undoneTag));
    item.appendChild(el("span", "gm-muted pl-when", c.by + " · " + (c.at || "").slice(0, 16).replace("T", " ")));
    list.appendChild(item);
  });
}

function renderBanner() {
  const banner = role("banner");
  const plan = state.plan;
  banner.replaceChildren();
  if (plan.status === "published") {
    banner.className = "pl-banner pl-banner-published";
    banner.appendChild(el("strong", null, interpolate(S.published, { date: plan.effective_from })));
    const who = [plan.published_by, (plan.published_at || "").slice(0, 16).replace("T", " ")].filter(Boolean).join(" · ");
    if (who) banner.appendChild(el("span", "gm-muted", " " + who));
    if (plan.publish_reason) banner.appendChild(el("p", "pl-reason", interpolate(S.override, { reason: plan.publish_reason })));
    banner.hidden = false;
  } else if (!plan.editable) {
    banner.className = "pl-banner";
    banner.appendChild(el("strong", null, S.readOnly));
    banner.appendChild(el("span", null, " " + S.readOnlyHelp));
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  const status = root.querySelector('[data-role="status"]');
  status.textContent = plan.status_label;
  status.className = "pl-status pl-status-" + plan.status;
  root.dataset.status = plan.status;
}

function renderHint() {
  const hint = role("hint");
  let text = "";
  if (!editable()) text = "";
  else if (state.mode === "move") text = S.moveMode;
  else if (state.mode === "add") text = S.addMode;
  else if (!state.selected) text = S.noSelection;
  else text = interpolate(state.mode === "brush" ? S.selectedBrush : S.selected, { name: stationLabel(state.selected) });
  hint.textContent = text;
  hint.hidden = !text;
  const selection = role("selection");
  selection.textContent = editable() && !state.selected ? S.noSelection : "";
  selection.hidden = !selection.textContent;
}

function render(plan) {
  if (!plan) return;
  state.plan = plan;
  state.stations = {};
  state.colours = {};
  plan.stations.features.forEach(function (feature) {
    state.stations[feature.properties.code] = feature.properties;
    state.colours[feature.properties.code] = feature.properties.colour;
  });
  if (state.selected && (!state.stations[state.selected] || state.stations[state.selected].retired)) state.selected = null;
  root.dataset.editable = plan.editable ? "true" : "false";
  root.querySelectorAll("[data-edit-only]").forEach(function (node) {
    node.hidden = !plan.editable;
  });
  if (!plan.editable && state.mode !== "select") setMode("select");
  $('[data-action="undo"]').disabled = !plan.can_undo;
  $('[data-action="redo"]').disabled = !plan.can_redo;
  const reasonField = role("publish-reason-field");
  if (reasonField) reasonField.hidden = !(plan.violations || []).length;
  renderBanner();
  renderStations();
  renderViolations();
  renderHistory();
  renderHint();
  if (state.map) {
    recolour();
    drawMarkers();
  }
  state.version += 1;
  root.dataset.version = String(state.version);
  root.dataset.selected = state.selected || "";
}

function setMode(mode) {
  if (!editable() && mode !== "select") return;
  state.mode = mode;
  root.dataset.mode = mode;
  root.querySelectorAll("[data-mode]").forEach(function (b) {
    if (b.tagName === "BUTTON") b.setAttribute("aria-pressed", b.dataset.mode === mode ? "true" : "false");
  });
  if (state.map) {
    if (mode === "brush") state.map.dragging.disable();
    else state.map.dragging.enable();
    state.map.getContainer().classList.toggle("pl-crosshair", mode === "add" || mode === "brush");
    Object.keys(state.markers).forEach(function (code) {
      const marker = state.markers[code];
      if (!marker.dragging) return;
      if (mode === "move") marker.dragging.enable();
      else marker.dragging.disable();
    });
  }
  renderHint();
}

/* --- start ---------------------------------------------------------------------------------- */
function wireControls() {
  root.querySelectorAll("button[data-mode]").forEach(function (b) {
    b.addEventListener("click", function () {
      setMode(state.mode === b.dataset.mode && b.dataset.mode !== "select" ? "select" : b.dataset.mode);
    });
  });
  $('[data-action="undo"]').addEventListener("click", undo);
  $('[data-action="redo"]').addEventListener("click", redo);
  $('[data-action="propose"]').addEventListener("click", function () {
    solve("propose");
  });
  $('[data-action="repair"]').addEventListener("click", function () {
    solve("repair");
  });
  role("publish-form").addEventListener("submit", publish);
  role("import-form").addEventListener("submit", importCsv);
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "Escape") {
      if (state.stroke) {
        state.stroke = null;
        recolour();
      } else if (!role("message").hidden) {
        hideMessage();
      } else if (state.mode !== "select") {
        setMode("select");
      }
      return;
    }
    if (typing || !(event.ctrlKey || event.metaKey)) return;
    const key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) {
      event.preventDefault();
      undo();
    } else if ((key === "z" && event.shiftKey) || key === "y") {
      event.preventDefault();
      redo();
    }
  });
}

window.planEditorInit = async function (map) {
  state.map = map;
  map.options.zoomSnap = 0.25; // fit the plan's area closely
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      map.invalidateSize({ pan: false });
    }).observe(map.getContainer());
  }
  map.createPane("pl-villages").style.zIndex = 400;
  map.createPane("pl-stations").style.zIndex = 620;
  if (map.boxZoom) map.boxZoom.disable(); // Shift+drag paints instead
  if (!C.hasBasemap && map.attributionControl) map.attributionControl.setPrefix(false);
  map.on("click", function (event) {
    // A click beside every village (add mode places a station anywhere in the town).
    if (state.mode === "add" && editable() && !state.suppressClick) {
      const code = villageAt(event.latlng);
      if (!code) addStation(event.latlng);
    }
  });
  wireControls();
  wireBrush(map);
  flash(S.loading);
  try {
    const answers = await Promise.all([request(C.detailUrl), request(C.villagesUrl)]);
    render(answers[0]);
    map.invalidateSize({ pan: false });
    drawVillages(answers[1]);
    recolour();
    drawMarkers();
    flash("");
  } catch (error) {
    flash("");
    showMessage("error", function (box) {
      box.appendChild(el("p", null, interpolate(S.loadError, { detail: error.message })));
    });
  }
  root.dataset.ready = "true";
  window.planEditor = { state: state, select: select, setMode: setMode, villageAt: villageAt };
};
