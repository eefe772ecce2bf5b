/*
 * gridmap: the field page (/field/), a phone page for grid workers. This is its entry
 * module; the parts are ES modules served as they are (no build step):
 *
 * - field/page.js: text, settings, the page state, the API, the sheet, toasts and errors.
 * - field/map.js: the outlines, the pins, keeping points clear of the sheet.
 * - field/report.js, Report: tap the map (or "Locate me") to place the point, pick a
 *   category and severity, describe, add up to 3 photos, see open incidents of that
 *   category nearby (attach to one instead), submit, and see who handles it: the routing
 *   result (field/results.js) with names and phone links.
 * - field/queue.js with field-queue.js (IndexedDB), offline: a report is written to the
 *   queue with its client_uuid before it is sent; it is removed once the server has
 *   answered. A report that could not be sent is sent again on "online", on page load and
 *   every CONFIG.retrySeconds. The server recognises a resend by its client_uuid (200 with
 *   the same incident), so nothing is duplicated, even when an answer was lost on the way.
 * - ../households/unit-editor.js, Ten-household unit: pick member households on the map
 *   (tap, or drag a box), choose the head and the central household, name it, save;
 *   warnings and who was notified are shown.
 * - field/my-work.js, My work: incidents routed to me, and the inbox with unread counts
 *   per kind.
 * - field/modes.js: switching between those three tabs.
 *
 * The service worker (field-sw.js, served at /field/sw.js) keeps every one of these files
 * for offline use: incidents.views.FIELD_STATIC lists them.
 *
 * django-leaflet creates the map and calls window.fieldInit(map). UI text, labels and URLs
 * come from the JSON scripts the template renders in the active language. For the browser
 * tests the root element #field carries data-ready, data-online, data-pending, data-view
 * and data-sw ("ready" once the service worker controls the shell).
 */
import { setUpUnitEditor } from "../households/unit-editor.js";
import {
  CONFIG,
  S,
  clearErrors,
  fieldError,
  mapHint,
  root,
  setSheetOpen,
  sheet,
  showApiErrors,
  showPanel,
  state,
  toast,
} from "./field/page.js";
import { layers, setUpMap } from "./field/map.js";
import { enterWork, loadUnread, readAll, switchWorkTab } from "./field/my-work.js";
import { registerMode, switchMode } from "./field/modes.js";
import { flush, renderNetbar, showQueue } from "./field/queue.js";
import { enterReport, leaveReport, loadCategories, locate, setUpReport } from "./field/report.js";
import { personRow } from "./field/results.js";

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
window.fieldInit = function (map) {
  const loads = setUpMap(map).concat([loadCategories()]);
  const units = setUpUnitEditor({
    root: root,
    map: map,
    strings: S,
    config: CONFIG,
    ui: {
      toast: toast,
      mapHint: mapHint,
      fieldError: fieldError,
      clearErrors: clearErrors,
      showApiErrors: showApiErrors,
      showPanel: showPanel,
      personRow: personRow,
    },
  });
  registerMode("report", { enter: enterReport, leave: leaveReport });
  registerMode("unit", units);
  registerMode("work", { enter: enterWork });
  setUpReport(map);

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
    } else if (target.dataset.action === "box-select") units.toggleBoxSelect();
    else if (target.dataset.action === "clear-selection") units.clearSelection();
    else if (target.dataset.action === "read-all") readAll();
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

  units.render();
  renderNetbar();
  registerServiceWorker();

  // For the browser console and the browser tests.
  window.gridmapField = { map: map, state: state, flush: flush, layers: { grids: layers.grids, villages: layers.villages } };

  Promise.all(loads).then(function () {
    root.dataset.ready = "true";
    flush();
    loadUnread();
  });
};
