/*
 * gridmap, the field page: its three modes, the tabs "Report", "Ten-household unit" and
 * "My work". Each part registers what it does when its mode is entered and left (its
 * layers, its panel, the map hint); switching leaves every other mode, then enters one.
 */
import { $all, root, state } from "./page.js";

const modes = new Map(); // name -> {enter(), leave()}

export function registerMode(name, handlers) {
  modes.set(name, handlers);
}

export function switchMode(mode) {
  state.mode = mode;
  root.dataset.mode = mode;
  $all(".fd-tab").forEach(function (tab) {
    tab.setAttribute("aria-selected", tab.dataset.tab === mode ? "true" : "false");
  });
  modes.forEach(function (handlers, name) {
    if (name !== mode && handlers.leave) handlers.leave();
  });
  const entered = modes.get(mode);
  if (entered && entered.enter) entered.enter();
}
