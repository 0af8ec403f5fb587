// The anywidget host: loads a model's `_esm` module and `_css`, runs `initialize` once per model
// and `render` once per view, and calls their cleanups when the model or the page goes away.
// Supported module shapes, as in anywidget: `export default {initialize, render}`,
// `export default () => ({initialize, render})` (sync or async, called once per model), and the
// legacy named exports `render` / `initialize`.

import { modelIdFromRef } from "./model.js";
import { showWidgetError } from "./ui.js";

/** @typedef {import("./model.js").WidgetModel} WidgetModel */
/** @typedef {{initialize?: Function, render?: Function}} WidgetDef */

const experimental = Object.freeze({
  invoke: () => Promise.reject(new Error("experimental.invoke is not supported by Numerous Apps")),
});

/** ipywidgets' Layout and Style models: every DOMWidget has one, anywidgets included. */
const BASE_MODULE = "@jupyter-widgets/base";

/**
 * Whether a model is a classic Jupyter widget (no `_esm`; its `_model_module` names the code
 * that draws it), rendered by the bundled widget manager (classic.js).
 * @param {{get: (name: string) => any}} model
 */
export function isClassic(model) {
  const module = model.get("_model_module");
  return !model.get("_esm") && typeof module === "string" && module !== "" &&
    module !== BASE_MODULE && module !== "anywidget";
}

/**
 * The widget definition of an imported module.
 * @param {any} mod the module namespace
 * @returns {Promise<WidgetDef>}
 */
export async function resolveWidget(mod) {
  if (typeof mod?.render === "function" || typeof mod?.initialize === "function") {
    return { initialize: mod.initialize, render: mod.render };
  }
  if (mod?.default === undefined || mod.default === null) {
    throw new Error("the widget module must export a default object or function");
  }
  const def = typeof mod.default === "function" ? await mod.default() : mod.default;
  if (def === null || typeof def !== "object") {
    throw new Error("the widget module's default export must be or return an object");
  }
  return def;
}

/**
 * The model as a widget's hook sees it: listeners it adds are tagged with `context`, so they are
 * removed when the hook's view (or the model's initialization) is torn down.
 * @param {WidgetModel} model
 * @param {object} context
 */
function scopedModel(model, context) {
  return {
    get: (name) => model.get(name),
    set: (name, value) => model.set(name, value),
    save_changes: () => model.save_changes(),
    send: (content, callbacks, buffers) => model.send(content, callbacks, buffers),
    on: (event, callback) => model.on(event, callback, context),
    off: (event, callback) => model.off(event ?? null, callback ?? null, context),
    widget_manager: model.widget_manager,
    get model_id() { return model.model_id; },
  };
}

/**
 * A widget's failure for the page, with what to change when the page's policy caused it.
 * @param {any} err
 */
export function describe(err) {
  const message = err?.message ?? String(err);
  if (err?.name === "EvalError" || /unsafe-eval/.test(message)) {
    return "this widget compiles code at run time, which the page's Content-Security-Policy " +
      "forbids. To allow it, serve the app with create_app(..., security=SecurityPolicy(" +
      "allow_eval=True)) (docs/widgets.md). " + message;
  }
  return message;
}

/** Await a cleanup function, reporting (not throwing) its failure. */
async function runCleanup(fn, what) {
  if (typeof fn !== "function") return;
  try {
    await fn();
  } catch (err) {
    console.error(`[numerous] the ${what} cleanup of a widget failed`, err);
  }
}

export class WidgetHost {
  /**
   * @param {object} [options]
   * @param {(url: string) => Promise<any>} [options.importModule] loads a module (tests inject it)
   * @param {Document} [options.document]
   * @param {(error: unknown, model: WidgetModel) => void} [options.onError] a widget failed
   * @param {{isClassic: (m: WidgetModel) => boolean, widgetDef: (m: WidgetModel) =>
   *   Promise<WidgetDef>}} [options.classic] renders classic Jupyter widgets (classic.js)
   */
  constructor({ importModule, document: doc, onError, classic } = {}) {
    this.classic = classic ?? null;
    this._import = importModule ?? ((url) => import(/* @vite-ignore */ url));
    this._doc = doc ?? globalThis.document;
    this._onError = onError ?? ((err, model) =>
      console.error(`[numerous] widget ${model?.model_id} failed`, err));
    /** @type {Map<string, Promise<any>>} */
    this._modules = new Map();
    this._css = new Set();
    /** @type {Map<WidgetModel, any>} */
    this._records = new Map();
  }

  /**
   * Import a module once per URL.
   * @param {string} url
   * @returns {Promise<any>}
   */
  loadModule(url) {
    let promise = this._modules.get(url);
    if (!promise) {
      promise = Promise.resolve().then(() => this._import(url));
      // A failed load is not cached, so a later view can try again.
      promise.catch(() => this._modules.delete(url));
      this._modules.set(url, promise);
    }
    return promise;
  }

  /**
   * Add a stylesheet link to the head, once per URL; an empty value adds nothing.
   * @param {string | undefined} url
   */
  injectCss(url) {
    if (typeof url !== "string" || !url || this._css.has(url)) return;
    this._css.add(url);
    const link = this._doc.createElement("link");
    link.rel = "stylesheet";
    link.href = url;
    this._doc.head.append(link);
  }

  /**
   * Render a view of the model into `el`: initializes the model first if this is its first view.
   * A failure is shown in `el` and reported; it never throws.
   * @param {WidgetModel} model
   * @param {HTMLElement} el
   * @param {{signal?: AbortSignal}} [options] aborting it tears this view down
   * @returns {Promise<{el: HTMLElement, dispose: () => Promise<void>}>}
   */
  async render(model, el, { signal } = {}) {
    const record = this._record(model);
    const view = { el, context: { view: el }, controller: new AbortController(), cleanup: null };
    const handle = { el, dispose: () => this._disposeView(record, view) };
    if (signal?.aborted) return handle;
    record.views.add(view);
    signal?.addEventListener("abort", handle.dispose, { once: true });
    const viewSignal = view.controller.signal;
    let def;
    try {
      def = await record.ready;
    } catch (err) {
      // Reported once per model, by _record; every view shows it.
      if (!viewSignal.aborted) showWidgetError(el, `This widget failed to load: ${describe(err)}`);
      return handle;
    }
    if (viewSignal.aborted || typeof def.render !== "function") return handle;
    try {
      const cleanup = await def.render({
        model: scopedModel(model, view.context), el, experimental,
        signal: viewSignal, host: this._childHost(model, viewSignal),
      });
      if (viewSignal.aborted) {
        // Torn down while render ran: undo what it did.
        await runCleanup(cleanup, "render");
        el.replaceChildren();
      } else {
        view.cleanup = cleanup;
      }
    } catch (err) {
      if (!viewSignal.aborted) showWidgetError(el, `This widget failed to render: ${describe(err)}`);
      this._onError(err, model);
    }
    return handle;
  }

  /**
   * Load the model's module and run its `initialize`, once, without rendering a view (anywidget
   * initializes every model, displayed or not). A failure is reported, never thrown.
   * @param {WidgetModel} model
   * @returns {Promise<void>}
   */
  async initialize(model) {
    await this._record(model).ready.catch(() => {});
  }

  /**
   * Tear down every view of the model (render cleanups first), then its initialization.
   * @param {WidgetModel} model
   */
  async closeModel(model) {
    const record = this._records.get(model);
    if (!record) return;
    this._records.delete(model);
    for (const view of [...record.views]) await this._disposeView(record, view);
    record.controller.abort();
    await runCleanup(record.initCleanup, "initialize");
    record.initCleanup = null;
    model.off(null, null, record.context);
  }

  /** Tear down every model's views and initialization (the page is going away). */
  async teardown() {
    for (const model of [...this._records.keys()]) await this.closeModel(model);
  }

  _record(model) {
    let record = this._records.get(model);
    if (!record) {
      record = { model, views: new Set(), context: { initialize: model.model_id },
        controller: new AbortController(), initCleanup: null, exports: undefined };
      record.ready = this._initialize(model, record);
      record.ready.catch((err) => this._onError(err, model));
      this._records.set(model, record);
    }
    return record;
  }

  async _initialize(model, record) {
    if (this.classic?.isClassic(model)) return this.classic.widgetDef(model);
    this.injectCss(model.get("_css"));
    const url = model.get("_esm");
    if (typeof url !== "string" || !url) {
      throw new Error(`the widget has no front-end code (${model.get("_model_name") ??
        "no _esm"}${model.get("_model_module") ? ` from ${model.get("_model_module")}` : ""})`);
    }
    const def = await resolveWidget(await this.loadModule(url));
    if (typeof def.initialize === "function") {
      const result = await def.initialize({ model: scopedModel(model, record.context),
        experimental, signal: record.controller.signal });
      if (typeof result === "function") {
        // The model may have been closed while initialize ran.
        if (record.controller.signal.aborted) await runCleanup(result, "initialize");
        else record.initCleanup = result;
      } else if (result && typeof result === "object") {
        record.exports = result;
      }
    }
    return def;
  }

  /** Tear a view down, once: every caller waits for the same teardown to finish. */
  _disposeView(record, view) {
    if (view.disposed) return view.disposed;
    if (!record.views.delete(view)) return Promise.resolve(); // never shown
    view.disposed = (async () => {
      view.controller.abort();
      await runCleanup(view.cleanup, "render");
      view.cleanup = null;
      record.model.off(null, null, view.context);
      view.el.replaceChildren();
    })();
    return view.disposed;
  }

  /**
   * anywidget's composition API (`host` in render): child models and views by reference.
   * A child view ends with the parent's view, or earlier with its own `signal`.
   * @param {WidgetModel} parent
   * @param {AbortSignal} parentSignal
   */
  _childHost(parent, parentSignal) {
    const getModel = (ref) => parent.widget_manager.get_model(modelIdFromRef(ref));
    return {
      getModel,
      getWidget: async (ref) => {
        const child = await getModel(ref);
        const record = this._record(child);
        await record.ready;
        return {
          exports: record.exports,
          render: async ({ el, signal }) => {
            await this.render(child, el, { signal: anySignal([parentSignal, signal]) });
          },
        };
      },
    };
  }
}

/**
 * A signal that aborts when any of the given ones does.
 * @param {Array<AbortSignal | undefined>} signals
 * @returns {AbortSignal}
 */
function anySignal(signals) {
  const controller = new AbortController();
  for (const signal of signals) {
    if (!signal) continue;
    if (signal.aborted) controller.abort();
    else signal.addEventListener("abort", () => controller.abort(), { once: true });
  }
  return controller.signal;
}
