/*
 * gridmap, the field page: my work. The incidents routed to me, and the inbox with unread
 * counts per kind (routed, copied, watching); an incident opens with who handles it.
 */
import { el, interpolate, withQuery } from "../../gridmap/common.js";
import {
  $,
  $all,
  CONFIG,
  S,
  api,
  formatTime,
  label,
  mapHint,
  root,
  setSheetOpen,
  showPanel,
  state,
  toast,
} from "./page.js";
import { showIncidentOnMap } from "./map.js";
import { caseLink, resultCard } from "./results.js";

const work = { tab: "incidents", kind: "", unread: null, incidentsNext: null, inboxNext: null };

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

/* "Load more": the next page into the same box. */
function moreButton(load, url) {
  const next = el("button", "fd-button fd-button-secondary fd-more", S.loadMore);
  next.type = "button";
  next.addEventListener("click", function () {
    load(url);
  });
  return next;
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
    if (body.next) box.appendChild(moreButton(loadMyIncidents, body.next));
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

export async function loadUnread() {
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
    if (body.next) box.appendChild(moreButton(loadInbox, body.next));
  } catch (error) {
    box.appendChild(el("p", "fd-error", interpolate(S.workError, { detail: error.message })));
  }
}

export async function readAll() {
  try {
    await api(CONFIG.inboxUrl + "read-all/", { method: "POST" });
  } catch (error) {
    toast(interpolate(S.workError, { detail: error.message }), "error");
    return;
  }
  await loadInbox();
  loadUnread();
}

export function switchWorkTab(tab) {
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

/* The "My work" tab is opened. */
export function enterWork() {
  mapHint("");
  showPanel("work");
  switchWorkTab(work.tab);
}
