/*
 * gridmap, the field page: the report. Tap the map (or "Locate me") to place the point,
 * pick a category and severity, describe, add up to CONFIG.maxPhotos photos, see open
 * incidents of that category nearby (attach to one instead), submit, and see who handles
 * it. A report goes through the queue on this phone (./queue.js) before it is sent.
 */
import { el, interpolate, uuid, withQuery } from "../../gridmap/common.js";
import { queue } from "../field-queue.js";
import {
  $,
  $all,
  CONFIG,
  S,
  api,
  clearErrors,
  fieldError,
  form,
  formatTime,
  mapHint,
  root,
  showApiErrors,
  showPanel,
  state,
  toast,
} from "./page.js";
import { keepInView, pinIcon } from "./map.js";
import { loadUnread } from "./my-work.js";
import { exclusive, postRecord, refreshPending, sendQueued, showQueue } from "./queue.js";
import { showResults } from "./results.js";

function megabytes(bytes) {
  return Math.round((bytes / (1024 * 1024)) * 10) / 10;
}

/* --- the point ---------------------------------------------------------------------------- */
function currentSeverity() {
  const checked = $('input[name="severity"]:checked', form);
  return checked ? checked.value : null;
}

function placePoint(latlng, fromLocate) {
  state.point = L.latLng(latlng.lat, latlng.lng);
  if (!state.marker) {
    state.marker = L.marker(state.point, { draggable: true, icon: pinIcon(currentSeverity()), keyboard: false });
    state.marker.on("dragend", function () {
      placePoint(state.marker.getLatLng());
    });
  } else {
    state.marker.setLatLng(state.point);
  }
  if (state.mode === "report" && !state.map.hasLayer(state.marker)) state.marker.addTo(state.map);
  root.dataset.hasPoint = "true";
  fieldError(form, "geometry", "");
  mapHint(fromLocate ? "" : S.tapToMove);
  setTimeout(function () {
    keepInView(state.point);
  }, 50);
  lookUpGrid();
  refreshDuplicates();
}

function clearPoint() {
  state.point = null;
  if (state.marker) state.marker.remove();
  root.dataset.hasPoint = "false";
  const where = $(".fd-where", form);
  where.textContent = S.tapToPlace;
  where.dataset.where = "none";
  mapHint(S.tapToPlace);
}

/* "In 第1网格 (450702001001001)": the worker sees where the point falls before sending. */
async function lookUpGrid() {
  const where = $(".fd-where", form);
  const point = state.point;
  if (state.gridLookup) state.gridLookup.abort();
  if (!navigator.onLine) {
    where.textContent = S.gridUnknownOffline;
    where.dataset.where = "offline";
    return;
  }
  const controller = new AbortController();
  state.gridLookup = controller;
  where.dataset.where = "loading";
  try {
    const answer = await api(withQuery(CONFIG.gridAtUrl, { lon: point.lng.toFixed(7), lat: point.lat.toFixed(7) }), {
      signal: controller.signal,
    });
    const grid = answer.body || {};
    where.textContent = interpolate(S.inGrid, { name: grid.name, code: grid.code });
    where.dataset.where = "grid";
    where.dataset.gridCode = grid.code || "";
  } catch (error) {
    if (error.name === "AbortError") return;
    where.dataset.where = error.network ? "offline" : "none";
    where.textContent = error.network ? S.gridUnknownOffline : error.status === 404 ? S.noGridHere : error.message;
  }
}

/* --- categories and severity --------------------------------------------------------------- */
export async function loadCategories() {
  const box = $("[data-categories]", form);
  if (box.dataset.state === "ready") return;
  try {
    const answer = await api(CONFIG.categoriesUrl);
    state.categories = Array.isArray(answer.body) ? answer.body : answer.body.results || [];
  } catch (error) {
    box.textContent = "";
    box.dataset.state = "error";
    box.appendChild(
      el("p", "fd-warning", error.network ? S.categoriesOffline : interpolate(S.categoriesError, { detail: error.message }))
    );
    return;
  }
  box.textContent = "";
  box.dataset.state = "ready";
  state.categories.forEach(function (category) {
    const chip = el("label", "fd-chip");
    const input = el("input");
    input.type = "radio";
    input.name = "category";
    input.value = category.code;
    input.dataset.defaultSeverity = category.default_severity || "blue";
    chip.appendChild(input);
    chip.appendChild(el("span", null, category.name));
    box.appendChild(chip);
  });
}

function categoryByCode(code) {
  return state.categories.find(function (c) {
    return c.code === code;
  });
}

function currentCategory() {
  const checked = $('input[name="category"]:checked', form);
  return checked ? checked.value : null;
}

function setSeverity(value) {
  $all('input[name="severity"]', form).forEach(function (input) {
    input.checked = input.value === value;
  });
  severityChanged();
}

const SEVERITY_HINTS = { blue: "sevBlueHint", yellow: "sevYellowHint", red: "sevRedHint" };
function severityChanged() {
  const severity = currentSeverity();
  $("[data-severity-hint]", form).textContent = severity ? S[SEVERITY_HINTS[severity]] : "";
  form.dataset.severity = severity || "";
  if (state.marker) state.marker.setIcon(pinIcon(severity));
}

/* --- photos -------------------------------------------------------------------------------- */
function renderPhotos() {
  const box = $("[data-photos]", form);
  $all(".fd-photo", box).forEach(function (node) {
    node.remove();
  });
  const add = $(".fd-photo-add", box);
  state.photos.forEach(function (photo, index) {
    const item = el("div", "fd-photo");
    const img = el("img");
    img.src = photo.url;
    img.alt = photo.file.name;
    item.appendChild(img);
    const remove = el("button", "fd-photo-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", S.removePhoto);
    remove.addEventListener("click", function () {
      URL.revokeObjectURL(photo.url);
      state.photos.splice(index, 1);
      renderPhotos();
    });
    item.appendChild(remove);
    box.insertBefore(item, add);
  });
  add.hidden = state.photos.length >= CONFIG.maxPhotos;
  form.dataset.photos = String(state.photos.length);
}

function addPhotos(files) {
  const problems = [];
  const size = megabytes(CONFIG.maxPhotoBytes);
  Array.prototype.forEach.call(files, function (file) {
    if (CONFIG.photoTypes.indexOf(file.type) === -1) {
      problems.push(interpolate(S.photoType, { name: file.name }));
    } else if (file.size > CONFIG.maxPhotoBytes) {
      problems.push(interpolate(S.photoSize, { name: file.name, size: size }));
    } else if (state.photos.length >= CONFIG.maxPhotos) {
      if (problems.indexOf(interpolate(S.tooManyPhotos, { count: CONFIG.maxPhotos })) === -1) {
        problems.push(interpolate(S.tooManyPhotos, { count: CONFIG.maxPhotos }));
      }
    } else {
      state.photos.push({ file: file, url: URL.createObjectURL(file) });
    }
  });
  fieldError(form, "photos", problems.join(" "));
  renderPhotos();
}

/* --- duplicates nearby --------------------------------------------------------------------- */
function duplicateKey() {
  const category = currentCategory();
  if (!state.point || !category) return null;
  return [category, state.point.lng.toFixed(6), state.point.lat.toFixed(6)].join("|");
}

function refreshDuplicates() {
  const key = duplicateKey();
  const dup = state.duplicates;
  if (key === dup.key) return dup.promise;
  dup.key = key;
  dup.results = [];
  renderDuplicates();
  if (!key || !navigator.onLine) {
    dup.promise = Promise.resolve([]);
    return dup.promise;
  }
  const point = state.point;
  const url = withQuery(CONFIG.duplicatesUrl, {
    lon: point.lng.toFixed(7),
    lat: point.lat.toFixed(7),
    category: currentCategory(),
  });
  dup.promise = api(url)
    .then(function (answer) {
      if (dup.key !== key) return [];
      dup.results = (answer.body && answer.body.results) || [];
      renderDuplicates();
      return dup.results;
    })
    .catch(function () {
      // Not finding duplicates never stops a report.
      return [];
    });
  return dup.promise;
}

function renderDuplicates() {
  const dup = state.duplicates;
  const box = $("[data-duplicates]", form);
  const list = $("[data-duplicate-list]", box);
  list.textContent = "";
  dup.results.forEach(function (item) {
    const row = el("li", "fd-duplicate fd-sev-" + (item.severity || "blue"));
    row.dataset.incidentId = item.id;
    row.appendChild(el("p", "fd-duplicate-text", item.description));
    const meta = [
      "#" + item.id,
      formatTime(item.reported_at),
      interpolate(S.distance, { metres: Math.round(item.distance_m) }),
      interpolate(S.reporters, { count: item.reporter_count }),
    ];
    row.appendChild(el("p", "fd-muted fd-duplicate-meta", meta.join(" · ")));
    const attach = el("button", "fd-button fd-button-secondary", S.attach);
    attach.type = "button";
    attach.dataset.action = "attach";
    attach.dataset.attach = item.id;
    attach.addEventListener("click", function () {
      submitReport(item.id);
    });
    row.appendChild(attach);
    list.appendChild(row);
  });
  box.hidden = dup.results.length === 0;
  dup.shownKey = dup.results.length ? dup.key : null;
  $(".fd-submit", form).textContent = dup.results.length ? S.submitNew : S.submit;
}

/* --- submitting (through the queue on this phone) ------------------------------------------ */
function validateReport() {
  clearErrors(form);
  const problems = [];
  if (!state.point) problems.push(["geometry", S.needPoint]);
  if (!currentCategory()) problems.push(["category", S.needCategory]);
  if (!$("#fd-description").value.trim()) problems.push(["description", S.needDescription]);
  problems.forEach(function (problem) {
    fieldError(form, problem[0], problem[1]);
  });
  const ok = problems.length === 0;
  if (!ok) {
    const first = $all("[data-error]:not([hidden])", form)[0];
    if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
  }
  return ok;
}

function buildRecord(attachTo) {
  const category = currentCategory();
  const properties = {
    category: category,
    description: $("#fd-description").value.trim(),
    client_uuid: uuid(), // made now, when the worker presses submit, and kept for resends
  };
  const severity = currentSeverity();
  if (severity) properties.severity = severity;
  if (attachTo) properties.attach_to = attachTo;
  const cat = categoryByCode(category);
  return {
    client_uuid: properties.client_uuid,
    owner: CONFIG.user,
    created_at: Date.now(),
    feature: {
      type: "Feature",
      geometry: {
        type: "Point",
        coordinates: [Number(state.point.lng.toFixed(7)), Number(state.point.lat.toFixed(7))],
      },
      properties: properties,
    },
    category_name: cat ? cat.name : category,
    photos: state.photos.map(function (photo) {
      return { name: photo.file.name, type: photo.file.type, blob: photo.file };
    }),
    state: "pending",
    attempts: 0,
    error: "",
  };
}

async function submitReport(attachTo) {
  if (state.sending) return;
  if (!validateReport()) return;
  const button = $(".fd-submit", form);
  // Show the open incidents nearby before a new one is made, if they were not on screen yet.
  if (!attachTo && navigator.onLine) {
    const key = duplicateKey();
    const shownBefore = state.duplicates.shownKey === key;
    button.disabled = true;
    const results = await Promise.race([
      refreshDuplicates(),
      new Promise(function (resolve) {
        setTimeout(function () {
          resolve([]);
        }, 5000);
      }),
    ]);
    button.disabled = false;
    if (results.length && !shownBefore) {
      $("[data-duplicates]", form).scrollIntoView({ block: "start", behavior: "smooth" });
      return;
    }
  }

  state.sending = true;
  button.disabled = true;
  button.textContent = S.sending;
  root.dataset.sending = "true";
  const record = buildRecord(attachTo);
  state.inFlight = record.client_uuid; // the background flush leaves this one to us
  try {
    await queue.put(record); // written before the first attempt: a lost answer loses nothing
  } catch (error) {
    record.noQueue = true; // private browsing without IndexedDB: send once, directly
  }
  let outcome;
  if (!navigator.onLine) {
    outcome = { kind: "network" };
  } else if (record.noQueue) {
    outcome = await postRecord(record);
  } else {
    outcome = await exclusive(function () {
      return sendQueued(record.client_uuid);
    });
    if (outcome.kind === "gone") {
      const sent = state.lastResults.find(function (r) {
        return r.client_uuid === record.client_uuid;
      });
      outcome = sent ? { kind: "sent", body: sent.body } : { kind: "network" };
    }
  }
  state.sending = false;
  state.inFlight = null;
  root.dataset.sending = "false";
  button.disabled = false;
  renderDuplicates();
  await refreshPending();

  if (outcome.kind === "sent") {
    resetReport();
    showResults([outcome.body], null);
    loadUnread();
  } else if (outcome.kind === "invalid") {
    if (!record.noQueue) await queue.remove(record.client_uuid);
    await refreshPending();
    showApiErrors(form, outcome.error, "form", { geometry: "geometry", photos: "photos" });
    const shown = $all("[data-error]:not([hidden])", form)[0];
    if (shown) shown.scrollIntoView({ block: "center", behavior: "smooth" });
  } else if (record.noQueue) {
    // Nowhere to keep it (no IndexedDB): the form stays filled for another try.
    fieldError(form, "form", outcome.kind === "auth" ? S.loginExpired : S.networkError);
  } else {
    resetReport();
    showQueue(outcome);
  }
}

function resetReport() {
  $("#fd-description").value = "";
  state.photos.forEach(function (photo) {
    URL.revokeObjectURL(photo.url);
  });
  state.photos = [];
  renderPhotos();
  $all('input[name="category"]', form).forEach(function (input) {
    input.checked = false;
  });
  setSeverity(null);
  state.severityTouched = false;
  clearPoint();
  state.duplicates.key = null;
  state.duplicates.results = [];
  renderDuplicates();
  clearErrors(form);
}

/* --- locate me ----------------------------------------------------------------------------- */
let accuracyCircle = null;
let youAreHere = null;
export function locate() {
  if (!("geolocation" in navigator)) {
    toast(S.locateUnsupported, "warning");
    return;
  }
  const button = $(".fd-locate");
  button.classList.add("is-busy");
  mapHint(S.locating);
  navigator.geolocation.getCurrentPosition(
    function (position) {
      button.classList.remove("is-busy");
      mapHint("");
      const latlng = L.latLng(position.coords.latitude, position.coords.longitude);
      const accuracy = position.coords.accuracy || 0;
      if (accuracyCircle) accuracyCircle.remove();
      if (youAreHere) youAreHere.remove();
      accuracyCircle = L.circle(latlng, { radius: accuracy, className: "fd-accuracy", interactive: false }).addTo(state.map);
      youAreHere = L.circleMarker(latlng, { radius: 8, className: "fd-you", interactive: false }).addTo(state.map);
      state.map.setView(latlng, Math.max(state.map.getZoom(), 17));
      if (state.mode === "report" && !state.point) placePoint(latlng, true);
      if (accuracy) toast(interpolate(S.accuracy, { metres: Math.round(accuracy) }), "info");
    },
    function (error) {
      button.classList.remove("is-busy");
      mapHint(state.point ? "" : S.tapToPlace);
      const message =
        error.code === 1 ? S.locateDenied : error.code === 3 ? S.locateTimeout : S.locateUnavailable;
      root.dataset.locateError = String(error.code);
      toast(message, "warning");
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
  );
}

/* --- the report mode ----------------------------------------------------------------------- */
export function enterReport() {
  if (state.marker && state.point) state.marker.addTo(state.map);
  showPanel(state.reportView || "form");
  mapHint(state.point ? "" : S.tapToPlace);
}

export function leaveReport() {
  if (state.marker) state.marker.remove();
}

/* The map tap, the form's fields and its first look. */
export function setUpReport(map) {
  map.on("click", function (event) {
    if (state.mode === "report") {
      if (root.dataset.view !== "form") showPanel("form");
      placePoint(event.latlng);
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitReport(null);
  });
  form.addEventListener("change", function (event) {
    const input = event.target;
    if (input.name === "category") {
      const category = categoryByCode(input.value);
      if (!state.severityTouched && category) setSeverity(category.default_severity);
      fieldError(form, "category", "");
      refreshDuplicates();
    } else if (input.name === "severity") {
      state.severityTouched = true;
      severityChanged();
    } else if (input.name === "photos") {
      addPhotos(input.files);
      input.value = "";
    }
  });
  $("#fd-description").addEventListener("input", function () {
    fieldError(form, "description", "");
  });
  $("[data-photo-hint]", form).textContent = interpolate(S.photoHint, {
    count: CONFIG.maxPhotos,
    size: megabytes(CONFIG.maxPhotoBytes),
  });
  renderPhotos();
  clearPoint();
}
