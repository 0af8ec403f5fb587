// The page's one WebSocket: hello first, frames in and out, reconnection with back-off until
// the server's grace period is over, and the close codes of docs/protocol.md.

import { CLOSE_CODE, MSG, PROTOCOL_VERSION, decodeFrame, encodeMessage } from "./protocol.js";

const BACKOFF_START_MS = 250;
const BACKOFF_MAX_MS = 5000;
const CONNECT_TIMEOUT_MS = 10_000;
const LOST_CODES = new Set([CLOSE_CODE.BAD_HELLO, CLOSE_CODE.UNAUTHORIZED,
  CLOSE_CODE.SESSION_UNKNOWN, CLOSE_CODE.GOING_AWAY]);

/**
 * @typedef {"idle"|"connecting"|"syncing"|"ready"|"waiting"|"lost"|"replaced"|"closed"} Status
 *  connecting: socket opening; syncing: hello sent, snapshot arriving; ready: snapshot complete;
 *  waiting: disconnected, a reconnect is scheduled; lost / replaced / closed: final.
 */

/**
 * The WebSocket URL of a config path, on the page's host, ws: or wss: like the page.
 * @param {string} path
 * @param {{protocol: string, host: string}} location
 * @returns {string}
 */
export function socketUrl(path, location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * A random page id (crypto's where there is one).
 * @param {() => number} random
 * @returns {string}
 */
export function pageId(random = Math.random) {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return Array.from({ length: 4 }, () => Math.floor(random() * 2 ** 32).toString(36)).join("");
}

/**
 * The delay before reconnect attempt `attempt` (0, 1, ...): 0.25 s doubling up to 5 s, minus up
 * to 30 % jitter so that many pages dropped at once do not all come back at the same moment.
 * @param {number} attempt
 * @param {() => number} [random]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, random = Math.random) {
  const nominal = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** attempt);
  return nominal * (1 - 0.3 * random());
}

/**
 * @typedef {object} EarlySocket what early.js leaves in `window.__numerousEarly`
 * @property {WebSocket} ws the socket; once open, it has sent the page's hello
 * @property {string} page the page id that hello named
 * @property {Array<string | ArrayBuffer>} frames what arrived before the client took over
 * @property {{code?: number, reason?: string} | null} closed how it closed, if it has
 */

export class Connection {
  /**
   * @param {{ws: string, session: string, grace?: number}} config the page config
   * @param {object} [options]
   * @param {(msg: any, buffers: DataView[]) => void} [options.onMessage] every server message
   * @param {(status: Status, detail?: {code?: number, reason?: string}) => void} [options.onStatus]
   * @param {typeof WebSocket} [options.WebSocket] injectable transport
   * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
   * @param {() => number} [options.now] ms clock
   * @param {() => number} [options.random]
   * @param {{protocol: string, host: string}} [options.location]
   * @param {() => object} [options.helloExtra] more fields for each hello (e.g. `restore`)
   * @param {string} [options.pageId] this page's id in its hellos (random by default)
   * @param {() => Promise<void> | void} [options.beforeConnect] awaited (when it returns a
   *   promise) before each reconnect: auth renews an expiring token there
   * @param {() => Promise<boolean>} [options.onUnauthorized] a 4401 close: true to reconnect
   *   (the credentials were renewed), false to give up
   * @param {EarlySocket} [options.early] the socket the page's inline script opened (early.js),
   *   taken over as the first connection
   */
  constructor(config, options = {}) {
    this.config = config;
    this.onMessage = options.onMessage ?? (() => {});
    this.onStatus = options.onStatus ?? (() => {});
    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this._timers = options.timers ?? globalThis;
    this._now = options.now ?? (() => Date.now());
    this._random = options.random ?? Math.random;
    this._location = options.location ?? globalThis.location;
    this._helloExtra = options.helloExtra ?? (() => ({}));
    /** This document's id, the same in every hello: a page from the browser's cache names a
     * session another page had, and the server tells the two apart by it. */
    this._early = options.early ?? null;
    this.pageId = this._early?.page ?? options.pageId ?? pageId(this._random);
    this._beforeConnect = options.beforeConnect ?? null;
    this._onUnauthorized = options.onUnauthorized ?? null;
    this._renewed = false; // one renewal per 4401: a second 4401 in a row is final
    /** @type {Status} */
    this.status = "idle";
    this.socket = null;
    this.attempt = 0;
    this._disconnectedAt = null;
    this._timer = null;
  }

  /** Open the socket (once; later connections are the reconnects). */
  start() {
    if (this.status !== "idle") return;
    const early = this._early;
    this._early = null;
    if (early) this._adopt(early);
    else this._connect();
  }

  /**
   * Take over the socket early.js opened: still connecting, it is watched like one of ours; open,
   * it has said hello, and the frames it kept are handled first; closed, a reconnect follows.
   * @param {EarlySocket} early
   */
  _adopt({ ws: socket, frames, closed }) {
    this._setStatus("connecting");
    this.socket = socket;
    if (closed || socket.readyState > 1) {
      this._closed(socket, closed ?? {});
      return;
    }
    this._watch(socket);
    if (socket.readyState === 0) return; // its open sends our hello (_opened)
    this._setStatus("syncing");
    for (const data of frames.splice(0)) this._received(socket, data);
  }

  /**
   * Send a message. Only once the snapshot is complete (`ready`): before that, and while
   * disconnected, nothing is sent and false is returned. Models keep their unacknowledged
   * updates and send them again after the next `ready`; custom messages are dropped.
   * @param {object} msg
   * @param {Array<ArrayBuffer | ArrayBufferView>} [buffers]
   * @returns {boolean} whether it was sent
   */
  send(msg, buffers = []) {
    if (this.status !== "ready") {
      if (msg.type !== MSG.UPDATE) {
        console.warn(`[numerous] not connected; a '${msg.type}' message was dropped`);
      }
      return false;
    }
    this.socket.send(encodeMessage(msg, buffers));
    return true;
  }

  /**
   * Drop the socket and connect again at once, naming the same session and page (dev mode:
   * the server holds a session of the reloaded app for this page, see handlers.js).
   */
  reconnectNow() {
    if (["lost", "replaced", "closed"].includes(this.status)) return;
    this._clearTimer();
    const socket = this.socket;
    this.socket = null; // its close event is no longer ours
    if (socket && socket.readyState < 2) socket.close(1000);
    this.attempt = 0;
    this._connect();
  }

  /** Close for good (page teardown); no reconnect. */
  close() {
    this._finish("closed");
  }

  _connect() {
    this._setStatus("connecting");
    let socket;
    try {
      socket = new this._WebSocket(socketUrl(this.config.ws, this._location));
    } catch (err) {
      console.error("[numerous] cannot open the WebSocket", err);
      this._scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    this._watch(socket);
  }

  _watch(socket) {
    // A connect that hangs (neither open nor close) would stall reconnecting past the grace.
    if (socket.readyState === 0) {
      this._timer = this._timers.setTimeout(() => {
        if (this.socket === socket && this.status === "connecting") socket.close();
      }, CONNECT_TIMEOUT_MS);
    }
    socket.onopen = () => this._opened(socket);
    socket.onmessage = (event) => this._received(socket, event.data);
    socket.onclose = (event) => this._closed(socket, event);
    socket.onerror = () => {}; // a close event follows; that is where it is handled
  }

  _opened(socket) {
    if (this.socket !== socket || this.status !== "connecting") return;
    this._clearTimer();
    const { pathname = "", search = "" } = this._location ?? {};
    socket.send(encodeMessage({ ...this._helloExtra(), type: MSG.HELLO,
      protocol: PROTOCOL_VERSION, session: this.config.session, page: this.pageId,
      url: pathname + search }));
    this._setStatus("syncing");
  }

  _received(socket, data) {
    if (this.socket !== socket) return;
    let frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      console.error("[numerous] unreadable frame from the server", err);
      return;
    }
    if (frame.msg.type === MSG.READY) {
      // The server gave this page another session (its hello named a cached page's): name
      // that one from now on.
      if (typeof frame.msg.session === "string") this.config.session = frame.msg.session;
      this.attempt = 0;
      this._renewed = false;
      this._disconnectedAt = null;
      this._setStatus("ready");
    }
    try {
      this.onMessage(frame.msg, frame.buffers);
    } catch (err) {
      console.error(`[numerous] handling a '${frame.msg.type}' message failed`, err);
    }
  }

  _closed(socket, event) {
    if (this.socket !== socket) return;
    this.socket = null;
    this._clearTimer();
    if (["lost", "replaced", "closed"].includes(this.status)) return;
    const code = event?.code;
    const detail = { code, reason: event?.reason ?? "" };
    if (code === CLOSE_CODE.UNAUTHORIZED && this._onUnauthorized && !this._renewed) {
      this._renew(detail);
    } else if (LOST_CODES.has(code)) this._finish("lost", detail);
    else if (code === CLOSE_CODE.REPLACED) this._finish("replaced", detail);
    else this._scheduleReconnect(detail);
  }

  _scheduleReconnect(detail = {}) {
    this._disconnectedAt ??= this._now();
    const left = (this.config.grace ?? 60) * 1000 - (this._now() - this._disconnectedAt);
    if (left <= 0) {
      this._finish("lost", { ...detail, reason: "the server did not come back in time" });
      return;
    }
    const delay = Math.min(left, backoffDelay(this.attempt, this._random));
    this.attempt += 1;
    this._setStatus("waiting", detail);
    this._timer = this._timers.setTimeout(() => {
      this._timer = null;
      this._reconnect();
    }, delay);
  }

  _reconnect() {
    let preparing;
    try {
      preparing = this._beforeConnect?.();
    } catch (err) {
      console.warn("[numerous] preparing the reconnect failed", err);
    }
    if (typeof preparing?.then !== "function") {
      this._connect(); // nothing to wait for: connect at once
      return;
    }
    preparing
      .catch((err) => console.warn("[numerous] preparing the reconnect failed", err))
      .finally(() => { if (this.status === "waiting") this._connect(); });
  }

  async _renew(detail) {
    this._renewed = true;
    this._setStatus("waiting", detail);
    let renewed = false;
    try {
      renewed = await this._onUnauthorized();
    } catch (err) {
      console.warn("[numerous] renewing the sign-in failed", err);
    }
    if (this.status !== "waiting") return;
    if (renewed) this._connect();
    else this._finish("lost", detail);
  }

  _finish(status, detail = {}) {
    if (["lost", "replaced", "closed"].includes(this.status)) return;
    this._clearTimer();
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState < 2) socket.close(1000);
    this._setStatus(status, detail);
  }

  _clearTimer() {
    if (this._timer !== null) this._timers.clearTimeout(this._timer);
    this._timer = null;
  }

  _setStatus(status, detail = {}) {
    this.status = status;
    this.onStatus(status, detail);
  }
}
