// Widget models: the anywidget front-end model API (get/set/save_changes/on/off/send) on top of
// the protocol's update and custom messages, and the registry that hands them out by id.

import { MSG, isBinary, splitBuffers, toBytes } from "./protocol.js";

const REF_PREFIXES = ["IPY_MODEL_", "anywidget:"];

/**
 * The model id inside a widget reference ("IPY_MODEL_<id>", "anywidget:<id>" or a bare id).
 * @param {string} ref
 * @returns {string}
 */
export function modelIdFromRef(ref) {
  if (typeof ref !== "string") throw new TypeError(`not a widget reference: ${String(ref)}`);
  const prefix = REF_PREFIXES.find((p) => ref.startsWith(p));
  return prefix ? ref.slice(prefix.length) : ref;
}

/**
 * Structural equality for trait values (JSON values and binary buffers), so that a value set
 * again, or received again, does not fire change events.
 * @param {unknown} a
 * @param {unknown} b
 * @returns {boolean}
 */
export function isEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (isBinary(a) || isBinary(b)) {
    if (!isBinary(a) || !isBinary(b)) return false;
    const x = toBytes(a);
    const y = toBytes(b);
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && isEqual(a[k], b[k]));
}

/** One widget's state in the browser, with Backbone-style events. */
export class WidgetModel {
  /**
   * @param {string} id the model id (the server's comm id)
   * @param {Record<string, any>} state the initial state, buffers already in place
   * @param {WidgetManager} manager
   */
  constructor(id, state, manager) {
    this.model_id = id;
    this.widget_manager = manager;
    this.closed = false;
    /** @type {Record<string, any>} */
    this._state = { ...state };
    /** @type {Array<{event: string, callback: Function, context: any}>} */
    this._listeners = [];
    /** traits set locally but not yet saved */
    this._dirty = new Set();
    /** trait -> seq of the last change the server has not acknowledged yet */
    this._pending = new Map();
  }

  /** @param {string} name */
  get(name) {
    return this._state[name];
  }

  /**
   * Set a trait locally (or several, given an object); fires `change:<name>` and `change` at once.
   * The change goes to the server on the next save_changes().
   * @param {string | Record<string, any>} name
   * @param {any} [value]
   */
  set(name, value) {
    const changes = typeof name === "object" && name !== null ? name : { [name]: value };
    // Marked dirty even when equal: a widget that mutated an object in place and sets it again
    // still expects it to be sent.
    for (const key of Object.keys(changes)) this._dirty.add(key);
    this._assign(changes);
  }

  /** Send every trait set since the last save as one update. */
  save_changes() {
    if (this.closed || !this._dirty.size) return;
    const keys = [...this._dirty];
    this._dirty.clear();
    this._sendState(keys);
  }

  /**
   * Listen to `change:<name>`, `change`, `msg:custom` or any event given to trigger().
   * Several events may be given separated by spaces.
   * @param {string} event
   * @param {Function} callback
   * @param {any} [context] `this` for the callback; also lets off() remove by context
   */
  on(event, callback, context) {
    if (typeof callback !== "function") return;
    for (const name of event.split(/\s+/).filter(Boolean)) {
      this._listeners.push({ event: name, callback, context });
    }
  }

  /** Like on(), for the next occurrence only.
   * @param {string} event @param {Function} callback @param {any} [context] */
  once(event, callback, context) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      callback.apply(context ?? this, args);
    };
    this.on(event, wrapper, context);
  }

  /**
   * Remove listeners; each argument left out (or null) matches all. off() removes every listener.
   * @param {string | null} [event] @param {Function | null} [callback] @param {any} [context]
   */
  off(event, callback, context) {
    const names = event ? event.split(/\s+/).filter(Boolean) : null;
    this._listeners = this._listeners.filter((l) => !(
      (!names || names.includes(l.event)) &&
      (!callback || l.callback === callback) &&
      (context == null || l.context === context)));
  }

  /** Call an event's listeners; one that throws is reported and the others still run. */
  trigger(event, ...args) {
    for (const l of this._listeners.filter((x) => x.event === event)) {
      try {
        l.callback.apply(l.context ?? this, args);
      } catch (err) {
        console.error(`[numerous] a '${event}' listener of model ${this.model_id} failed`, err);
      }
    }
  }

  /**
   * A custom message to the widget's Python side (`widget.on_msg`).
   * @param {any} content JSON content
   * @param {unknown} [_callbacks] accepted for compatibility; there are no kernel replies here
   * @param {Array<ArrayBuffer | ArrayBufferView>} [buffers]
   */
  send(content, _callbacks, buffers = []) {
    if (this.closed) {
      console.warn(`[numerous] model ${this.model_id} is closed; message dropped`);
      return;
    }
    const seq = this.widget_manager.nextSeq();
    this.widget_manager.sendMessage({ type: MSG.CUSTOM, id: this.model_id, content, seq }, buffers);
  }

  /**
   * Apply state from the server. A trait whose local change is newer than `ack` is skipped: the
   * server has not seen that change yet and will answer it. Fires change events, sends nothing.
   * @param {Record<string, any>} state buffers already in place
   * @param {number} ack the highest seq the server had processed
   */
  _applyServer(state, ack) {
    const accepted = {};
    for (const [key, value] of Object.entries(state)) {
      const pending = this._pending.get(key);
      if (pending !== undefined && pending > ack) continue;
      this._pending.delete(key);
      this._dirty.delete(key); // the server's value wins over a change that was never saved
      accepted[key] = value;
    }
    this._assign(accepted);
  }

  /**
   * After a reconnect: forget changes the server acknowledged and send again the ones it has not
   * seen (their current values, coalesced into one update with a new seq).
   * @param {number} ack
   */
  _resync(ack) {
    const unseen = [];
    for (const [key, seq] of this._pending) {
      if (seq > ack) unseen.push(key);
      else this._pending.delete(key);
    }
    if (unseen.length) this._sendState(unseen);
  }

  /** @param {any} content @param {DataView[]} buffers */
  _receiveCustom(content, buffers) {
    this.trigger("msg:custom", content, buffers);
  }

  /** The model is gone on the server: stop sending and drop every listener. */
  _close() {
    this.closed = true;
    this.trigger("destroy", this);
    this._listeners = [];
    this._dirty.clear();
    this._pending.clear();
  }

  _sendState(keys) {
    const seq = this.widget_manager.nextSeq();
    const raw = {};
    for (const key of keys) {
      raw[key] = this._state[key];
      this._pending.set(key, seq);
    }
    const { state, buffer_paths, buffers } = splitBuffers(raw);
    const msg = { type: MSG.UPDATE, id: this.model_id, state, seq };
    if (buffer_paths.length) msg.buffer_paths = buffer_paths;
    this.widget_manager.sendMessage(msg, buffers);
  }

  _assign(changes) {
    const changed = [];
    for (const [key, value] of Object.entries(changes)) {
      if (isEqual(this._state[key], value)) continue;
      this._state[key] = value;
      changed.push(key);
    }
    // Backbone's order: every change:<name> first, then one change.
    for (const key of changed) this.trigger(`change:${key}`, this, this._state[key]);
    if (changed.length) this.trigger("change", this);
  }
}

/** The models of the page, by id; `model.widget_manager` in the anywidget API. */
export class WidgetManager {
  /**
   * @param {object} [options]
   * @param {(msg: object, buffers: Array<ArrayBuffer|ArrayBufferView>) => boolean} [options.send]
   * @param {number} [options.timeout] ms get_model waits for a model that is not open yet
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
   */
  constructor({ send = () => false, timeout = 10_000, timers = globalThis } = {}) {
    this._send = send;
    this._timeout = timeout;
    this._timers = timers;
    this._seq = 0;
    /** @type {Map<string, WidgetModel>} */
    this.models = new Map();
    /** @type {Map<string, Array<{resolve: Function, reject: Function, timer: any}>>} */
    this._waiting = new Map();
  }

  /** The next per-page seq (1, 2, ...) shared by updates and custom messages. */
  nextSeq() {
    this._seq += 1;
    return this._seq;
  }

  /** @param {object} msg @param {Array<ArrayBuffer|ArrayBufferView>} [buffers] */
  sendMessage(msg, buffers = []) {
    return this._send(msg, buffers);
  }

  /**
   * The model of an id, waiting for its `open` if it has not arrived yet.
   * @param {string} ref a model id, "IPY_MODEL_<id>" or "anywidget:<id>"
   * @returns {Promise<WidgetModel>}
   */
  get_model(ref) {
    let id;
    try {
      id = modelIdFromRef(ref);
    } catch (err) {
      return Promise.reject(err);
    }
    const model = this.models.get(id);
    if (model) return Promise.resolve(model);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, timer: null };
      waiter.timer = this._timers.setTimeout(() => {
        const list = this._waiting.get(id) ?? [];
        list.splice(list.indexOf(waiter), 1);
        if (!list.length) this._waiting.delete(id);
        reject(new Error(`[numerous] widget model '${id}' did not appear within ` +
          `${this._timeout / 1000} s; is the widget part of this app?`));
      }, this._timeout);
      if (!this._waiting.has(id)) this._waiting.set(id, []);
      this._waiting.get(id).push(waiter);
    });
  }

  /** @param {string} id */
  get(id) {
    return this.models.get(id);
  }

  /**
   * Create the model of an `open`, or, when it exists (a reconnect), apply the state to it.
   * @param {string} id
   * @param {Record<string, any>} state buffers already in place
   * @param {number} [ack] for an existing model: the ack the state was made at
   * @returns {{model: WidgetModel, created: boolean}}
   */
  open(id, state, ack = 0) {
    const existing = this.models.get(id);
    if (existing) {
      existing._applyServer(state, ack);
      return { model: existing, created: false };
    }
    const model = new WidgetModel(id, state, this);
    this.models.set(id, model);
    for (const waiter of this._waiting.get(id) ?? []) {
      this._timers.clearTimeout(waiter.timer);
      waiter.resolve(model);
    }
    this._waiting.delete(id);
    return { model, created: true };
  }

  /**
   * Forget a closed model (its views must be torn down first, they may still use it).
   * @param {string} id
   * @returns {WidgetModel | undefined}
   */
  close(id) {
    const model = this.models.get(id);
    if (!model) return undefined;
    this.models.delete(id);
    model._close();
    return model;
  }

  /** @param {number} ack the `ack` of a `ready` after a reconnect */
  resync(ack) {
    for (const model of this.models.values()) model._resync(ack);
  }
}
