/*
 * gridmap, the field page: who handles a report. The routing result of one or more
 * reports as cards (the grid, the explanation, the people with phone links), on the
 * result panel or the detail of an incident.
 */
import { el, interpolate, telHref } from "../../gridmap/common.js";
import { $, S, label, mapHint, root, showPanel, state } from "./page.js";
import { showIncidentOnMap } from "./map.js";

/* One person with a phone link: of a routing result, or told of a new unit. */
export function personRow(person) {
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
export function caseLink(id, className) {
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
export function resultCard(result) {
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

/* From a result or the queue, back to the report form. */
export function backToForm() {
  showPanel("form");
  if (!state.point) mapHint(S.tapToPlace);
}

/* The routing result of one or more reports (after a submit, or after a queue flush). */
export function showResults(results, heading) {
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
