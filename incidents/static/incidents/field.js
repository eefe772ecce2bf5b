/*
 * gridmap: the field page (/field/), a phone page for grid workers.
 *
 * - Report: tap the map (or "Locate me") to place the point, pick a category and severity,
 *   describe, add up to 3 photos, see open incidents of that category nearby (attach to one
 *   instead), submit, and see who handles it: the routing result with names and phone links.
 * - Offline: a report is written to IndexedDB (field-queue.js) with its client_uuid before
 *   it is sent; it is removed once the server has answered. A report that could not be sent
 *   is sent again on "online", on page load and every CONFIG.retrySeconds. The server
 *   recognises a resend by its client_uuid (200 with the same incident), so nothing is
 *   duplicated, even when an answer was lost on the way back.
 * - Ten-household unit: pick member households on the map (tap, or drag a box), choose the
 *   head and the central household, name it, save; warnings and who was notified are shown.
 * - My work: incidents routed to me, and the inbox with unread counts per kind.
 *
 * django-leaflet creates the map and calls window.fieldInit(map). UI text, labels and URLs
 * come from the JSON scripts the template renders in the active language. For the browser
 * tests the root element #field carries data-ready, data-online, data-pending, data-view
 * and data-sw ("ready" once the service worker controls the shell).
 */
(function () {
  "use strict";

  function readJson(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : {};
  }

  const S = readJson("field-strings");
  const LABELS = readJson("field-labels");
  const CONFIG = readJson("field-config");
  const LANG = document.documentElement.lang || "zh-hans";
  const LOCALE = LANG === "zh-hans" ? "zh-CN" : LANG;
  const QUEUE = window.gridmapQueue;
  const root = document.getElementById("field");

  /* --- small helpers ------------------------------------------------------------------------ */
  function interpolate(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function $(selector, scope) {
    return (scope || root).querySelector(selector);
  }

  function $all(selector, scope) {
    return Array.prototype.slice.call((scope || root).querySelectorAll(selector));
  }

  function show(node, visible) {
    if (node) node.hidden = !visible;
  }

  function label(kind, value) {
    return (LABELS[kind] && LABELS[kind][value]) || value || "";
  }

  function formatTime(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    try {
      return date.toLocaleString(LOCALE, {
        month: "numeric",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
      });
    } catch (e) {
      return date.toISOString();
    }
  }

  function megabytes(bytes) {
    return Math.round((bytes / (1024 * 1024)) * 10) / 10;
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    });
    return [hex.slice(0, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10), hex.slice(10)]
      .map(function (part) {
        return part.join("");
      })
      .join("-");
  }

  function telHref(phone) {
    return "tel:" + String(phone).replace(/[^\d+]/g, "");
  }

  /* The token from the cookie (fresh after a new login), else the one rendered in the page. */
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : root.dataset.csrf;
  }

  /* --- talking to the API -------------------------------------------------------------------- */
  function NetworkError() {
    const error = new Error(S.networkError);
    error.network = true;
    return error;
  }

  /* -> {status, body}; a network failure throws an error with .network; an HTTP error
     throws an error with .status, .body and the API's human "detail" as its message. */
  async function api(url, options) {
    const init = Object.assign({ credentials: "same-origin" }, options || {});
    init.headers = Object.assign({ Accept: "application/json" }, (options && options.headers) || {});
    if (init.method && init.method !== "GET") init.headers["X-CSRFToken"] = csrfToken();
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw NetworkError();
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && body.detail ? body.detail : response.status + " " + response.statusText;
      const failure = new Error(detail);
      failure.status = response.status;
      failure.body = body;
      throw failure;
    }
    return { status: response.status, body: body };
  }

  function withQuery(url, params) {
    const query = new URLSearchParams(params).toString();
    return query ? url + (url.indexOf("?") === -1 ? "?" : "&") + query : url;
  }

  function postJson(url, data) {
    return api(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(data),
    });
  }

  function isAuthError(error) {
    return error && (error.status === 401 || error.status === 403);
  }

  /* --- the sheet, panels and toasts ---------------------------------------------------------- */
  const sheet = $(".fd-sheet");

  function showPanel(name) {
    $all(".fd-panel").forEach(function (panel) {
      panel.hidden = panel.dataset.panel !== name;
    });
    root.dataset.view = name;
    if (name === "form" || name === "result" || name === "queue") state.reportView = name;
    setSheetOpen(true);
    sheet.scrollTop = 0;
  }

  function setSheetOpen(open) {
    sheet.classList.toggle("is-collapsed", !open);
    $(".fd-grabber").setAttribute("aria-expanded", open ? "true" : "false");
  }

  let toastTimer = null;
  function toast(text, kind, action) {
    const box = $(".fd-toast");
    box.textContent = "";
    box.className = "fd-toast fd-toast-" + (kind || "info");
    box.appendChild(el("span", null, text));
    if (action) {
      const button = el("button", "fd-toast-action", action.label);
      button.type = "button";
      button.addEventListener("click", function () {
        box.hidden = true;
        action.run();
      });
      box.appendChild(button);
    }
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      box.hidden = true;
    }, action ? 12000 : 6000);
  }

  function mapHint(text) {
    const hint = $(".fd-map-hint");
    hint.textContent = text || "";
    hint.hidden = !text;
  }

  function fieldError(scope, name, text) {
    const node = $('[data-error="' + name + '"]', scope);
    if (!node) return false;
    node.textContent = text || "";
    node.hidden = !text;
    return true;
  }

  function clearErrors(scope) {
    $all("[data-error]", scope).forEach(function (node) {
      node.textContent = "";
      node.hidden = true;
    });
  }

  /* A 400's {"detail", "errors": {field: [messages]}} shown next to the fields. */
  function showApiErrors(scope, error, formKey, fieldMap) {
    const errors = (error.body && error.body.errors) || {};
    const leftovers = [];
    Object.keys(errors).forEach(function (field) {
      const messages = [].concat(errors[field]).map(function (m) {
        return typeof m === "string" ? m : JSON.stringify(m);
      });
      const target = (fieldMap && fieldMap[field]) || field;
      if (!fieldError(scope, target, messages.join(" "))) leftovers.push(messages.join(" "));
    });
    const detail = error.message || S.invalidFields;
    fieldError(scope, formKey, leftovers.length ? detail + " " + leftovers.join(" ") : detail);
  }

  /* --- people: the routing result and the unit's recipients ---------------------------------- */
  function personRow(person) {
    const row = el("li", "fd-person");
    row.dataset.kind = person.kind || "";
    row.dataset.role = person.role || "";
    row.dataset.responder = person.responder || "";
    const who = el("div", "fd-person-who");
    who.appendChild(el("span", "fd-role", label("role", person.role || person.responder)));
    who.appendChild(el("strong", "fd-person-name", person.name));
    if (person.responder && person.role && person.responder !== person.role) {
      who.appendChild(
        el("span", "fd-person-note", interpolate(S.inPlaceOf, { role: label("role", person.responder) }))
      );
    }
    row.appendChild(who);
    if (person.phone) {
      const call = el("a", "fd-call");
      call.href = telHref(person.phone);
      call.setAttribute("aria-label", interpolate(S.call, { name: person.name }));
      call.innerHTML =
        '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z" fill="currentColor"/></svg>';
      call.appendChild(el("span", null, person.phone));
      row.appendChild(call);
    } else {
      row.appendChild(el("span", "fd-muted fd-nophone", S.noPhone));
    }
    return row;
  }

  /* A link to the case page (/cases/<id>/): its status, history and actions. */
  function caseLink(id, className) {
    const link = el("a", className, root.dataset.caseLabel);
    link.href = root.dataset.caseUrl.replace(/\/0\/$/, "/" + encodeURIComponent(id) + "/");
    link.dataset.caseLink = String(id);
    return link;
  }

  function placeLine(result) {
    if (result.grid) return result.grid.name + " · " + result.grid.code;
    const parts = [result.village && result.village.name, result.town && result.town.name].filter(Boolean);
    return S.noGrid + (parts.length ? " · " + parts.join(" · ") : "");
  }

  /* One routing result card: the grid, the explanation, the people with phone links. */
  function resultCard(result) {
    const card = el("article", "fd-result fd-sev-" + (result.severity || "blue"));
    card.dataset.incidentId = result.id;
    if (result.grid) card.dataset.gridCode = result.grid.code;

    const head = el("header", "fd-result-head");
    const title = result.attached
      ? interpolate(S.attached, { id: result.id })
      : interpolate(S.incidentNumber, { id: result.id });
    head.appendChild(el("span", "fd-result-number", title));
    const tags = el("div", "fd-result-tags");
    if (result.category) tags.appendChild(el("span", "fd-tag", result.category.name || result.category.code));
    tags.appendChild(el("span", "fd-tag fd-tag-sev", label("severity", result.severity)));
    head.appendChild(tags);
    card.appendChild(head);

    card.appendChild(el("div", "fd-result-place", placeLine(result)));

    if (result.reporter_count > 1) {
      card.appendChild(el("p", "fd-muted", interpolate(S.reporterCount, { count: result.reporter_count })));
    }

    const recipients = result.recipients || [];
    if (!recipients.length) card.appendChild(el("p", "fd-warning", S.nobody));
    ["routed", "copied", "watching"].forEach(function (kind) {
      const people = recipients.filter(function (r) {
        return r.kind === kind;
      });
      if (!people.length) return;
      const group = el("section", "fd-people fd-people-" + kind);
      group.dataset.kind = kind;
      group.appendChild(el("h4", "fd-people-title", label("kind", kind)));
      const list = el("ul", "fd-people-list");
      people.forEach(function (person) {
        list.appendChild(personRow(person));
      });
      group.appendChild(list);
      card.appendChild(group);
    });
    // Who to call comes first; how the routing got there, after.
    if (result.explanation) card.appendChild(el("p", "fd-explanation", result.explanation));
    if (result.responsible_level) {
      card.appendChild(
        el("p", "fd-muted fd-level", S.responsibleLevel + ": " + label("level", result.responsible_level))
      );
    }
    if (result.id && root.dataset.caseUrl) {
      const open = caseLink(result.id, "fd-button fd-button-secondary");
      open.style.marginTop = "10px";
      card.appendChild(open);
    }
    return card;
  }

  /* --- state --------------------------------------------------------------------------------- */
  const form = $(".fd-report");
  const state = {
    mode: "report",
    map: null,
    marker: null,
    point: null, // L.LatLng
    categories: [],
    severityTouched: false,
    photos: [], // {file, url}
    duplicates: { key: null, promise: null, results: [], shownKey: null },
    gridLookup: null,
    sending: false,
    pending: [],
    lastResults: [],
  };

  /* --- the map ------------------------------------------------------------------------------- */
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
  function keepInView(latlng) {
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

  function pinIcon(severity, extraClass) {
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
  async function loadCategories() {
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

  /* --- submitting and the queue -------------------------------------------------------------- */
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

  /* One POST of a queued record: {kind: "sent", status, body} | "network" | "auth" |
     "invalid" (error) | "server" (error). */
  async function postRecord(record) {
    // A report sent late keeps the time the worker made it: routing uses the people on duty
    // then. (Unless the server found the phone's clock ahead of its own: then it is "now".)
    const feature = JSON.parse(JSON.stringify(record.feature));
    if (Date.now() - record.created_at > LATE_MS && !record.serverTime) {
      feature.properties.reported_at = new Date(record.created_at).toISOString();
    }
    let init;
    if (record.photos && record.photos.length) {
      const data = new FormData();
      data.append("feature", JSON.stringify(feature));
      record.photos.forEach(function (photo) {
        data.append("photos", photo.blob, photo.name);
      });
      init = { method: "POST", body: data };
    } else {
      init = {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(feature),
      };
    }
    try {
      const answer = await api(CONFIG.incidentsUrl, init);
      return { kind: "sent", status: answer.status, body: answer.body };
    } catch (error) {
      if (error.network) return { kind: "network", error: error };
      if (isAuthError(error)) return { kind: "auth", error: error };
      if (error.status >= 400 && error.status < 500) return { kind: "invalid", error: error };
      return { kind: "server", error: error };
    }
  }

  const LATE_MS = 60 * 1000;

  /* Sending is one at a time, across tabs when the browser has Web Locks. */
  let chain = Promise.resolve();
  function exclusive(task) {
    const run = function () {
      return navigator.locks && navigator.locks.request
        ? navigator.locks.request("gridmap-field-queue", task)
        : task();
    };
    const next = chain.then(run, run);
    chain = next.catch(function () {});
    return next;
  }

  /* Send one queued record if it is still queued; remove it once the server has it. */
  async function sendQueued(uuidValue) {
    const record = await QUEUE.get(uuidValue);
    if (!record) return { kind: "gone" };
    record.attempts = (record.attempts || 0) + 1;
    let outcome = await postRecord(record);
    const errors = outcome.kind === "invalid" && outcome.error.body && outcome.error.body.errors;
    if (errors && errors.reported_at && !record.serverTime) {
      record.serverTime = true;
      outcome = await postRecord(record);
    }
    if (outcome.kind === "sent") {
      await QUEUE.remove(uuidValue);
      state.lastResults.unshift({ client_uuid: uuidValue, body: outcome.body });
      state.lastResults = state.lastResults.slice(0, 20);
    } else if (outcome.kind === "invalid") {
      record.state = "failed";
      record.error = outcome.error.message;
      await QUEUE.put(record);
    } else {
      record.error = outcome.kind === "server" ? interpolate(S.serverError, { status: outcome.error.status }) : "";
      await QUEUE.put(record);
    }
    return outcome;
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
      await QUEUE.put(record); // written before the first attempt: a lost answer loses nothing
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
      if (!record.noQueue) await QUEUE.remove(record.client_uuid);
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

  function backToForm() {
    showPanel("form");
    if (!state.point) mapHint(S.tapToPlace);
  }

  /* The routing result of one or more reports (after a submit, or after a queue flush). */
  function showResults(results, heading) {
    const panel = $('[data-panel="result"]');
    panel.textContent = "";
    const head = el("header", "fd-panel-head fd-result-banner");
    head.appendChild(el("h2", "fd-title", heading || S.reported));
    panel.appendChild(head);
    results.forEach(function (result) {
      panel.appendChild(resultCard(result));
    });
    const again = el("button", "fd-submit", S.reportAnother);
    again.type = "button";
    again.dataset.action = "report-another";
    again.addEventListener("click", backToForm);
    panel.appendChild(again);
    showPanel("result");
    mapHint("");
    panel.dataset.count = String(results.length);
    // The last one on the map.
    const last = results[results.length - 1];
    if (last && last.geometry) showIncidentOnMap(last);
  }

  /* "Saved on this phone": the reports waiting, with why they wait. */
  function showQueue(outcome) {
    const panel = $('[data-panel="queue"]');
    panel.textContent = "";
    const head = el("header", "fd-panel-head");
    head.appendChild(el("h2", "fd-title", S.queuedTitle));
    panel.appendChild(head);
    if (outcome && outcome.kind === "auth") {
      const box = el("div", "fd-alert fd-alert-warning");
      box.appendChild(el("p", null, S.loginExpired));
      const link = el("a", "fd-button fd-button-secondary", S.logInAgain);
      link.href = CONFIG.loginUrl;
      box.appendChild(link);
      panel.appendChild(box);
    } else if (outcome && outcome.kind === "server") {
      panel.appendChild(el("div", "fd-alert fd-alert-warning", interpolate(S.serverError, { status: outcome.error.status })));
    } else if (outcome) {
      const box = el("div", "fd-alert fd-alert-queued");
      box.dataset.queued = "true";
      box.appendChild(el("strong", null, S.queued));
      panel.appendChild(box);
    }
    const count = el("p", "fd-queue-count");
    count.dataset.queueCount = "";
    panel.appendChild(count);
    const list = el("ul", "fd-list fd-queue-list");
    panel.appendChild(list);
    const again = el("button", "fd-submit fd-submit-secondary", S.reportAnother);
    again.type = "button";
    again.addEventListener("click", backToForm);
    panel.appendChild(again);
    renderQueueList();
    showPanel("queue");
    mapHint("");
  }

  function renderQueueList() {
    const panel = $('[data-panel="queue"]');
    const list = $(".fd-queue-list", panel);
    const count = $("[data-queue-count]", panel);
    if (!list) return;
    list.textContent = "";
    count.textContent = interpolate(S.queuedCount, { count: state.pending.length });
    state.pending.forEach(function (record) {
      const item = el("li", "fd-queued" + (record.state === "failed" ? " is-failed" : ""));
      item.dataset.clientUuid = record.client_uuid;
      const props = record.feature.properties;
      item.appendChild(el("strong", null, record.category_name || props.category));
      item.appendChild(el("p", "fd-queued-text", props.description));
      item.appendChild(el("p", "fd-muted", formatTime(new Date(record.created_at).toISOString())));
      if (record.state === "failed") {
        item.appendChild(el("p", "fd-error", interpolate(S.sendFailed, { detail: record.error })));
        const discard = el("button", "fd-button fd-button-secondary", S.discard);
        discard.type = "button";
        discard.addEventListener("click", async function () {
          if (!window.confirm(S.discardConfirm)) return;
          await QUEUE.remove(record.client_uuid);
          await refreshPending();
        });
        item.appendChild(discard);
      }
      list.appendChild(item);
    });
  }

  /* The queued reports of this user; the status bar; the pins of waiting reports. */
  let queuedPins = null;
  async function refreshPending() {
    try {
      const all = await QUEUE.all();
      state.pending = all.filter(function (record) {
        return record.owner === CONFIG.user;
      });
    } catch (error) {
      state.pending = [];
    }
    root.dataset.pending = String(
      state.pending.filter(function (r) {
        return r.state !== "failed";
      }).length
    );
    renderNetbar();
    renderQueueList();
    if (queuedPins) {
      queuedPins.clearLayers();
      state.pending.forEach(function (record) {
        const c = record.feature.geometry.coordinates;
        queuedPins.addLayer(L.marker([c[1], c[0]], { icon: pinIcon("queued", "fd-pin-queued"), interactive: false }));
      });
    }
  }

  function renderNetbar() {
    const online = navigator.onLine;
    root.dataset.online = online ? "true" : "false";
    const bar = $(".fd-netbar");
    const waiting = state.pending.length;
    bar.hidden = online && waiting === 0;
    bar.classList.toggle("is-offline", !online);
    $(".fd-netbar-state", bar).textContent = online ? S.online : S.offline;
    $(".fd-netbar-pending", bar).textContent = waiting ? interpolate(S.pendingCount, { count: waiting }) : "";
  }

  /* Send everything waiting. Runs on "online", on load, every retrySeconds, on demand. */
  let flushing = null;
  function flush() {
    if (flushing) return flushing;
    flushing = (async function () {
      await refreshPending();
      if (!navigator.onLine || !state.pending.length) return;
      const sent = [];
      let stop = null;
      await exclusive(async function () {
        const records = (await QUEUE.all()).filter(function (r) {
          return r.owner === CONFIG.user && r.state !== "failed" && r.client_uuid !== state.inFlight;
        });
        for (const record of records) {
          const outcome = await sendQueued(record.client_uuid);
          if (outcome.kind === "sent") sent.push(outcome.body);
          else if (outcome.kind === "network" || outcome.kind === "auth" || outcome.kind === "server") {
            stop = outcome;
            break;
          }
        }
      });
      await refreshPending();
      if (sent.length) announceSent(sent);
      if (stop && stop.kind === "auth") toast(S.loginExpired, "warning", { label: S.logInAgain, run: function () {
        window.location.href = CONFIG.loginUrl;
      } });
    })().finally(function () {
      flushing = null;
    });
    return flushing;
  }

  /* Queued reports went out: show who handles them, unless the worker is busy with a form. */
  function announceSent(results) {
    const heading = interpolate(S.sentQueued, { count: results.length });
    const busyWithForm =
      state.mode === "report" &&
      root.dataset.view === "form" &&
      (state.point || $("#fd-description").value.trim() || state.photos.length);
    if (state.mode === "report" && !busyWithForm) {
      showResults(results, heading);
    } else {
      toast(heading, "success", {
        label: S.view,
        run: function () {
          switchMode("report");
          showResults(results, heading);
        },
      });
    }
    loadUnread();
  }

  /* --- locate me ----------------------------------------------------------------------------- */
  let accuracyCircle = null;
  let youAreHere = null;
  function locate() {
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

  /* --- my work ------------------------------------------------------------------------------- */
  const work = { tab: "incidents", kind: "", unread: null, incidentsNext: null, inboxNext: null };
  let selectedIncident = null;

  function showIncidentOnMap(result) {
    if (!result.geometry || !result.geometry.coordinates) return;
    const c = result.geometry.coordinates;
    if (selectedIncident) selectedIncident.remove();
    selectedIncident = L.marker([c[1], c[0]], { icon: pinIcon(result.severity || (result.properties && result.properties.severity)), interactive: false });
    selectedIncident.addTo(state.map);
  }

  async function openIncident(id) {
    const panel = $('[data-panel="detail"]');
    panel.textContent = "";
    panel.appendChild(el("p", "fd-muted", S.loading));
    showPanel("detail");
    try {
      const answer = await api(CONFIG.incidentsUrl + encodeURIComponent(id) + "/");
      const feature = answer.body;
      const result = Object.assign({}, feature.properties, { id: feature.id || feature.properties.id, geometry: feature.geometry });
      panel.textContent = "";
      const back = el("button", "fd-link fd-back", "‹ " + S.tabWork);
      back.type = "button";
      back.addEventListener("click", function () {
        showPanel("work");
      });
      panel.appendChild(back);
      panel.appendChild(resultCard(result));
      if (result.description) panel.appendChild(el("p", "fd-description-text", result.description));
      if (feature.geometry) {
        const c = feature.geometry.coordinates;
        showIncidentOnMap(result);
        state.map.setView([c[1], c[0]], Math.max(state.map.getZoom(), 16));
        setSheetOpen(true);
      }
    } catch (error) {
      panel.textContent = "";
      panel.appendChild(el("p", "fd-error", interpolate(S.workError, { detail: error.message })));
    }
  }

  function incidentItem(feature) {
    const p = feature.properties || {};
    const item = el("li", "fd-item fd-sev-" + (p.severity || "blue"));
    const id = feature.id || p.id;
    item.dataset.incidentId = id;
    const button = el("button", "fd-item-main");
    button.type = "button";
    const top = el("span", "fd-item-top");
    top.appendChild(el("strong", null, p.category_name || p.category));
    top.appendChild(el("span", "fd-tag fd-tag-sev", label("severity", p.severity)));
    if (p.status) top.appendChild(el("span", "fd-tag", label("status", p.status)));
    button.appendChild(top);
    button.appendChild(el("span", "fd-item-text", p.description));
    const meta = ["#" + id, formatTime(p.reported_at), p.grid_code].filter(Boolean);
    if (p.reporter_count > 1) meta.push(interpolate(S.reporters, { count: p.reporter_count }));
    button.appendChild(el("span", "fd-muted fd-item-meta", meta.join(" · ")));
    button.addEventListener("click", function () {
      openIncident(id);
    });
    item.appendChild(button);
    if (id && root.dataset.caseUrl) {
      const open = caseLink(id, "fd-link");
      open.style.margin = "0 12px 6px";
      open.style.alignSelf = "flex-start";
      open.style.display = "inline-flex";
      open.style.alignItems = "center";
      item.appendChild(open);
    }
    return item;
  }

  // A paged list box: emptied for a first page, its "more" button removed; with no network a
  // note instead (null), else its <ul>.
  function listIn(box, url) {
    if (!url) box.textContent = "";
    const more = $(".fd-more", box);
    if (more) more.remove();
    if (!navigator.onLine) {
      box.appendChild(el("p", "fd-alert fd-alert-warning", S.workOffline));
      return null;
    }
    let list = $(".fd-items", box);
    if (!list) {
      list = el("ul", "fd-list fd-items");
      box.appendChild(list);
    }
    return list;
  }

  async function loadMyIncidents(url) {
    const box = $('[data-worklist="incidents"]');
    const list = listIn(box, url);
    if (!list) return;
    try {
      const answer = await api(url || withQuery(CONFIG.incidentsUrl, { mine: "1", page_size: "20" }));
      const body = answer.body || {};
      const features = body.features || [];
      features.forEach(function (feature) {
        list.appendChild(incidentItem(feature));
      });
      box.dataset.count = String(body.count !== undefined ? body.count : features.length);
      if (!list.children.length) box.appendChild(el("p", "fd-empty", S.noIncidents));
      if (body.next) {
        const next = el("button", "fd-button fd-button-secondary fd-more", S.loadMore);
        next.type = "button";
        next.addEventListener("click", function () {
          loadMyIncidents(body.next);
        });
        box.appendChild(next);
      }
    } catch (error) {
      box.appendChild(el("p", "fd-error", interpolate(S.workError, { detail: error.message })));
    }
  }

  function renderUnread(unread) {
    work.unread = unread;
    const total = (unread && unread.total) || 0;
    $all('[data-badge="total"], [data-badge="inbox"]').forEach(function (badge) {
      badge.textContent = total > 99 ? "99+" : String(total);
      badge.hidden = total === 0;
    });
    const kinds = $("[data-kinds]");
    kinds.textContent = "";
    ["", "routed", "copied", "watching"].forEach(function (kind) {
      const chip = el("button", "fd-kind" + (work.kind === kind ? " is-active" : ""));
      chip.type = "button";
      chip.dataset.kind = kind;
      chip.setAttribute("aria-pressed", work.kind === kind ? "true" : "false");
      chip.appendChild(el("span", null, kind ? label("kind", kind) : S.all));
      const n = unread ? (kind ? unread[kind] : unread.total) || 0 : 0;
      const badge = el("span", "fd-badge", String(n));
      badge.dataset.badge = kind || "all";
      badge.hidden = n === 0;
      chip.appendChild(badge);
      chip.addEventListener("click", function () {
        work.kind = kind;
        renderUnread(work.unread);
        loadInbox();
      });
      kinds.appendChild(chip);
    });
  }

  async function loadUnread() {
    if (!navigator.onLine) return;
    try {
      const answer = await api(withQuery(CONFIG.inboxUrl, { unread: "1", page_size: "1" }));
      renderUnread((answer.body && answer.body.unread) || null);
    } catch (error) {
      // The badge waits for the next try.
    }
  }

  async function markRead(id) {
    await api(CONFIG.inboxUrl + encodeURIComponent(id) + "/read/", { method: "POST" });
  }

  function inboxItem(item) {
    const row = el("li", "fd-item fd-message" + (item.read_at ? "" : " is-unread"));
    row.dataset.notificationId = item.id;
    row.dataset.kind = item.kind;
    const main = el("button", "fd-item-main");
    main.type = "button";
    const top = el("span", "fd-item-top");
    top.appendChild(el("span", "fd-tag fd-tag-kind fd-kind-" + item.kind, label("kind", item.kind)));
    if (!item.read_at) top.appendChild(el("span", "fd-unread-dot", S.unread));
    main.appendChild(top);
    main.appendChild(el("span", "fd-item-text", item.message));
    main.appendChild(el("span", "fd-muted fd-item-meta", formatTime(item.created_at)));
    main.addEventListener("click", async function () {
      if (!item.read_at) {
        try {
          await markRead(item.id);
          item.read_at = new Date().toISOString();
          loadUnread();
        } catch (error) {
          /* opened anyway */
        }
      }
      const incident = item.incident && typeof item.incident === "object" ? item.incident.id : item.incident;
      if (incident) openIncident(incident);
    });
    row.appendChild(main);
    if (!item.read_at) {
      const read = el("button", "fd-button fd-button-secondary fd-mark-read", S.markRead);
      read.type = "button";
      read.dataset.action = "mark-read";
      read.addEventListener("click", async function () {
        read.disabled = true;
        try {
          await markRead(item.id);
          item.read_at = new Date().toISOString();
          row.classList.remove("is-unread");
          read.remove();
          const dot = $(".fd-unread-dot", row);
          if (dot) dot.remove();
          loadUnread();
        } catch (error) {
          read.disabled = false;
          toast(interpolate(S.workError, { detail: error.message }), "error");
        }
      });
      row.appendChild(read);
    }
    return row;
  }

  async function loadInbox(url) {
    const box = $("[data-inbox-list]");
    const list = listIn(box, url);
    if (!list) return;
    const params = { page_size: "20" };
    if (work.kind) params.kind = work.kind;
    try {
      const answer = await api(url || withQuery(CONFIG.inboxUrl, params));
      const body = answer.body || {};
      if (body.unread) renderUnread(body.unread);
      (body.results || []).forEach(function (item) {
        list.appendChild(inboxItem(item));
      });
      box.dataset.count = String(body.count || 0);
      if (!list.children.length) box.appendChild(el("p", "fd-empty", S.noMessages));
      if (body.next) {
        const next = el("button", "fd-button fd-button-secondary fd-more", S.loadMore);
        next.type = "button";
        next.addEventListener("click", function () {
          loadInbox(body.next);
        });
        box.appendChild(next);
      }
    } catch (error) {
      box.appendChild(el("p", "fd-error", interpolate(S.workError, { detail: error.message })));
    }
  }

  async function readAll() {
    try {
      await api(CONFIG.inboxUrl + "read-all/", { method: "POST" });
    } catch (error) {
      toast(interpolate(S.workError, { detail: error.message }), "error");
      return;
    }
    await loadInbox();
    loadUnread();
  }

  function switchWorkTab(tab) {
    work.tab = tab;
    $all("[data-worktab]").forEach(function (button) {
      button.setAttribute("aria-selected", button.dataset.worktab === tab ? "true" : "false");
    });
    $all("[data-worklist]").forEach(function (box) {
      box.hidden = box.dataset.worklist !== tab;
    });
    if (tab === "incidents") loadMyIncidents();
    else loadInbox();
  }

  /* --- ten-household units ------------------------------------------------------------------- */
  const unitForm = $(".fd-unit");
  const unit = {
    households: new Map(), // id -> {feature, layer}
    selected: new Map(), // id -> feature (kept when the view moves)
    head: null,
    central: null,
    layer: null,
    units: null,
    request: null,
    boxMode: false,
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
      if (!quiet) toast(S.inUnitAlready, "warning");
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
      : state.map.getCenter();
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
    return state.map.getBounds().toBBoxString();
  }

  async function loadHouseholds() {
    if (state.mode !== "unit") return;
    if (state.map.getZoom() < CONFIG.householdMinZoom) {
      unit.layer.clearLayers();
      unit.households.clear();
      mapHint(S.zoomForHouseholds);
      return;
    }
    mapHint("");
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
        layer.bindTooltip(householdLabel(feature), { direction: "top", offset: [0, -8] });
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
      if (body.next) mapHint(interpolate(S.householdsTruncated, { count: unit.households.size }));
    } catch (error) {
      if (error.name === "AbortError") return;
      toast(interpolate(S.householdsError, { detail: error.message }), "error");
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
    state.map.getContainer().classList.toggle("fd-drawing", on);
    if (on) {
      state.map.dragging.disable();
      mapHint(S.drawBoxHint);
    } else {
      state.map.dragging.enable();
      mapHint(state.map.getZoom() < CONFIG.householdMinZoom ? S.zoomForHouseholds : "");
    }
  }

  function setUpBoxSelect() {
    const container = state.map.getContainer();
    let start = null;
    let rectangle = null;
    container.addEventListener("pointerdown", function (event) {
      if (!unit.boxMode || state.mode !== "unit" || event.button > 0) return;
      event.preventDefault();
      event.stopPropagation();
      start = state.map.mouseEventToLatLng(event);
      rectangle = L.rectangle(L.latLngBounds(start, start), { className: "fd-box", interactive: false }).addTo(state.map);
      try {
        container.setPointerCapture(event.pointerId);
      } catch (e) {
        /* not capturable */
      }
    });
    container.addEventListener("pointermove", function (event) {
      if (!start) return;
      rectangle.setBounds(L.latLngBounds(start, state.map.mouseEventToLatLng(event)));
    });
    function finish(event) {
      if (!start) return;
      const bounds = L.latLngBounds(start, state.map.mouseEventToLatLng(event));
      start = null;
      rectangle.remove();
      rectangle = null;
      let skipped = 0;
      unit.households.forEach(function (entry, id) {
        if (bounds.contains(entry.layer.getLatLng()) && !toggleHousehold(id, true, true)) skipped += 1;
      });
      if (skipped) toast(interpolate(S.skippedInUnit, { count: skipped }), "warning");
      renderMembers();
      setBoxMode(false);
    }
    container.addEventListener("pointerup", finish);
    container.addEventListener("pointercancel", finish);
  }

  function validateUnit() {
    clearErrors(unitForm);
    const problems = [];
    if (!unit.selected.size) problems.push(["members", S.needHouseholds]);
    else if (unit.head === null) problems.push(["head_household", S.needHead]);
    if (unit.central === null) problems.push(["central_household", S.needCentral]);
    if (!$("#fd-unit-name").value.trim()) problems.push(["name", S.needName]);
    problems.forEach(function (problem) {
      fieldError(unitForm, problem[0], problem[1]);
    });
    return problems.length === 0;
  }

  async function saveUnit() {
    if (!validateUnit()) return;
    if (!navigator.onLine) {
      fieldError(unitForm, "unit-form", S.unitOffline);
      return;
    }
    const button = $(".fd-submit", unitForm);
    button.disabled = true;
    button.textContent = S.sending;
    try {
      const answer = await postJson(CONFIG.unitsUrl, {
        name: $("#fd-unit-name").value.trim(),
        head_household: unit.head,
        central_household: unit.central,
        members: Array.from(unit.selected.keys()),
      });
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
      if (error.network) fieldError(unitForm, "unit-form", S.unitOffline);
      else if (isAuthError(error)) fieldError(unitForm, "unit-form", S.loginExpired);
      else showApiErrors(unitForm, error, "unit-form");
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
      list.appendChild(personRow(person));
    });
    group.appendChild(list);
    panel.appendChild(group);
    const again = el("button", "fd-submit", S.newUnit);
    again.type = "button";
    again.addEventListener("click", function () {
      showPanel("unit");
    });
    panel.appendChild(again);
    showPanel("unit-result");
  }

  /* --- modes --------------------------------------------------------------------------------- */
  function switchMode(mode) {
    state.mode = mode;
    root.dataset.mode = mode;
    $all(".fd-tab").forEach(function (tab) {
      tab.setAttribute("aria-selected", tab.dataset.tab === mode ? "true" : "false");
    });
    const map = state.map;
    $(".fd-boxselect").hidden = mode !== "unit";
    if (mode !== "unit" && unit.boxMode) setBoxMode(false);
    if (mode === "report") {
      if (state.marker && state.point) state.marker.addTo(map);
      map.removeLayer(unit.layer);
      map.removeLayer(unit.units);
      showPanel(state.reportView || "form");
      mapHint(state.point ? "" : S.tapToPlace);
    } else {
      if (state.marker) state.marker.remove();
    }
    if (mode === "unit") {
      unit.layer.addTo(map);
      unit.units.addTo(map);
      showPanel("unit");
      renderMembers();
      loadHouseholds();
    }
    if (mode === "work") {
      map.removeLayer(unit.layer);
      map.removeLayer(unit.units);
      mapHint("");
      showPanel("work");
      switchWorkTab(work.tab);
    }
  }

  /* --- the service worker -------------------------------------------------------------------- */
  function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) {
      root.dataset.sw = "unsupported";
      return;
    }
    // Offline, the worker that served this page is already there; registering again would
    // only fail to fetch the script.
    const registered = navigator.onLine
      ? navigator.serviceWorker.register(CONFIG.serviceWorkerUrl, { scope: CONFIG.scope })
      : Promise.resolve();
    registered
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (registration) {
        if (registration.active) registration.active.postMessage({ type: "user", user: CONFIG.user });
        root.dataset.sw = "ready";
      })
      .catch(function () {
        root.dataset.sw = "failed";
      });
  }

  /* --- start --------------------------------------------------------------------------------- */
  function layerUrl(level) {
    return CONFIG.layerUrl.replace("LEVEL", encodeURIComponent(level));
  }

  window.fieldInit = function (map) {
    state.map = map;
    if (!CONFIG.hasBasemap && map.attributionControl) map.attributionControl.setPrefix(false);
    if (map.zoomControl) map.zoomControl.setPosition("topright");
    map.createPane("fd-outlines").style.zIndex = 380;
    map.createPane("fd-households").style.zIndex = 620;

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
        layer.bindTooltip(feature.properties.name, {
          permanent: true,
          direction: "center",
          className: "fd-grid-label",
          interactive: false,
        });
      },
    }).addTo(map);
    unit.layer = L.layerGroup();
    unit.units = L.geoJSON(null, {
      interactive: false,
      style: { color: "#7048e8", weight: 1.5, opacity: 0.7, fillColor: "#d0bfff", fillOpacity: 0.08, dashArray: "4 3" },
    });
    queuedPins = L.layerGroup().addTo(map);

    map.on("click", function (event) {
      if (state.mode === "report") {
        if (root.dataset.view !== "form") showPanel("form");
        placePoint(event.latlng);
      }
    });
    map.on("moveend", function () {
      if (state.mode === "unit") loadHouseholds();
    });
    setUpBoxSelect();

    const loads = [
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
      loadCategories(),
    ];

    // Controls.
    root.addEventListener("click", function (event) {
      const target = event.target.closest("[data-action], [data-tab], [data-worktab]");
      if (!target) return;
      if (target.dataset.tab) switchMode(target.dataset.tab);
      else if (target.dataset.worktab) switchWorkTab(target.dataset.worktab);
      else if (target.dataset.action === "locate") locate();
      else if (target.dataset.action === "toggle-sheet") setSheetOpen(sheet.classList.contains("is-collapsed"));
      else if (target.dataset.action === "show-queue") {
        switchMode("report");
        showQueue(null);
        flush();
      } else if (target.dataset.action === "box-select") setBoxMode(!unit.boxMode);
      else if (target.dataset.action === "clear-selection") {
        Array.from(unit.selected.keys()).forEach(function (id) {
          toggleHousehold(id, false);
        });
        unit.central = null;
        renderMembers();
      } else if (target.dataset.action === "read-all") readAll();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitReport(null);
    });
    unitForm.addEventListener("submit", function (event) {
      event.preventDefault();
      saveUnit();
    });
    $("#fd-unit-central").addEventListener("change", function (event) {
      unit.central = event.target.value ? Number(event.target.value) : null;
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

    // The network.
    window.addEventListener("online", function () {
      renderNetbar();
      loadCategories();
      flush();
      loadUnread();
    });
    window.addEventListener("offline", renderNetbar);
    setInterval(function () {
      if (state.pending.length && navigator.onLine) flush();
    }, CONFIG.retrySeconds * 1000);
    setInterval(loadUnread, 60000);

    $("[data-photo-hint]", form).textContent = interpolate(S.photoHint, {
      count: CONFIG.maxPhotos,
      size: megabytes(CONFIG.maxPhotoBytes),
    });
    renderPhotos();
    renderMembers();
    clearPoint();
    renderNetbar();
    registerServiceWorker();

    // For the browser console and the browser tests.
    window.gridmapField = { map: map, state: state, flush: flush, layers: { grids: grids, villages: villages } };

    Promise.all(loads).then(function () {
      root.dataset.ready = "true";
      flush();
      loadUnread();
    });
  };
})();
