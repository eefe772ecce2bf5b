/*
 * gridmap, the field page: the reports waiting on this phone. A report is written to the
 * IndexedDB queue (../field-queue.js) with its client_uuid before it is sent and removed
 * once the server has answered. A report that could not be sent is sent again on
 * "online", on page load and every CONFIG.retrySeconds; the server recognises a resend by
 * its client_uuid, so nothing is duplicated, even when an answer was lost on the way back.
 * Here: sending one record, sending them all (flush), the status bar and the queue panel.
 */
import { el, interpolate, isAuthError, jsonPost } from "../../gridmap/common.js";
import { queue } from "../field-queue.js";
import { $, CONFIG, S, api, formatTime, mapHint, root, showPanel, state, toast } from "./page.js";
import { layers, pinIcon } from "./map.js";
import { switchMode } from "./modes.js";
import { loadUnread } from "./my-work.js";
import { backToForm, showResults } from "./results.js";

const LATE_MS = 60 * 1000;

/* One POST of a queued record: {kind: "sent", status, body} | "network" | "auth" |
   "invalid" (error) | "server" (error). */
export async function postRecord(record) {
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
    init = jsonPost(feature);
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

/* Sending is one at a time, across tabs when the browser has Web Locks. */
let chain = Promise.resolve();
export function exclusive(task) {
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
export async function sendQueued(uuidValue) {
  const record = await queue.get(uuidValue);
  if (!record) return { kind: "gone" };
  record.attempts = (record.attempts || 0) + 1;
  let outcome = await postRecord(record);
  const errors = outcome.kind === "invalid" && outcome.error.body && outcome.error.body.errors;
  if (errors && errors.reported_at && !record.serverTime) {
    record.serverTime = true;
    outcome = await postRecord(record);
  }
  if (outcome.kind === "sent") {
    await queue.remove(uuidValue);
    state.lastResults.unshift({ client_uuid: uuidValue, body: outcome.body });
    state.lastResults = state.lastResults.slice(0, 20);
  } else if (outcome.kind === "invalid") {
    record.state = "failed";
    record.error = outcome.error.message;
    await queue.put(record);
  } else {
    record.error = outcome.kind === "server" ? interpolate(S.serverError, { status: outcome.error.status }) : "";
    await queue.put(record);
  }
  return outcome;
}

/* "Saved on this phone": the reports waiting, with why they wait. */
export function showQueue(outcome) {
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
        await queue.remove(record.client_uuid);
        await refreshPending();
      });
      item.appendChild(discard);
    }
    list.appendChild(item);
  });
}

/* The queued reports of this user; the status bar; the pins of waiting reports. */
export async function refreshPending() {
  try {
    const all = await queue.all();
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
  if (layers.queuedPins) {
    layers.queuedPins.clearLayers();
    state.pending.forEach(function (record) {
      const c = record.feature.geometry.coordinates;
      layers.queuedPins.addLayer(L.marker([c[1], c[0]], { icon: pinIcon("queued", "fd-pin-queued"), interactive: false }));
    });
  }
}

export function renderNetbar() {
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
export function flush() {
  if (flushing) return flushing;
  flushing = (async function () {
    await refreshPending();
    if (!navigator.onLine || !state.pending.length) return;
    const sent = [];
    let stop = null;
    await exclusive(async function () {
      const records = (await queue.all()).filter(function (r) {
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
