/*
 * gridmap: the service desk's new request (/services/new/). The form works without this
 * script (type the household number, pick the item). This adds:
 * - a household search by number or address (presence's /api/households/search/), whose
 *   choice puts the household's key in the field;
 * - beside the chosen item: the date it would be promised by and what to bring.
 * Data is put into the page as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  const root = document.getElementById("service-new");
  if (!root) return;

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }
  const ITEMS = readJson("service-items");
  const S = readJson("service-strings");
  const CONFIG = readJson("service-config");

  function interpolate(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- the item's preview ------------------------------------------------------------------
  const select = root.querySelector("[data-item-select]");
  const preview = root.querySelector("[data-item-preview]");
  function showItem() {
    const item = ITEMS[select.value];
    if (!item) {
      preview.hidden = true;
      return;
    }
    preview.querySelector("[data-promise]").textContent = interpolate(S.promise, {
      date: item.promise,
      days: item.days,
    });
    const list = preview.querySelector("[data-materials]");
    list.textContent = "";
    const lines = (item.materials || "").split(/\r?\n/).filter(function (line) {
      return line.trim();
    });
    if (!lines.length) list.appendChild(el("li", null, S.nothing));
    lines.forEach(function (line) {
      list.appendChild(el("li", null, line.trim()));
    });
    preview.querySelector("[data-fees]").textContent = item.fees || "";
    preview.hidden = false;
  }
  select.addEventListener("change", showItem);
  showItem();

  // --- the household search ----------------------------------------------------------------
  const input = root.querySelector("[data-household-input]");
  const results = root.querySelector("[data-household-results]");
  const chosen = root.querySelector("[data-household-chosen]");
  let timer = null;
  let asked = 0;

  function choose(row) {
    input.value = row.key;
    chosen.textContent = [row.address, row.grid ? row.grid.village + " " + row.grid.name : ""]
      .filter(Boolean)
      .join(" · ");
    results.hidden = true;
    results.textContent = "";
  }

  async function search(query) {
    const mine = ++asked;
    results.textContent = "";
    results.appendChild(el("li", "gm-muted", S.searching));
    results.hidden = false;
    let rows = [];
    try {
      const response = await fetch(
        CONFIG.searchUrl + "?" + new URLSearchParams({ q: query }).toString(),
        { credentials: "same-origin", headers: { Accept: "application/json" } }
      );
      if (response.ok) rows = (await response.json()).results || [];
    } catch (error) {
      rows = [];
    }
    if (mine !== asked) return;
    results.textContent = "";
    if (!rows.length) results.appendChild(el("li", "gm-muted", S.noMatch));
    rows.forEach(function (row) {
      const item = el("li");
      const button = el("button", "sd-result");
      button.type = "button";
      button.dataset.householdKey = row.key;
      button.appendChild(el("b", null, row.address));
      const where = [row.code, row.grid ? row.grid.village + " " + row.grid.name : ""]
        .filter(Boolean)
        .join(" · ");
      button.appendChild(el("span", "gm-muted", where));
      button.addEventListener("click", function () {
        choose(row);
      });
      item.appendChild(button);
      results.appendChild(item);
    });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    const query = input.value.trim();
    if (query.length < 2) {
      results.hidden = true;
      return;
    }
    timer = window.setTimeout(function () {
      search(query);
    }, 250);
  });

  root.querySelector("[data-new-form]").addEventListener("submit", function () {
    const button = root.querySelector("[data-submit]");
    window.setTimeout(function () {
      button.disabled = true;
    }, 0);
  });
  root.dataset.ready = "true";
})();
