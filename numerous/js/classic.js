// Classic Jupyter widgets (ipywidgets' controls and boxes, and libraries such as ipympl): models
// without `_esm` that name a `_model_module`. Their widget manager is a bundle of its own
// (numerous/js/vendor/), imported the first time such a model is rendered, so pages of
// anywidgets alone never load it. A library's own code (its AMD nbextension, served by the app
// from the installed Python package) is loaded when one of its models is made.

import { isClassic } from "./host.js";
import { isEqual } from "./model.js";

/**
 * Run an AMD module (a Jupyter nbextension) from a same-origin script: `define` is put on the
 * window while it loads. Loads are serialized, so each `define` call belongs to its script.
 * @param {Document} doc
 * @param {string} url
 * @param {(name: string) => Promise<any>} require the module a dependency names
 */
let amdQueue = Promise.resolve();
export function loadAmd(doc, url, require) {
  const loaded = amdQueue.then(() => new Promise((resolve, reject) => {
    const win = /** @type {any} */ (doc.defaultView ?? globalThis);
    const previous = win.define;
    let definition = null;
    const define = (...args) => {
      const factory = args.find((a) => typeof a === "function" || (a && typeof a === "object" &&
        !Array.isArray(a)));
      const deps = args.find(Array.isArray) ?? [];
      definition = { deps, factory };
    };
    define.amd = true;
    win.define = define;
    const script = doc.createElement("script");
    script.src = url;
    const done = (err) => {
      win.define = previous;
      script.remove();
      if (err || !definition) reject(err ?? new Error(`${url} defined no AMD module`));
      else resolve(definition);
    };
    script.onload = () => done(null);
    script.onerror = () => done(new Error(`${url} could not be loaded`));
    doc.head.append(script);
  }));
  amdQueue = loaded.catch(() => {});
  return loaded.then(async ({ deps, factory }) => {
    if (typeof factory !== "function") return factory;
    const exports = {};
    const module = { exports, id: url, uri: url };
    const values = await Promise.all(deps.map((dep) =>
      dep === "exports" ? exports : dep === "module" ? module : require(dep)));
    const result = factory(...values);
    return result ?? exports;
  });
}

/** The page's classic widgets: the manager is made on first use. */
export class ClassicWidgets {
  /**
   * @param {object} options
   * @param {{module: string, style?: string, libraries?: Record<string, string>}} [options.config]
   *   the bundle's URLs and the libraries' nbextension modules by module name (page config)
   * @param {import("./model.js").WidgetManager} options.store
   * @param {import("./host.js").WidgetHost} options.host
   * @param {Document} [options.document]
   */
  constructor({ config, store, host, document: doc }) {
    this.config = config;
    this.store = store;
    this.host = host;
    this.doc = doc ?? globalThis.document;
    /** @type {Promise<any> | null} */
    this._manager = null;
  }

  /** The classic widget manager, loading the bundle the first time. */
  manager() {
    if (!this._manager) {
      const config = this.config;
      if (!config?.module) {
        return Promise.reject(new Error("this page cannot show classic Jupyter widgets"));
      }
      this.host.injectCss(config.style);
      this._manager = this.host.loadModule(config.module).then((bundle) =>
        bundle.createClassicManager({ store: this.store, host: this.host, isEqual,
          loadLibrary: (name) => this._library(bundle, name) }));
      this._manager.catch(() => { this._manager = null; });
    }
    return this._manager;
  }

  /**
   * The widget definition the host renders a classic model with (host.js `resolveWidget`).
   * @param {import("./model.js").WidgetModel} model
   */
  async widgetDef(model) {
    const manager = await this.manager();
    await manager.adopt(model);
    return {
      render: ({ el }) => manager.render(model, el),
    };
  }

  /** Make the classic models of every classic model of ours (links and controllers need to
   * exist in the browser without a view). */
  async adoptAll() {
    const models = [...this.store.models.values()].filter(isClassic);
    if (!models.length) return;
    const manager = await this.manager();
    await Promise.all(models.map((m) => manager.adopt(m).catch((err) =>
      console.error(`[numerous] classic widget ${m.model_id} failed`, err))));
  }

  _library(bundle, name) {
    const url = this.config?.libraries?.[name];
    if (!url) {
      return Promise.reject(new Error(`the widget library '${name}' has no front-end code ` +
        "this app can serve (see docs/widgets.md)"));
    }
    const require = (dep) => {
      if (dep === "@jupyter-widgets/base") return Promise.resolve(bundle.base);
      if (dep === "@jupyter-widgets/controls") return Promise.resolve(bundle.controls);
      return this._manager.then((manager) => manager._module(dep));
    };
    return loadAmd(this.doc, url, require);
  }
}
