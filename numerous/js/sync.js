// Keeping the page's models in step with the server: each connection sends a snapshot (`open`
// frames, then `ready`), updates follow it, and on a reconnect the snapshot's `ack` decides
// which of the user's own unacknowledged changes it already includes (docs/protocol.md).

import { putBuffers } from "./protocol.js";

/**
 * A frame's state with its binary buffers put in place. Null (and logged) when they do not fit:
 * a bad frame is dropped, not half-applied.
 * @param {{type: string, state?: object, buffer_paths?: any[]}} msg
 * @param {DataView[]} buffers
 * @returns {object | null}
 */
export function withBuffers(msg, buffers) {
  try {
    return putBuffers(msg.state ?? {}, msg.buffer_paths, buffers);
  } catch (err) {
    console.error(`[numerous] bad buffers in a '${msg.type}' message`, err);
    return null;
  }
}

/** The models' side of the message handlers: open, update, custom, close and `ready`. */
export class ModelSync {
  /**
   * @param {import("./model.js").WidgetManager} manager
   * @param {import("./host.js").WidgetHost} host runs a closed model's cleanups
   */
  constructor(manager, host) {
    this.manager = manager;
    this.host = host;
    this._first = true; // no `ready` yet on this page
    this._snapshot = new Set(); // model ids opened since the last hello
    this._deferred = new Map(); // reconnect: id -> snapshot state, applied at `ready` with its ack
  }

  /** A new connection's snapshot begins (status "syncing"): forget the last one's. */
  begin() {
    this._snapshot.clear();
    this._deferred.clear();
  }

  /** An `open` frame: a new model, or the snapshot state of one this page already has. */
  open(msg, buffers) {
    const state = withBuffers(msg, buffers);
    if (!state) return;
    this._snapshot.add(msg.id);
    // A model we already have gets its snapshot state at `ready`: only then is the ack known
    // that decides which of our own unacknowledged changes the state already includes.
    if (this.manager.get(msg.id) && typeof msg.ack !== "number") this._deferred.set(msg.id, state);
    else this.manager.open(msg.id, state, msg.ack ?? 0);
  }

  /** An `update` frame: server values, after the ack rule (model.js). */
  update(msg, buffers) {
    const state = withBuffers(msg, buffers);
    if (!state) return;
    if (this._deferred.has(msg.id)) {
      Object.assign(this._deferred.get(msg.id), state); // newer than the snapshot it follows
      return;
    }
    const model = this.manager.get(msg.id);
    if (model) model._applyServer(state, msg.ack ?? 0);
    else console.debug(`[numerous] update for unknown model ${msg.id}`);
  }

  /** A `custom` frame: the widget's own message, for its `msg:custom` listeners. */
  custom(msg, buffers) {
    this.manager.get(msg.id)?._receiveCustom(msg.content, buffers);
  }

  /** Close a model: its views' cleanups run first, then it leaves the manager. */
  async close(id) {
    const model = this.manager.get(id);
    if (!model) return;
    await this.host.closeModel(model);
    this.manager.close(id);
  }

  /**
   * The snapshot is complete (`ready` with its `ack`): apply the deferred snapshot states, close
   * the models a reconnect's snapshot no longer has, and re-send the changes it does not include.
   * @param {number} ack
   * @returns {boolean} whether this is the page's first `ready`
   */
  ready(ack) {
    for (const [id, state] of this._deferred) this.manager.open(id, state, ack);
    this._deferred.clear();
    if (!this._first) {
      for (const id of [...this.manager.models.keys()]) {
        if (!this._snapshot.has(id)) this.close(id);
      }
    }
    this.manager.resync(ack);
    const first = this._first;
    this._first = false;
    return first;
  }
}
