/*
 * gridmap: the site menu on narrow screens (base.html). The button in the header opens the
 * panel #gm-menu, which holds the very links the desktop header shows (no second list).
 * Escape, a click outside and focus leaving the panel close it; the button says whether it is
 * open (aria-expanded). A static file because the CSP allows no inline script.
 */
const button = document.querySelector(".gm-menu-button");
const panel = button ? document.getElementById(button.getAttribute("aria-controls")) : null;

function isOpen() {
  return button.getAttribute("aria-expanded") === "true";
}

function setOpen(open) {
  button.setAttribute("aria-expanded", open ? "true" : "false");
  panel.classList.toggle("is-open", open);
}

if (button && panel) {
  button.addEventListener("click", function () {
    setOpen(!isOpen());
    if (isOpen()) {
      const first = panel.querySelector(".gm-nav a[href]");
      if (first) first.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) {
      setOpen(false);
      button.focus();
    }
  });

  document.addEventListener("click", function (event) {
    if (isOpen() && !panel.contains(event.target) && !button.contains(event.target)) {
      setOpen(false);
    }
  });

  panel.addEventListener("focusout", function (event) {
    const next = event.relatedTarget;
    if (isOpen() && next && !panel.contains(next) && next !== button) setOpen(false);
  });

  // Back on a wide screen the panel is no panel any more: forget that it was open.
  const narrow = window.matchMedia("(max-width: 900px)");
  narrow.addEventListener("change", function () {
    if (!narrow.matches) setOpen(false);
  });
}
