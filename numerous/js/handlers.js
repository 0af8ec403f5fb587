// What the client does with each server message and each connection status (the `onMessage`
// and `onStatus` of connection.js; docs/protocol.md lists the messages).

import { initializeModels } from "./mount.js";
import { MSG } from "./protocol.js";
import { hideDevOverlay, hideSplash, showDevOverlay, showErrorModal, showNotice } from "./ui.js";

/**
 * @typedef {object} Parts what the handlers act on, built by main.js's `start`
 * @property {any} app the public client object (`window.numerous`)
 * @property {(app: any) => void} resolveReady resolves `app.ready`
 * @property {import("./sync.js").ModelSync} sync
 * @property {import("./mount.js").WidgetMounts} mounts
 * @property {ReturnType<typeof import("./recovery.js").createRecovery>} recovery
 * @property {ReturnType<typeof import("./kept.js").createKeptStates>} [kept] states kept
 *   between loads (none: every `open` carries its state)
 * @property {() => void} reload
 * @property {Document} doc
 * @property {typeof fetch} [fetch] how dev mode's `reload` asks for the page again
 * @property {{href: string}} [location]
 */

/**
 * Call the handler for `msg.type`; an unknown type is only logged (a newer server), and a
 * handler's failure is logged without stopping the messages after it.
 * @param {Record<string, (msg: any, buffers: DataView[]) => unknown>} handlers
 * @param {{type: string}} msg
 * @param {DataView[]} buffers
 */
export function dispatch(handlers, msg, buffers) {
  const handler = handlers[msg.type];
  if (!handler) {
    console.warn(`[numerous] unknown message type '${msg.type}'`);
    return;
  }
  const result = handler(msg, buffers);
  result?.catch?.((err) => console.error(`[numerous] handling '${msg.type}' failed`, err));
}

/**
 * Log an `error` frame; in dev mode a callback's error also opens the error modal.
 * @param {{code: string, message?: string, traceback?: string, id?: string}} msg
 * @param {boolean} dev
 * @param {Document} doc
 */
export function reportError(msg, dev, doc) {
  const where = msg.id ? ` (widget ${msg.id})` : "";
  console.error(`[numerous] ${msg.code}${where}: ${msg.message}`, msg.traceback ?? "");
  if (msg.code === "callback_error" && dev) {
    showErrorModal("Error in the app", msg.message ?? "", msg.traceback ?? "", doc);
  }
}

/**
 * A `download`: save the file at the session's one-time URL under its name. Only a path on
 * this site is followed.
 * @param {{url?: unknown, filename?: unknown}} msg
 * @param {Document} doc
 */
export function startDownload(msg, doc) {
  if (typeof msg.url !== "string" || !msg.url.startsWith("/") || msg.url.startsWith("//")) {
    console.warn("[numerous] a download without a path on this site was ignored");
    return;
  }
  const link = doc.createElement("a");
  link.href = msg.url;
  link.download = typeof msg.filename === "string" ? msg.filename : "";
  link.style.display = "none";
  doc.body.append(link);
  link.click();
  link.remove();
}

/**
 * The `ready` handler: the snapshot is complete, so bring the models in step, render the
 * widgets not rendered yet and initialize every model. The first time, the page also starts
 * keeping values for a recovery, drops its splash once the views are in, and is ready.
 * @param {Parts} parts
 * @returns {(msg: {widgets?: Record<string, string>, ack?: number}) => Promise<void>}
 */
export function readyHandler({ app, resolveReady, sync, mounts, recovery, doc }) {
  return async (msg) => {
    const widgets = msg.widgets ?? app.config.widgets;
    const swapped = !sameWidgets(widgets, app.config.widgets);
    app.config.widgets = widgets;
    const first = sync.ready(msg.ack ?? 0);
    hideDevOverlay(doc);
    const views = mounts.render(widgets);
    initializeModels(app.manager, app.host);
    if (!first) {
      if (swapped) recovery.track(widgets, app.manager); // a reloaded app's new models
      return;
    }
    recovery.track(widgets, app.manager);
    await views;
    hideSplash(doc);
    doc.documentElement.dataset.numerousReady = "true";
    resolveReady(app);
  };
}

/** Whether two key -> model id maps are the same. */
function sameWidgets(a, b) {
  const keys = Object.keys(a ?? {});
  return keys.length === Object.keys(b ?? {}).length && keys.every((key) => a[key] === b?.[key]);
}

/**
 * Dev mode's `reload`: the app changed. After new code the server names the tag of this page
 * (`tag`): the page asks for itself again with it, and a 304 says the page is the same, with a
 * session of the new app held for it. Then only the socket is opened again: that session's
 * widgets replace the old ones in place. Anything else, and any failure, reloads the page.
 * @param {{tag?: unknown}} msg
 * @param {{connection: {reconnectNow: () => void}, reload: () => void,
 *   fetch?: typeof fetch, location?: {href: string}}} parts
 */
export async function devReload(msg, { connection, reload, fetch: get = globalThis.fetch,
  location = globalThis.location }) {
  if (typeof msg.tag === "string" && typeof get === "function") {
    try {
      const response = await get(location.href, { cache: "no-store", credentials: "same-origin",
        headers: { "If-None-Match": msg.tag, "X-Numerous-Swap": "1" } });
      if (response.status === 304) {
        connection.reconnectNow();
        return;
      }
    } catch (err) {
      console.debug("[numerous] asking for the page again failed; reloading it", err);
    }
  }
  reload();
}

/**
 * The handler of every server message type.
 * @param {Parts} parts
 * @returns {Record<string, (msg: any, buffers: DataView[]) => unknown>}
 */
export function messageHandlers(parts) {
  const { app, sync, recovery, reload, doc, kept } = parts;
  const ready = readyHandler(parts);
  return {
    [MSG.OPEN]: (msg, buffers) => {
      const full = kept ? kept.open(msg) : msg;
      if (full) sync.open(full, buffers);
      else console.error(`[numerous] no kept state ${msg.ref} for widget ${msg.id}`);
    },
    [MSG.READY]: (msg) => {
      kept?.save();
      return ready(msg);
    },
    [MSG.UPDATE]: (msg, buffers) => sync.update(msg, buffers),
    [MSG.CUSTOM]: (msg, buffers) => sync.custom(msg, buffers),
    [MSG.CLOSE]: (msg) => sync.close(msg.id),
    [MSG.ERROR]: (msg) => reportError(msg, app.config.dev, doc),
    [MSG.SESSION_LOST]: (msg) => {
      console.warn(`[numerous] session lost: ${msg.reason ?? ""}`);
      recovery.lost();
    },
    [MSG.RELOAD]: (msg) => { // dev mode: the app's code, its template or a static file changed
      hideDevOverlay(doc);
      return devReload(msg, { connection: app.connection, reload, fetch: parts.fetch,
        location: parts.location });
    },
    [MSG.DEV_ERROR]: (msg) => showDevOverlay(msg.message ?? "", msg.traceback ?? "", doc),
    [MSG.NOTICE]: (msg) => showNotice(String(msg.text ?? ""), doc),
    [MSG.DOWNLOAD]: (msg) => startDownload(msg, doc),
  };
}

/**
 * The connection's status changes: a new snapshot begins, the session is lost, or a notice.
 * @param {import("./sync.js").ModelSync} sync
 * @param {{lost: () => void}} recovery
 * @returns {(status: string, detail?: {code?: number}) => void}
 */
export function statusHandler(sync, recovery) {
  return (status, detail) => {
    if (status === "syncing") {
      sync.begin();
    } else if (status === "lost") {
      recovery.lost();
    } else if (status === "replaced") {
      console.info("[numerous] a newer connection took this session over; this page stopped");
    } else if (status === "waiting") {
      console.info("[numerous] disconnected; reconnecting", detail?.code ?? "");
    }
  };
}
