/*
 * gridmap: the day on the phone (/field/today/): sign in, record a patrol.
 *
 * Sign-in: the phone's position (geolocation, high accuracy) is POSTed to
 * /api/presence/sign-ins/ with the time it was taken and a client_uuid. Refused as too far
 * from the worker's place: the reason is shown and a field opens to say why and sign in
 * anyway. Without a network the sign-in waits in IndexedDB (storeOf("sign_ins")) with its
 * time and is sent on "online", on load and every CONFIG.retrySeconds.
 *
 * Patrol: watchPosition with enableHighAccuracy; a position is kept only when it is at least
 * data-sample-seconds after the last kept one AND data-sample-metres away from it, or
 * data-sample-max-seconds after it whatever the move (the GPS runs, the page stores little).
 * While recording, the kept positions are written to IndexedDB (storeOf("patrols"), state
 * "recording") so a reload resumes the patrol without losing them; on stop the record
 * becomes "queued" and is sent to /api/patrols/ like the sign-ins.
 *
 * Every text goes into the page as text (el, textContent), never as HTML. The page root
 * carries data-ready, data-online, data-pending, data-sign-in and data-patrol for tests.
 */
import {
  clockTime,
  el,
  fetchJson,
  interpolate,
  isAuthError,
  jsonPost,
  readJson,
  uuid,
} from "../gridmap/common.js";
import { storeOf } from "../incidents/field-queue.js";

const S = readJson("today-strings");
const CONFIG = readJson("today-config");
const root = document.getElementById("today");
const signIns = storeOf("sign_ins");
const patrols = storeOf("patrols");

function $(selector) {
  return root.querySelector(selector);
}

function metresBetween(a, b) {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dp = (b.lat - a.lat) * rad;
  const dl = (b.lon - a.lon) * rad;
  const h =
    Math.sin(dp / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dl / 2) ** 2;
  return 2 * r * Math.asin(Math.min(1, Math.sqrt(h)));
}

function show(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}

function api(url, init) {
  return fetchJson(url, init, S.networkError);
}

/* --- network state and the queue count ------------------------------------------------- */
async function renderPending() {
  let count = 0;
  try {
    const waiting = (await signIns.all()).concat(
      (await patrols.all()).filter(function (r) {
        return r.state === "queued";
      })
    );
    count = waiting.filter(function (r) {
      return r.owner === CONFIG.user;
    }).length;
  } catch (error) {
    count = 0;
  }
  root.dataset.pending = String(count);
  const bar = $("[data-net]");
  bar.hidden = navigator.onLine && count === 0;
  root.dataset.online = navigator.onLine ? "true" : "false";
  $("[data-net-state]").textContent = navigator.onLine ? S.online : S.offline;
  $("[data-net-pending]").textContent = count ? interpolate(S.queuedCount, { count: count }) : "";
}

/* --- sign-in ----------------------------------------------------------------------------- */
function position() {
  return new Promise(function (resolve, reject) {
    if (!navigator.geolocation) {
      reject(new Error(S.noGeolocation));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      resolve,
      function (error) {
        reject(new Error(error.code === 1 ? S.locateDenied : S.locateFailed));
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
    );
  });
}

function showSignedIn(body) {
  const status = $("[data-sign-in-status]");
  status.replaceChildren();
  const time = clockTime(body.at, CONFIG.timeZone);
  status.appendChild(el("p", "td-ok", interpolate(S.signedIn, { time: time })));
  let place = body.place && body.place.name ? body.place.name : body.place ? body.place.code : "";
  if (body.verdict !== "inside" && body.distance_m) {
    place += " · " + interpolate(S.distance, { metres: Math.round(body.distance_m) });
  }
  status.appendChild(
    el("p", "td-muted", interpolate(S.signedInPlace, { verdict: body.verdict_label, place: place }))
  );
  show($("[data-sign-in-error]"), "");
  $("[data-reason]").hidden = true;
  $('[data-action="sign-in"]').disabled = true;
  root.dataset.signIn = "done";
}

function showRefusal(body, message) {
  show($("[data-sign-in-error]"), message);
  root.dataset.signIn = "refused";
  if (body && body.reason === "outside") {
    $("[data-reason]").hidden = false;
    root.dataset.signIn = "needs-reason";
    $("#td-note").focus();
  }
}

/* One POST of a sign-in: "sent" | "network" | "auth" | "refused" (4xx). */
async function postSignIn(record) {
  try {
    const answer = await api(CONFIG.signInsUrl, jsonPost(record.body));
    return { kind: "sent", body: answer.body };
  } catch (error) {
    if (error.network) return { kind: "network", error: error };
    if (isAuthError(error)) return { kind: "auth", error: error };
    if (error.status >= 400 && error.status < 500) return { kind: "refused", error: error };
    return { kind: "network", error: error };
  }
}

async function signIn() {
  const button = $('[data-action="sign-in"]');
  button.disabled = true;
  show($("[data-sign-in-error]"), "");
  const status = $("[data-sign-in-status]");
  status.replaceChildren(el("p", "td-muted", S.locating));
  let fix;
  try {
    fix = await position();
  } catch (error) {
    status.replaceChildren();
    show($("[data-sign-in-error]"), error.message);
    button.disabled = false;
    return;
  }
  const record = {
    client_uuid: uuid(),
    owner: CONFIG.user,
    created_at: Date.now(),
    body: {
      lon: fix.coords.longitude,
      lat: fix.coords.latitude,
      crs: "wgs84",
      accuracy: fix.coords.accuracy,
      at: new Date(fix.timestamp || Date.now()).toISOString(),
      note: $("#td-note").value.trim(),
    },
  };
  record.body.client_uuid = record.client_uuid;
  // Written before the first attempt: a lost answer or a closed tab loses nothing.
  await signIns.put(record);
  const outcome = await postSignIn(record);
  status.replaceChildren();
  if (outcome.kind === "sent") {
    await signIns.remove(record.client_uuid);
    showSignedIn(outcome.body);
  } else if (outcome.kind === "refused") {
    await signIns.remove(record.client_uuid);
    showRefusal(outcome.error.body, outcome.error.message);
    button.disabled = false;
  } else if (outcome.kind === "auth") {
    show($("[data-sign-in-error]"), S.loginExpired);
    button.disabled = false;
  } else {
    status.appendChild(el("p", "td-queued", S.queuedSignIn));
    root.dataset.signIn = "queued";
  }
  await renderPending();
}

/* --- patrol ------------------------------------------------------------------------------ */
let recording = null; // the IndexedDB record while recording
let watchId = null;

function sampling() {
  return {
    seconds: Number(root.dataset.sampleSeconds) || 10,
    metres: Number(root.dataset.sampleMetres) || 5,
    maxSeconds: Number(root.dataset.sampleMaxSeconds) || 60,
  };
}

function trackMetres(points) {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) total += metresBetween(points[i - 1], points[i]);
  return total;
}

function renderRecording() {
  if (!recording) return;
  const points = recording.points;
  const minutes = points.length > 1 ? (points[points.length - 1].t - points[0].t) / 60000 : 0;
  $("[data-patrol-status]").textContent = interpolate(S.recording, {
    count: points.length,
    metres: Math.round(trackMetres(points)),
    minutes: minutes.toFixed(1),
  });
  root.dataset.points = String(points.length);
}

function onFix(fix) {
  if (!recording) return;
  const point = {
    lon: fix.coords.longitude,
    lat: fix.coords.latitude,
    t: fix.timestamp || Date.now(),
    accuracy: fix.coords.accuracy,
  };
  const rule = sampling();
  const last = recording.points[recording.points.length - 1];
  if (last) {
    const elapsed = (point.t - last.t) / 1000;
    const moved = metresBetween(last, point);
    const keep = (elapsed >= rule.seconds && moved >= rule.metres) || elapsed >= rule.maxSeconds;
    if (!keep) return;
  }
  show($("[data-patrol-error]"), ""); // a position again: an earlier error is over
  recording.points.push(point);
  patrols.put(recording);
  renderRecording();
}

function watch() {
  if (!navigator.geolocation) {
    show($("[data-patrol-error]"), S.noGeolocation);
    return;
  }
  watchId = navigator.geolocation.watchPosition(
    onFix,
    function (error) {
      show($("[data-patrol-error]"), error.code === 1 ? S.locateDenied : S.locateFailed);
    },
    { enableHighAccuracy: true, maximumAge: 0 }
  );
  root.dataset.patrol = "recording";
  $('[data-action="patrol-start"]').hidden = true;
  $('[data-action="patrol-stop"]').hidden = false;
}

async function startPatrol() {
  show($("[data-patrol-error]"), "");
  recording = {
    client_uuid: uuid(),
    owner: CONFIG.user,
    created_at: Date.now(),
    state: "recording",
    crs: "wgs84",
    points: [],
  };
  await patrols.put(recording);
  $("[data-patrol-status]").textContent = S.recordingStarted;
  watch();
}

async function stopPatrol() {
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
  const record = recording;
  recording = null;
  $('[data-action="patrol-start"]').hidden = false;
  $('[data-action="patrol-stop"]').hidden = true;
  if (!record) return;
  if (record.points.length < 2) {
    await patrols.remove(record.client_uuid);
    root.dataset.patrol = "idle";
    show($("[data-patrol-error]"), S.patrolTooShort);
    return;
  }
  record.state = "queued";
  await patrols.put(record);
  root.dataset.patrol = "queued";
  $("[data-patrol-status]").textContent = S.patrolQueued;
  await flush();
}

async function postPatrol(record) {
  const body = {
    client_uuid: record.client_uuid,
    crs: record.crs,
    points: record.points.map(function (p) {
      return { lon: p.lon, lat: p.lat, t: new Date(p.t).toISOString(), accuracy: p.accuracy };
    }),
  };
  try {
    const answer = await api(CONFIG.patrolsUrl, jsonPost(body));
    return { kind: "sent", body: answer.body };
  } catch (error) {
    if (error.network) return { kind: "network", error: error };
    if (isAuthError(error)) return { kind: "auth", error: error };
    if (error.status >= 400 && error.status < 500) return { kind: "refused", error: error };
    return { kind: "network", error: error };
  }
}

/* --- sending what waits ------------------------------------------------------------------ */
let flushing = null;

async function flushOnce() {
  if (!navigator.onLine) return;
  let sent = 0;
  for (const record of await signIns.all()) {
    if (record.owner !== CONFIG.user) continue;
    const outcome = await postSignIn(record);
    if (outcome.kind === "network" || outcome.kind === "auth") break;
    await signIns.remove(record.client_uuid);
    sent += 1;
    if (outcome.kind === "sent") showSignedIn(outcome.body);
    else showRefusal(outcome.error.body, outcome.error.message);
  }
  for (const record of await patrols.all()) {
    if (record.owner !== CONFIG.user || record.state !== "queued") continue;
    const outcome = await postPatrol(record);
    if (outcome.kind === "network" || outcome.kind === "auth") break;
    await patrols.remove(record.client_uuid);
    sent += 1;
    if (outcome.kind === "sent") {
      const props = outcome.body.properties;
      $("[data-patrol-status]").textContent = interpolate(S.patrolSent, {
        metres: Math.round(props.length_m),
        minutes: (props.duration_s / 60).toFixed(1),
      });
      root.dataset.patrol = "sent";
    } else {
      show($("[data-patrol-error]"), interpolate(S.patrolFailed, { detail: outcome.error.message }));
      root.dataset.patrol = "idle";
    }
  }
  return sent;
}

function flush() {
  if (!flushing) {
    flushing = flushOnce()
      .catch(function () {})
      .then(renderPending)
      .finally(function () {
        flushing = null;
      });
  }
  return flushing;
}

/* --- start ------------------------------------------------------------------------------- */
async function resume() {
  // A patrol that was recording when the page closed goes on with its positions.
  for (const record of await patrols.all()) {
    if (record.owner === CONFIG.user && record.state === "recording") {
      recording = record;
      renderRecording();
      watch();
      break;
    }
  }
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !CONFIG.serviceWorkerUrl) return;
  navigator.serviceWorker
    .register(CONFIG.serviceWorkerUrl, { scope: CONFIG.scope })
    .then(function () {
      return navigator.serviceWorker.ready;
    })
    .then(function (registration) {
      // Active: the page and its files are on the phone; it opens offline from now on.
      if (registration.active) registration.active.postMessage({ type: "user", user: CONFIG.user });
      root.dataset.sw = "ready";
    })
    .catch(function () {});
}

async function init() {
  $('[data-action="sign-in"]').addEventListener("click", signIn);
  $('[data-action="patrol-start"]').addEventListener("click", startPatrol);
  $('[data-action="patrol-stop"]').addEventListener("click", stopPatrol);
  window.addEventListener("online", function () {
    renderPending();
    flush();
  });
  window.addEventListener("offline", renderPending);
  window.setInterval(flush, (CONFIG.retrySeconds || 30) * 1000);
  try {
    await resume();
    await renderPending();
    await flush();
  } finally {
    root.dataset.ready = "true";
  }
  registerServiceWorker();
}

init();
