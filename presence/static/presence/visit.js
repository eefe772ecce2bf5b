/*
 * gridmap, the visit form (/field/visit/): log a visit (走访) on the phone.
 *
 * Households are searched by number or address within the worker's area (online), or added
 * by number (offline); notes, photos (shrunk on the phone when large), the residents'
 * requests (each may "make a case" of a category) and a follow-up. A visit is written to
 * the IndexedDB store "visits" (../incidents/field-queue.js) with the time it was made
 * BEFORE the first attempt to send it, and removed once the server answered 2xx; what could
 * not be sent is sent again on "online", on load and every CONFIG.retrySeconds. The server
 * knows a resend by its client_uuid, so a visit is never stored twice.
 *
 * Data goes into the page as text only (el(), textContent), never as HTML. The page root
 * carries data-ready and data-pending (visits waiting on this phone) for tests.
 */
import {
  el,
  fetchJson,
  interpolate,
  isAuthError,
  jsonPost,
  readJson,
  uuid,
} from "../gridmap/common.js";
import { storeOf } from "../incidents/field-queue.js";

const S = readJson("visit-strings");
const CONFIG = readJson("visit-config");
const CATEGORIES = readJson("visit-categories");
const root = document.getElementById("visit");
const form = root.querySelector(".vf-form");
const store = storeOf("visits");

const state = {
  chosen: [], // {id, code, address, head_name, phone} or {code} typed offline
  photos: [], // {blob, name, type, url}
  requests: [], // {text, household, make_case, category}
  position: null, // {lon, lat, accuracy}
  sending: false,
  inFlight: null,
  pending: [],
};

function $(selector, scope) {
  return (scope || root).querySelector(selector);
}

function toast(text, kind) {
  const box = $(".vf-toast");
  box.textContent = text;
  box.classList.toggle("is-warning", kind === "warning");
  box.hidden = !text;
}

function fieldError(name, text) {
  const box = $('[data-error="' + name + '"]', form) || $('[data-error="form"]', form);
  box.textContent = text || "";
  box.hidden = !text;
}

function clearErrors() {
  form.querySelectorAll("[data-error]").forEach(function (box) {
    box.textContent = "";
    box.hidden = true;
  });
}

function kind() {
  const checked = form.querySelector('input[name="kind"]:checked');
  return checked ? checked.value : "household";
}

/* --- households ------------------------------------------------------------------------- */
function householdLabel(h) {
  return [h.code, h.address].filter(Boolean).join(" ");
}

function renderChosen() {
  const list = $("[data-chosen]");
  list.textContent = "";
  state.chosen.forEach(function (h, index) {
    const item = el("li");
    item.dataset.household = h.id || h.code;
    const text = el("span", "vf-hh");
    text.appendChild(el("strong", null, householdLabel(h)));
    if (h.head_name) text.appendChild(el("small", null, [h.head_name, h.phone].filter(Boolean).join(" · ")));
    item.appendChild(text);
    const remove = el("button", "vf-remove", S.remove);
    remove.type = "button";
    remove.addEventListener("click", function () {
      state.chosen.splice(index, 1);
      renderChosen();
      renderRequests();
    });
    item.appendChild(remove);
    list.appendChild(item);
  });
}

function choose(h) {
  const key = h.id || h.code;
  if (!state.chosen.some(function (c) { return (c.id || c.code) === key; })) state.chosen.push(h);
  $("#vf-search").value = "";
  $("[data-results]").hidden = true;
  fieldError("households", "");
  renderChosen();
  renderRequests();
}

let searchTimer = null;
let searchAbort = null;
function onSearch() {
  const query = $("#vf-search").value.trim();
  clearTimeout(searchTimer);
  const results = $("[data-results]");
  const hint = $("[data-search-hint]");
  if (!query) {
    results.hidden = true;
    hint.textContent = "";
    return;
  }
  searchTimer = setTimeout(async function () {
    results.textContent = "";
    if (!navigator.onLine) {
      hint.textContent = S.searchOffline;
      results.appendChild(byNumberItem(query));
      results.hidden = false;
      return;
    }
    hint.textContent = S.searching;
    if (searchAbort) searchAbort.abort();
    searchAbort = new AbortController();
    let found = [];
    try {
      const answer = await fetchJson(CONFIG.searchUrl + "?q=" + encodeURIComponent(query), { signal: searchAbort.signal }, S.networkError);
      found = answer.body.results || [];
      hint.textContent = found.length ? "" : S.noMatch;
    } catch (error) {
      if (error.name === "AbortError") return;
      hint.textContent = error.network ? S.searchOffline : error.message;
      results.appendChild(byNumberItem(query));
    }
    found.forEach(function (h) {
      const item = el("li");
      item.dataset.result = h.id;
      const text = el("span", "vf-hh");
      text.appendChild(el("strong", null, householdLabel(h)));
      text.appendChild(el("small", null, [h.head_name, h.phone].filter(Boolean).join(" · ")));
      item.appendChild(text);
      item.tabIndex = 0;
      item.addEventListener("click", function () {
        choose(h);
      });
      results.appendChild(item);
    });
    results.hidden = !results.childNodes.length;
  }, 250);
}

function byNumberItem(query) {
  const item = el("li", null, interpolate(S.addByNumber, { code: query }));
  item.dataset.result = "by-number";
  item.addEventListener("click", function () {
    choose({ code: query });
  });
  return item;
}

/* --- photos ------------------------------------------------------------------------------- */
/* A photo larger than CONFIG.photoMaxSide on its long side is redrawn smaller as a JPEG (the
   phone's 12 MP camera makes files of several MB); a small one is kept as it is. */
async function shrink(file) {
  if (!window.createImageBitmap) return file;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (error) {
    return file;
  }
  const side = Math.max(bitmap.width, bitmap.height);
  if (side <= CONFIG.photoMaxSide && file.size <= CONFIG.maxPhotoBytes) {
    bitmap.close && bitmap.close();
    return file;
  }
  const scale = Math.min(1, CONFIG.photoMaxSide / side);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close && bitmap.close();
  const blob = await new Promise(function (resolve) {
    canvas.toBlob(resolve, "image/jpeg", 0.85);
  });
  if (!blob) return file;
  const name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
  return new File([blob], name, { type: "image/jpeg" });
}

async function onPhotos(event) {
  const input = event.target;
  const files = Array.prototype.slice.call(input.files || []);
  input.value = "";
  fieldError("photos", "");
  for (const file of files) {
    if (state.photos.length >= CONFIG.maxPhotos) {
      fieldError("photos", interpolate(S.tooManyPhotos, { count: CONFIG.maxPhotos }));
      break;
    }
    if (CONFIG.photoTypes.indexOf(file.type) < 0) {
      fieldError("photos", interpolate(S.photoType, { name: file.name }));
      continue;
    }
    const small = await shrink(file);
    state.photos.push({ blob: small, name: small.name || file.name, type: small.type || file.type, url: URL.createObjectURL(small) });
  }
  renderPhotos();
}

function renderPhotos() {
  const box = $("[data-photos]");
  box.querySelectorAll(".vf-photo").forEach(function (node) {
    node.remove();
  });
  const add = $(".vf-photo-add", box);
  state.photos.forEach(function (photo, index) {
    const item = el("div", "vf-photo");
    const img = el("img");
    img.src = photo.url;
    img.alt = photo.name;
    item.appendChild(img);
    const remove = el("button", "vf-remove", "×");
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
}

/* --- requests ----------------------------------------------------------------------------- */
function renderRequests() {
  const list = $("[data-requests]");
  list.textContent = "";
  state.requests.forEach(function (request, index) {
    const item = el("li");
    item.dataset.request = String(index);
    const text = el("textarea");
    text.rows = 2;
    text.maxLength = 2000;
    text.placeholder = S.request;
    text.value = request.text;
    text.setAttribute("aria-label", S.request);
    text.addEventListener("input", function () {
      request.text = text.value;
    });
    item.appendChild(text);

    const row = el("div", "vf-row");
    const household = el("select");
    household.setAttribute("aria-label", S.household);
    const first = el("option", null, S.anyHousehold);
    first.value = "";
    household.appendChild(first);
    state.chosen.forEach(function (h) {
      const option = el("option", null, householdLabel(h));
      option.value = String(h.id || h.code);
      household.appendChild(option);
    });
    household.value = request.household || "";
    household.addEventListener("change", function () {
      request.household = household.value;
    });
    row.appendChild(household);

    const caseLabel = el("label", "vf-chip");
    const makeCase = el("input");
    makeCase.type = "checkbox";
    makeCase.name = "make_case";
    makeCase.checked = request.make_case;
    caseLabel.appendChild(makeCase);
    caseLabel.appendChild(el("span", null, S.makeCase));
    row.appendChild(caseLabel);

    const category = el("select");
    category.name = "category";
    category.setAttribute("aria-label", S.category);
    const none = el("option", null, S.category);
    none.value = "";
    category.appendChild(none);
    CATEGORIES.forEach(function (c) {
      const option = el("option", null, c.name);
      option.value = c.code;
      category.appendChild(option);
    });
    category.value = request.category || "";
    category.hidden = !request.make_case;
    category.addEventListener("change", function () {
      request.category = category.value;
    });
    makeCase.addEventListener("change", function () {
      request.make_case = makeCase.checked;
      category.hidden = !makeCase.checked;
    });
    row.appendChild(category);

    const remove = el("button", "vf-remove", S.remove);
    remove.type = "button";
    remove.addEventListener("click", function () {
      state.requests.splice(index, 1);
      renderRequests();
    });
    row.appendChild(remove);
    item.appendChild(row);
    list.appendChild(item);
  });
}

/* --- the position (optional: a visit is placed at its household) -------------------------- */
function locate() {
  const hint = $("[data-position]");
  if (!navigator.geolocation) {
    hint.textContent = S.noPosition;
    return;
  }
  hint.textContent = S.locating;
  navigator.geolocation.getCurrentPosition(
    function (position) {
      state.position = {
        lon: position.coords.longitude,
        lat: position.coords.latitude,
        accuracy: position.coords.accuracy || 0,
      };
      hint.textContent = interpolate(S.located, { metres: Math.round(state.position.accuracy) });
    },
    function () {
      state.position = null;
      hint.textContent = S.noPosition;
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
  );
}

/* --- building, queueing and sending ------------------------------------------------------- */
function validate() {
  clearErrors();
  let ok = true;
  if (kind() === "household" && !state.chosen.length) {
    fieldError("households", S.needHousehold);
    ok = false;
  }
  state.requests.forEach(function (request) {
    if (!request.text.trim()) {
      fieldError("requests", S.needRequestText);
      ok = false;
    } else if (request.make_case && !request.category) {
      fieldError("requests", S.needCategory);
      ok = false;
    }
  });
  return ok;
}

function householdRef(value) {
  const h = state.chosen.find(function (c) {
    return String(c.id || c.code) === String(value);
  });
  if (!h) return null;
  return h.id || h.code;
}

function buildRecord() {
  const now = Date.now();
  const visit = {
    client_uuid: uuid(),
    at: new Date(now).toISOString(),
    kind: kind(),
    households: state.chosen.map(function (h) {
      return h.id || h.code;
    }),
    notes: $("#vf-notes").value,
    follow_up: $("#vf-follow-up").value,
    follow_up_due: $("#vf-follow-up-due").value || null,
    attendees: kind() === "group" && $("#vf-attendees").value !== "" ? Number($("#vf-attendees").value) : null,
    requests: state.requests.map(function (r) {
      return {
        text: r.text,
        household: r.household ? householdRef(r.household) : null,
        make_case: !!r.make_case,
        category: r.make_case ? r.category : null,
      };
    }),
  };
  if (state.position) {
    visit.lon = state.position.lon;
    visit.lat = state.position.lat;
    visit.crs = "wgs84"; // the browser's geolocation is WGS84
  }
  return {
    client_uuid: visit.client_uuid,
    owner: CONFIG.user,
    created_at: now,
    visit: visit,
    label: state.chosen.map(householdLabel).join("、") || visit.notes.slice(0, 40),
    photos: state.photos.map(function (p) {
      return { name: p.name, type: p.type, blob: p.blob };
    }),
    state: "pending",
    attempts: 0,
    error: "",
  };
}

/* One POST: {kind: "sent", status, body} | "network" | "auth" | "invalid" | "server". */
async function post(record) {
  let init;
  if (record.photos && record.photos.length) {
    const data = new FormData();
    data.append("visit", JSON.stringify(record.visit));
    record.photos.forEach(function (photo) {
      data.append("photos", photo.blob, photo.name);
    });
    init = { method: "POST", body: data };
  } else {
    init = jsonPost(record.visit);
  }
  try {
    const answer = await fetchJson(CONFIG.visitsUrl, init, S.networkError);
    return { kind: "sent", status: answer.status, body: answer.body };
  } catch (error) {
    if (error.network) return { kind: "network", error: error };
    if (isAuthError(error)) return { kind: "auth", error: error };
    if (error.status >= 400 && error.status < 500) return { kind: "invalid", error: error };
    return { kind: "server", error: error };
  }
}

async function sendQueued(id) {
  const record = await store.get(id);
  if (!record) return { kind: "gone" };
  record.attempts = (record.attempts || 0) + 1;
  const outcome = await post(record);
  if (outcome.kind === "sent") {
    await store.remove(id);
  } else if (outcome.kind === "invalid") {
    record.state = "failed";
    record.error = outcome.error.message;
    await store.put(record);
  } else {
    record.error = outcome.kind === "server" ? interpolate(S.serverError, { status: outcome.error.status }) : "";
    await store.put(record);
  }
  return outcome;
}

async function refreshPending() {
  try {
    state.pending = (await store.all()).filter(function (r) {
      return r.owner === CONFIG.user;
    });
  } catch (error) {
    state.pending = [];
  }
  const waiting = state.pending.filter(function (r) {
    return r.state !== "failed";
  }).length;
  root.dataset.pending = String(waiting);
  root.dataset.online = navigator.onLine ? "true" : "false";
  const bar = $("[data-netbar]");
  bar.hidden = navigator.onLine && !state.pending.length;
  bar.classList.toggle("is-offline", !navigator.onLine);
  $(".vf-netbar-state", bar).textContent = navigator.onLine ? S.online : S.offline;
  $(".vf-netbar-pending", bar).textContent = state.pending.length ? interpolate(S.pendingCount, { count: state.pending.length }) : "";
  renderQueue();
}

function renderQueue() {
  const section = $("[data-queue]");
  const list = $("[data-queue-list]");
  list.textContent = "";
  section.hidden = !state.pending.length;
  state.pending.forEach(function (record) {
    const item = el("li", record.state === "failed" ? "is-failed" : null);
    item.dataset.clientUuid = record.client_uuid;
    item.appendChild(el("strong", null, record.label || ""));
    item.appendChild(el("small", null, new Date(record.created_at).toLocaleString()));
    if (record.state === "failed") {
      item.appendChild(el("p", "vf-error", interpolate(S.sendFailed, { detail: record.error })));
      const discard = el("button", "vf-remove", S.discard);
      discard.type = "button";
      discard.addEventListener("click", async function () {
        if (!window.confirm(S.discardConfirm)) return;
        await store.remove(record.client_uuid);
        await refreshPending();
      });
      item.appendChild(discard);
    }
    list.appendChild(item);
  });
}

let flushing = null;
function flush() {
  if (flushing) return flushing;
  flushing = (async function () {
    await refreshPending();
    if (!navigator.onLine) return;
    let sent = 0;
    const records = state.pending.filter(function (r) {
      return r.state !== "failed" && r.client_uuid !== state.inFlight;
    });
    for (const record of records) {
      const outcome = await sendQueued(record.client_uuid);
      if (outcome.kind === "sent") sent += 1;
      else if (outcome.kind === "network" || outcome.kind === "server" || outcome.kind === "auth") {
        if (outcome.kind === "auth") toast(S.loginExpired, "warning");
        break;
      }
    }
    await refreshPending();
    if (sent) toast(interpolate(S.sentQueued, { count: sent }));
  })().finally(function () {
    flushing = null;
  });
  return flushing;
}

function showResult(body) {
  const panel = $('[data-panel="result"]');
  panel.textContent = "";
  panel.appendChild(el("h2", "vf-subtitle", S.saved));
  panel.dataset.visit = String(body.id);
  (body.households || []).forEach(function (h) {
    const line = panel.appendChild(el("p", null, householdLabel(h)));
    // Other apps' pages for the household (servicedesk: a service request, 代办).
    const key = h.code && h.code.indexOf("/") < 0 ? h.code : "~" + h.id;
    (CONFIG.links || []).forEach(function (target) {
      const link = el("a", "vf-link", target.label);
      link.href =
        target.url + "?household=" + encodeURIComponent(key) + "&visit=" + String(body.id);
      link.dataset.visitLink = "";
      line.appendChild(document.createTextNode(" "));
      line.appendChild(link);
    });
  });
  const cases = (body.requests || []).filter(function (r) {
    return r.case;
  });
  if (cases.length) {
    panel.appendChild(el("p", null, interpolate(S.savedCases, { count: cases.length })));
    cases.forEach(function (r) {
      const link = el("a", null, interpolate(S.openCase, { id: r.case.id }));
      link.href = r.case.url;
      link.dataset.case = String(r.case.id);
      panel.appendChild(el("p")).appendChild(link);
    });
  }
  const again = el("button", "vf-button", S.newVisit);
  again.type = "button";
  again.addEventListener("click", function () {
    panel.hidden = true;
    form.hidden = false;
  });
  panel.appendChild(again);
  form.hidden = true;
  panel.hidden = false;
}

function resetForm() {
  state.chosen = [];
  state.requests = [];
  state.photos.forEach(function (p) {
    URL.revokeObjectURL(p.url);
  });
  state.photos = [];
  form.reset();
  renderChosen();
  renderRequests();
  renderPhotos();
  toggleKind();
}

function showApiErrors(error) {
  const errors = (error.body && error.body.errors) || {};
  let shown = false;
  Object.keys(errors).forEach(function (name) {
    const messages = errors[name];
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    const box = $('[data-error="' + name + '"]', form);
    if (box) {
      box.textContent = text;
      box.hidden = false;
      shown = true;
    }
  });
  if (!shown) fieldError("form", error.message);
}

async function submit(event) {
  event.preventDefault();
  if (state.sending || !validate()) return;
  const button = $(".vf-submit", form);
  const label = button.textContent;
  state.sending = true;
  button.disabled = true;
  button.textContent = S.sending;
  const record = buildRecord();
  state.inFlight = record.client_uuid;
  let queued = true;
  try {
    await store.put(record); // written before the first attempt: a lost answer loses nothing
  } catch (error) {
    queued = false;
  }
  let outcome;
  if (!navigator.onLine) outcome = { kind: "network" };
  else outcome = queued ? await sendQueued(record.client_uuid) : await post(record);
  state.sending = false;
  state.inFlight = null;
  button.disabled = false;
  button.textContent = label;
  if (outcome.kind === "sent") {
    resetForm();
    toast("");
    showResult(outcome.body);
  } else if (outcome.kind === "invalid") {
    if (queued) await store.remove(record.client_uuid);
    showApiErrors(outcome.error);
  } else if (!queued) {
    fieldError("form", outcome.kind === "auth" ? S.loginExpired : S.networkError);
  } else {
    resetForm();
    toast(outcome.kind === "auth" ? S.loginExpired : S.queued, "warning");
  }
  await refreshPending();
}

function toggleKind() {
  $("[data-group-only]").hidden = kind() !== "group";
}

/* The field page's service worker (its scope covers this page): registered here too, so that
   the form opens offline even on a phone that never opened the field page. */
function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !CONFIG.serviceWorkerUrl) return;
  navigator.serviceWorker.register(CONFIG.serviceWorkerUrl, { scope: CONFIG.scope }).catch(function () {});
}

/* --- start -------------------------------------------------------------------------------- */
function init() {
  $("#vf-search").addEventListener("input", onSearch);
  form.querySelector('input[name="photos"]').addEventListener("change", onPhotos);
  form.querySelectorAll('input[name="kind"]').forEach(function (input) {
    input.addEventListener("change", toggleKind);
  });
  $('[data-action="add-request"]').addEventListener("click", function () {
    state.requests.push({ text: "", household: "", make_case: false, category: "" });
    renderRequests();
  });
  form.addEventListener("submit", submit);
  (CONFIG.prefill || []).forEach(choose);
  // Served offline by the service worker (its copy is the plain page): the household asked
  // for in the address is added by its number, as the search does offline.
  const asked = new URLSearchParams(window.location.search).get("household");
  if (asked && !asked.startsWith("~") && !navigator.onLine && !(CONFIG.prefill || []).length) {
    choose({ code: asked.trim() });
  }
  window.addEventListener("online", flush);
  window.addEventListener("offline", refreshPending);
  setInterval(flush, CONFIG.retrySeconds * 1000);
  locate();
  registerServiceWorker();
  flush().finally(function () {
    root.dataset.ready = "true";
  });
}

init();
