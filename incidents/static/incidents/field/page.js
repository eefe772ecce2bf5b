/*
 * gridmap, the field page: what every part of the page shares. Its text, labels and
 * settings (the JSON scripts the template renders in the active language), the root
 * element #field, the page state, the calls to the API, and the sheet with its panels,
 * toasts and form errors.
 */
import { LOCALE, el, fetchJson, readJson } from "../../gridmap/common.js";

export const S = readJson("field-strings");
const LABELS = readJson("field-labels");
export const CONFIG = readJson("field-config");
export const root = document.getElementById("field");

/* --- small helpers ------------------------------------------------------------------------ */
export function $(selector, scope) {
  return (scope || root).querySelector(selector);
}

export function $all(selector, scope) {
  return Array.prototype.slice.call((scope || root).querySelectorAll(selector));
}

export function label(kind, value) {
  return (LABELS[kind] && LABELS[kind][value]) || value || "";
}

export function formatTime(iso) {
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

/* --- talking to the API -------------------------------------------------------------------- */
/* -> {status, body}; a network failure throws an error with .network; an HTTP error
   throws an error with .status, .body and the API's human "detail" as its message. */
export function api(url, options) {
  return fetchJson(url, options, S.networkError);
}

/* --- state --------------------------------------------------------------------------------- */
export const form = $(".fd-report");
export const state = {
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
  reportView: "form", // the report panel last shown: "form", "result" or "queue"
  inFlight: null, // the client_uuid of the report the form is sending now
};

/* --- the sheet, panels and toasts ---------------------------------------------------------- */
export const sheet = $(".fd-sheet");

export function showPanel(name) {
  $all(".fd-panel").forEach(function (panel) {
    panel.hidden = panel.dataset.panel !== name;
  });
  root.dataset.view = name;
  if (name === "form" || name === "result" || name === "queue") state.reportView = name;
  setSheetOpen(true);
  sheet.scrollTop = 0;
}

export function setSheetOpen(open) {
  sheet.classList.toggle("is-collapsed", !open);
  $(".fd-grabber").setAttribute("aria-expanded", open ? "true" : "false");
}

let toastTimer = null;
export function toast(text, kind, action) {
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

export function mapHint(text) {
  const hint = $(".fd-map-hint");
  hint.textContent = text || "";
  hint.hidden = !text;
}

export function fieldError(scope, name, text) {
  const node = $('[data-error="' + name + '"]', scope);
  if (!node) return false;
  node.textContent = text || "";
  node.hidden = !text;
  return true;
}

export function clearErrors(scope) {
  $all("[data-error]", scope).forEach(function (node) {
    node.textContent = "";
    node.hidden = true;
  });
}

/* A 400's {"detail", "errors": {field: [messages]}} shown next to the fields. */
export function showApiErrors(scope, error, formKey, fieldMap) {
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
