/*
 * gridmap: the helpers every page script shares (an ES module, no build step).
 *
 * Page scripts import what they need:
 *   import { readJson, interpolate, el, fetchJson } from "../gridmap/common.js"
 * (the path is relative to the importing file under /static/). UI text never comes from
 * here: each page renders its strings in the active language as a json_script and passes
 * the few a helper shows (the network error) as an argument.
 */

/* The parsed content of a json_script element, {} when the page has none. */
export function readJson(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : {};
}

/* Django-style "%(name)s" placeholders; an unknown name is left as it is. */
export function interpolate(text, values) {
  return String(text).replace(/%\((\w+)\)s/g, function (match, key) {
    return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
  });
}

/* A new element; the text goes in as text, never as HTML. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/* A Leaflet tooltip whose content is ``text`` as text: a name from the database never
   becomes markup (Leaflet would insert a string as HTML). */
export function textTooltip(layer, text, options) {
  return layer.bindTooltip(el("span", null, text), options);
}

/* --- language ---------------------------------------------------------------------------- */
/* The page's language (<html lang>) and the locale the browser formats numbers and dates in. */
const LANG = document.documentElement.lang || "zh-hans";
export const LOCALE = LANG === "zh-hans" ? "zh-CN" : LANG;

export function formatNumber(value) {
  if (value === null || value === undefined) return "–";
  try {
    return Number(value).toLocaleString(LOCALE);
  } catch (e) {
    return String(value);
  }
}

/* A phone number as a link target: digits and "+" only. */
export function telHref(phone) {
  return "tel:" + String(phone).replace(/[^\d+]/g, "");
}

/* --- talking to the API ------------------------------------------------------------------ */
/* The token from the cookie (fresh after a new login), else one rendered in the page. */
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const holder = document.querySelector("[data-csrf]");
  if (holder) return holder.dataset.csrf;
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export function withQuery(url, params) {
  const query = new URLSearchParams(params).toString();
  return query ? url + (url.indexOf("?") === -1 ? "?" : "&") + query : url;
}

/* One call of the JSON API -> {status, body}. ``options`` are fetch's (a method other than
 * GET carries the CSRF token). A network failure throws an Error with .network and the
 * page's ``networkMessage``; an abort is thrown as it is; an HTTP error throws an Error
 * with .status, .body and the API's human "detail" as its message. */
export async function fetchJson(url, options, networkMessage) {
  const init = Object.assign({ credentials: "same-origin" }, options || {});
  init.headers = Object.assign({ Accept: "application/json" }, (options && options.headers) || {});
  if (init.method && init.method !== "GET") init.headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    const failure = new Error(networkMessage);
    failure.network = true;
    throw failure;
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

/* fetch options that POST ``data`` as JSON. */
export function jsonPost(data) {
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) };
}

export function isAuthError(error) {
  return !!error && (error.status === 401 || error.status === 403);
}

/* "08:05": the time of day of an ISO timestamp in timeZone (the server's, so a record made
   in Qinzhou reads the same on any phone); the phone's own zone when the browser cannot. */
export function clockTime(iso, timeZone) {
  const date = new Date(iso);
  if (isNaN(date.getTime())) return "";
  try {
    return new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZone: timeZone || undefined,
    }).format(date);
  } catch (error) {
    return date.toTimeString().slice(0, 5);
  }
}

/* A random UUID (version 4): a record's client_uuid, made on the phone, by which the server
   recognises a resend. crypto.randomUUID where the browser has it (secure contexts only). */
export function uuid() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, function (b) {
    return b.toString(16).padStart(2, "0");
  }).join("");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}
