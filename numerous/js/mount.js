// The widgets on the page: their code loaded early, each rendered into its mount points
// (`data-numerous-widget="key"`, once per page), every model with front-end code initialized.

import { showWidgetError } from "./ui.js";

/**
 * Start on the widgets' stylesheets and modules the page config names, so that rendering at
 * `ready` need not wait for them. A module that fails here is tried again when it is needed.
 * @param {import("./host.js").WidgetHost} host
 * @param {{modules?: string[], styles?: string[]}} config
 */
export function preloadWidgetAssets(host, config) {
  for (const url of config.styles ?? []) host.injectCss(url);
  for (const url of config.modules ?? []) host.loadModule(url).catch(() => {});
}

/**
 * The page's mount points by widget key, in document order (a key may be mounted twice).
 * @param {Document} doc
 * @returns {Map<string, HTMLElement[]>}
 */
export function mountPoints(doc) {
  const points = new Map();
  for (const el of doc.querySelectorAll("[data-numerous-widget]")) {
    const key = el.dataset.numerousWidget;
    if (!points.has(key)) points.set(key, []);
    points.get(key).push(el);
  }
  return points;
}

/**
 * Like anywidget, initialize every widget model, displayed or not (children, controllers).
 * Classic Jupyter widgets are made too (a `jslink` must exist in the browser to work); their
 * Layout and Style models are made when a view needs them.
 * @param {import("./model.js").WidgetManager} manager
 * @param {import("./host.js").WidgetHost} host
 */
export function initializeModels(manager, host) {
  for (const model of manager.models.values()) {
    if (typeof model.get("_esm") === "string" && model.get("_esm")) host.initialize(model);
    else if (host.classic?.isClassic(model)) host.initialize(model);
  }
}

/** Renders each widget into its mount points once: a reconnect updates views, never redraws. */
export class WidgetMounts {
  /**
   * @param {Document} doc
   * @param {import("./model.js").WidgetManager} manager
   * @param {import("./host.js").WidgetHost} host
   */
  constructor(doc, manager, host) {
    this.doc = doc;
    this.manager = manager;
    this.host = host;
    this._rendered = new Set(); // widget keys whose mount points have their views
  }

  /**
   * Render the widgets not rendered yet whose keys the page has mount points for; a key
   * without a model gets an error box instead.
   * @param {Record<string, string> | undefined} widgets key -> model id
   * @returns {Promise<unknown[]>} settles when the new views are rendered
   */
  render(widgets) {
    const points = mountPoints(this.doc);
    const views = [];
    for (const [key, id] of Object.entries(widgets ?? {})) {
      if (this._rendered.has(key) || !points.has(key)) continue;
      this._rendered.add(key);
      const model = this.manager.get(id);
      for (const el of points.get(key)) {
        if (model) views.push(this.host.render(model, el));
        else showWidgetError(el, `The widget '${key}' has no model (id ${id}).`);
      }
    }
    return Promise.all(views);
  }
}
