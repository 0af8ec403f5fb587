// Classic Jupyter widgets (`@jupyter-widgets/base` contract: ipywidgets' controls and layout
// boxes, and the libraries built on them) hosted on our model store. Bundled by esbuild into
// numerous/js/vendor/jupyter-widgets.js (`npm run build`); the client imports it only
// on pages that have such a widget.
//
// Each classic model is a Backbone model of `@jupyter-widgets/base` whose comm is a shim over
// our model of the same id: its saves become our `update`s, our server updates and custom
// messages become its comm messages. Our store stays the one source of truth for the wire.

import * as base from "@jupyter-widgets/base";
import { ManagerBase } from "@jupyter-widgets/base-manager";
import * as controls from "@jupyter-widgets/controls";
import "@lumino/widgets/style/index.css";
import "@jupyter-widgets/controls/css/widgets.css";
import { Widget } from "@lumino/widgets";
import { OutputModel, OutputView } from "./output.js";
import { anywidgetModule } from "./proxy.js";

const BUILTIN = {
  "@jupyter-widgets/base": base,
  "@jupyter-widgets/controls": controls,
  "@jupyter-widgets/output": { OutputModel, OutputView },
};

/**
 * The error of a model or view the manager could not make, keeping the cause's name (an
 * EvalError tells the page which setting would allow it).
 * @param {string} msg
 * @param {any} cause
 */
function failure(msg, cause) {
  const err = new Error(`${msg}: ${cause?.message ?? cause}`, { cause });
  if (cause?.name) err.name = cause.name;
  return err;
}

/** The comm of one classic model: talks to our model of the same id, never to a kernel. */
class StoreComm {
  /** @param {any} model our model (numerous/js/model.js) */
  constructor(model) {
    this.model = model;
    this.comm_id = model.model_id;
    this.target_name = "jupyter.widget";
    this.forwarding = false; // true while our model takes a change the classic model made
    this._onMsg = null;
    this._onClose = null;
  }

  on_msg(callback) { this._onMsg = callback; }

  on_close(callback) { this._onClose = callback; }

  open() { return ""; }

  close() { return ""; }

  /** A save or custom message of the classic model. */
  send(data, callbacks, _metadata, buffers) {
    if (data?.method === "update") {
      const state = { ...data.state };
      base.put_buffers(state, data.buffer_paths ?? [], buffers ?? []);
      this.forwarding = true;
      try {
        this.model.set(state);
      } finally {
        this.forwarding = false;
      }
      this.model.save_changes();
    } else if (data?.method === "custom") {
      this.model.send(data.content, null, buffers ?? []);
    }
    // ipywidgets throttles saves until the kernel says "idle"; our transport has no kernel.
    const status = callbacks?.iopub?.status;
    if (typeof status === "function") {
      setTimeout(() => status({ content: { execution_state: "idle" } }), 0);
    }
    return "";
  }

  /** Hand a message to the classic model. */
  deliver(data, buffers = []) {
    this._onMsg?.({ content: { comm_id: this.comm_id, data }, buffers, metadata: {} });
  }

  closed() {
    this._onClose?.({ content: { comm_id: this.comm_id, data: {} } });
  }
}

/**
 * The manager of the page's classic models.
 * @param {object} options
 * @param {any} options.store our WidgetManager (numerous/js/model.js)
 * @param {any} options.host our WidgetHost, which renders anywidgets inside classic boxes
 * @param {(a: unknown, b: unknown) => boolean} options.isEqual
 * @param {(name: string) => Promise<any>} [options.loadLibrary] a library's module by name
 */
class ClassicManager extends ManagerBase {
  constructor({ store, host, isEqual, loadLibrary }) {
    super();
    this.store = store;
    this.host = host;
    this.isEqual = isEqual;
    this.loadLibrary = loadLibrary ?? ((name) =>
      Promise.reject(new Error(`no front-end code for the widget library '${name}'`)));
    this._libraries = new Map();
    this._anywidget = anywidgetModule(base, host);
  }

  async loadClass(className, moduleName, _moduleVersion) {
    const mod = await this._module(moduleName);
    const cls = mod?.[className];
    if (!cls) throw new Error(`the module '${moduleName}' has no class '${className}'`);
    return cls;
  }

  _module(name) {
    if (BUILTIN[name]) return Promise.resolve(BUILTIN[name]);
    if (name === "anywidget") return Promise.resolve(this._anywidget);
    let promise = this._libraries.get(name);
    if (!promise) {
      promise = this.loadLibrary(name);
      promise.catch(() => this._libraries.delete(name));
      this._libraries.set(name, promise);
    }
    return promise;
  }

  async _create_comm() {
    throw new Error("widgets made in the browser are not supported: make them in Python");
  }

  async _get_comm_info() {
    return {};
  }

  /** The classic model of an id: made from our model the first time it is asked for. */
  get_model(id) {
    if (!this.has_model(id)) {
      const ours = this.store.get(id);
      if (ours) return this.adopt(ours);
      return this.store.get_model(id).then((model) => this.adopt(model));
    }
    return super.get_model(id);
  }

  /**
   * Make the classic model of one of our models (once) and keep the two in step.
   * @param {any} ours
   */
  adopt(ours) {
    const id = ours.model_id;
    if (this.has_model(id)) return super.get_model(id);
    const comm = new StoreComm(ours);
    const state = { ...ours._state };
    const promise = this.new_model({
      model_name: state._model_name, model_module: state._model_module,
      model_module_version: state._model_module_version, model_id: id, comm,
    }, state);
    this._follow(ours, comm, { ...ours._state });
    return promise;
  }

  /** Our model's server changes and custom messages, passed on to the classic model. */
  _follow(ours, comm, shadow) {
    const context = { classic: ours.model_id };
    ours.on("change", () => {
      const changed = {};
      for (const [key, value] of Object.entries(ours._state)) {
        if (!this.isEqual(shadow[key], value)) changed[key] = value;
        shadow[key] = value;
      }
      if (!comm.forwarding && Object.keys(changed).length) {
        comm.deliver({ method: "update", state: changed, buffer_paths: [] });
      }
    }, context);
    ours.on("msg:custom", (content, buffers) => {
      comm.deliver({ method: "custom", content }, buffers ?? []);
    }, context);
    ours.on("destroy", () => comm.closed(), context);
  }

  /**
   * Render a view of one of our models into `el`; the returned function removes it.
   * @param {any} ours
   * @param {HTMLElement} el
   */
  async render(ours, el) {
    const model = await this.adopt(ours);
    const view = await this.create_view(model);
    if (view.model.get("_view_name") === "ErrorWidgetView") {
      // ipywidgets draws failures as an error widget; ours is the page's error box.
      view.remove();
      throw failure(view.model.get("msg"), view.model.get("error"));
    }
    Widget.attach(view.luminoWidget, el);
    return () => {
      if (view.luminoWidget.isAttached) Widget.detach(view.luminoWidget);
      view.remove();
    };
  }
}

/**
 * The classic side of the page (called once by numerous/js/classic.js).
 * @param {ConstructorParameters<typeof ClassicManager>[0]} options
 */
export function createClassicManager(options) {
  return new ClassicManager(options);
}

export { base, controls };
