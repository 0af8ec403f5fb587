// URL state: widget traits bound to query parameters (`bind_query` in Python). A change of a
// bound trait, from the page or from the app, updates the address bar (replaceState, or
// pushState where the app asked); back and forward set the bound traits from the URL again,
// in the same session.

import { isEqual } from "./model.js";

/** @typedef {{id: string, trait: string, param: string, history: "replace" | "push"}} QueryBinding */

/**
 * The query string form of a trait value: text as it is, anything else as JSON.
 * @param {unknown} value
 * @returns {string}
 */
export function toParam(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The trait value a query parameter stands for, read like the current value (text stays text).
 * @param {string} raw
 * @param {unknown} current
 */
export function fromParam(raw, current) {
  if (typeof current === "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Keep the address bar and the bound traits in step. Returns a function that undoes it.
 * @param {QueryBinding[]} bindings
 * @param {{get: (id: string) => any}} manager the models by id
 * @param {{location: {href: string}, history: History,
 *   addEventListener: Function, removeEventListener: Function}} win
 */
export function bindQuery(bindings, manager, win) {
  const bound = bindings.map((b) => ({ ...b, model: manager.get(b.id) })).filter((b) => b.model);
  // The values the page opened with stand for a URL without the parameter.
  const initial = new Map(bound.map((b) => [b, b.model.get(b.trait)]));
  let restoring = false;
  const write = (binding) => {
    if (restoring) return;
    const url = new URL(win.location.href);
    const value = toParam(binding.model.get(binding.trait));
    if (url.searchParams.get(binding.param) === value) return;
    url.searchParams.set(binding.param, value);
    const method = binding.history === "push" ? "pushState" : "replaceState";
    win.history[method](win.history.state, "", url.toString());
  };
  const listeners = bound.map((b) => {
    const listener = () => write(b);
    b.model.on(`change:${b.trait}`, listener);
    return listener;
  });
  const onPopState = () => {
    const params = new URL(win.location.href).searchParams;
    restoring = true;
    try {
      for (const b of bound) {
        const raw = params.get(b.param);
        const value = raw === null ? initial.get(b) : fromParam(raw, b.model.get(b.trait));
        if (isEqual(value, b.model.get(b.trait))) continue;
        b.model.set(b.trait, value);
        b.model.save_changes();
      }
    } finally {
      restoring = false;
    }
  };
  win.addEventListener("popstate", onPopState);
  return () => {
    win.removeEventListener("popstate", onPopState);
    bound.forEach((b, i) => b.model.off(`change:${b.trait}`, listeners[i]));
  };
}
