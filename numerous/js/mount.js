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

/**
 * Renders each widget into its mount points once: a reconnect updates views, never redraws.
 * Only a key whose model changed (dev mode's swap to a reloaded app's session) is drawn again,
 * its old views torn down first.
 */
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
    /** @type {Map<string, {id: string, views: Promise<Array<{dispose: () => Promise<void>}>>}>}
     * widget key -> the model drawn at its mount points, and those views */
    this._shown = new Map();
  }

  /**
   * Render the widgets whose keys the page has mount points for and that are not shown with
   * that model yet; a key without a model gets an error box instead.
   * @param {Record<string, string> | undefined} widgets key -> model id
   * @returns {Promise<unknown[]>} settles when the new views are rendered
   */
  render(widgets) {
    const points = mountPoints(this.doc);
    const rendering = [];
    for (const [key, id] of Object.entries(widgets ?? {})) {
      const shown = this._shown.get(key);
      if (shown?.id === id || !points.has(key)) continue;
      const views = shown ? this._redraw(key, id, points.get(key), shown)
        : this._draw(key, id, points.get(key));
      this._shown.set(key, { id, views });
      rendering.push(views);
    }
    return Promise.all(rendering);
  }

  _draw(key, id, elements) {
    const model = this.manager.get(id);
    return Promise.all(elements.map((el) => {
      if (model) return this.host.render(model, el);
      showWidgetError(el, `The widget '${key}' has no model (id ${id}).`);
      return { dispose: async () => el.replaceChildren() };
    }));
  }

  async _redraw(key, id, elements, shown) {
    await Promise.all((await shown.views).map((view) => view.dispose()));
    return this._draw(key, id, elements);
  }
}
