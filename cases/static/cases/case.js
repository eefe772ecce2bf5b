/*
 * gridmap: a case page (an incident /cases/<id>/, a service request /services/<id>/). The
 * page works without this script: every action is a plain form that posts back to the page
 * with the case's version. This adds:
 * - one action form open at a time (opening one closes the others);
 * - a confirmation before a destructive action (data-confirm);
 * - the submit button disabled once pressed, so a double tap sends one action (the server
 *   would refuse the second as a conflict anyway);
 * - after a refusal or conflict, the message and the form brought into view.
 */
(function () {
  "use strict";

  const root = document.getElementById("case");
  if (!root) return;

  const actions = Array.prototype.slice.call(root.querySelectorAll("details.cs-action"));
  actions.forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (!details.open) return;
      actions.forEach(function (other) {
        if (other !== details && other.open) other.open = false;
      });
    });
  });

  root.querySelectorAll("form[data-action-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      const question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
      const button = form.querySelector("[data-submit]");
      if (button) {
        // Disabled after the browser has taken the form's data (a disabled button is not sent).
        window.setTimeout(function () {
          button.disabled = true;
        }, 0);
      }
      form.setAttribute("aria-busy", "true");
    });
  });

  const problem = root.querySelector("[data-error]");
  if (problem) {
    const open = root.querySelector("details.cs-action[open]");
    (open || problem).scrollIntoView({ block: "center" });
  }
  root.dataset.ready = "true";
})();
