// The client's entry point: reads the page config, connects, keeps the models in step with the
// server and renders each widget into its mount point (docs/protocol.md, "The page").

import { Connection } from "./connection.js";
import { WidgetHost } from "./host.js";
import { WidgetManager } from "./model.js";
import { MSG, PROTOCOL_VERSION, putBuffers } from "./protocol.js";
import { createRestorer } from "./restore.js";
import { hideDevOverlay, hideSplash, showDevOverlay, showErrorModal, showSessionLost,
  showWidgetError } from "./ui.js";

/**
 * The config object the server puts in `<script id="numerous-config">`.
 * @param {Document} [doc]
 * @returns {{protocol: number, session: string, base: string, ws: string,
 *   widgets: Record<string, string>, dev: boolean, grace: number, restore?: boolean,
 *   modules?: string[], styles?: string[]}}
 */
export function readConfig(doc = document) {
  const el = doc.getElementById("numerous-config");
  if (!el) throw new Error("[numerous] the page has no #numerous-config element");
  return JSON.parse(el.textContent ?? "");
}

/**
 * Start the client.
 * @param {ReturnType<typeof readConfig>} config
 * @param {object} [options] everything the browser provides, injectable for tests
 * @param {Document} [options.document]
 * @param {typeof WebSocket} [options.WebSocket]
 * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
 * @param {() => number} [options.now]
 * @param {() => number} [options.random]
 * @param {{protocol: string, host: string}} [options.location]
 * @param {(url: string) => Promise<any>} [options.importModule]
 * @param {() => void} [options.reload]
 * @param {number} [options.modelTimeout] ms widget_manager.get_model waits
 * @param {Storage} [options.storage] where restore_state keeps values (sessionStorage)
 * @param {(url: string) => void} [options.navigate] how to go to the sign-in page
 */
export function start(config, options = {}) {
  const doc = options.document ?? document;
  const reload = options.reload ?? (() => location.reload());
  if (config.protocol !== PROTOCOL_VERSION) {
    console.warn(`[numerous] page protocol ${config.protocol}, client ${PROTOCOL_VERSION}`);
  }
  let resolveReady;
  const app = {
    config,
    ready: new Promise((resolve) => { resolveReady = resolve; }),
    /** @type {Connection} */ connection: null,
  };
  const manager = new WidgetManager({ send: (msg, buffers) => app.connection.send(msg, buffers),
    timeout: options.modelTimeout, timers: options.timers });
  const host = new WidgetHost({ importModule: options.importModule, document: doc });
  // The page names the widgets' modules and stylesheets: start on them while the socket opens.
  for (const url of config.styles ?? []) host.injectCss(url);
  for (const url of config.modules ?? []) host.loadModule(url).catch(() => {});
  Object.assign(app, { manager, models: manager.models, host });

  let firstReady = true;
  const rendered = new Set(); // widget keys whose mount points have their views
  const snapshot = new Set(); // model ids opened since the last hello
  const deferred = new Map(); // reconnect: id -> snapshot state, applied at `ready` with its ack

  function withBuffers(msg, buffers) {
    try {
      return putBuffers(msg.state ?? {}, msg.buffer_paths, buffers);
    } catch (err) {
      console.error(`[numerous] bad buffers in a '${msg.type}' message`, err);
      return null;
    }
  }

  function onOpen(msg, buffers) {
    const state = withBuffers(msg, buffers);
    if (!state) return;
    snapshot.add(msg.id);
    // A model we already have gets its snapshot state at `ready`: only then is the ack known
    // that decides which of our own unacknowledged changes the state already includes.
    if (manager.get(msg.id) && typeof msg.ack !== "number") deferred.set(msg.id, state);
    else manager.open(msg.id, state, msg.ack ?? 0);
  }

  function onUpdate(msg, buffers) {
    const state = withBuffers(msg, buffers);
    if (!state) return;
    if (deferred.has(msg.id)) {
      Object.assign(deferred.get(msg.id), state); // newer than the snapshot it follows
      return;
    }
    const model = manager.get(msg.id);
    if (model) model._applyServer(state, msg.ack ?? 0);
    else console.debug(`[numerous] update for unknown model ${msg.id}`);
  }

  async function closeModel(id) {
    const model = manager.get(id);
    if (!model) return;
    await host.closeModel(model);
    manager.close(id);
  }

  function mountPoints() {
    const points = new Map();
    for (const el of doc.querySelectorAll("[data-numerous-widget]")) {
      const key = el.dataset.numerousWidget;
      if (!points.has(key)) points.set(key, []);
      points.get(key).push(el);
    }
    return points;
  }

  function renderWidgets(widgets) {
    const points = mountPoints();
    const views = [];
    for (const [key, id] of Object.entries(widgets ?? {})) {
      if (rendered.has(key) || !points.has(key)) continue;
      rendered.add(key);
      const model = manager.get(id);
      for (const el of points.get(key)) {
        if (model) views.push(host.render(model, el));
        else showWidgetError(el, `The widget '${key}' has no model (id ${id}).`);
      }
    }
    return Promise.all(views);
  }

  async function onReady(msg) {
    const ack = msg.ack ?? 0;
    for (const [id, state] of deferred) manager.open(id, state, ack);
    deferred.clear();
    if (!firstReady) {
      for (const id of [...manager.models.keys()]) if (!snapshot.has(id)) closeModel(id);
    }
    manager.resync(ack);
    hideDevOverlay(doc);
    const views = renderWidgets(msg.widgets ?? config.widgets);
    // Like anywidget, initialize every widget model, displayed or not (children, controllers).
    // Models without `_esm` (ipywidgets' own, such as Layout) have no front-end code here.
    for (const model of manager.models.values()) {
      if (typeof model.get("_esm") === "string" && model.get("_esm")) host.initialize(model);
    }
    if (!firstReady) return;
    firstReady = false;
    restorer?.track(msg.widgets ?? config.widgets, manager);
    await views;
    hideSplash(doc);
    doc.documentElement.dataset.numerousReady = "true";
    resolveReady(app);
  }

  function onError(msg) {
    const where = msg.id ? ` (widget ${msg.id})` : "";
    console.error(`[numerous] ${msg.code}${where}: ${msg.message}`, msg.traceback ?? "");
    if (msg.code === "callback_error" && config.dev) {
      showErrorModal("Error in the app", msg.message ?? "", msg.traceback ?? "", doc);
    }
  }

  const handlers = {
    [MSG.OPEN]: onOpen,
    [MSG.READY]: onReady,
    [MSG.UPDATE]: onUpdate,
    [MSG.CUSTOM]: (msg, buffers) => manager.get(msg.id)?._receiveCustom(msg.content, buffers),
    [MSG.CLOSE]: (msg) => closeModel(msg.id),
    [MSG.ERROR]: onError,
    [MSG.SESSION_LOST]: (msg) => {
      console.warn(`[numerous] session lost: ${msg.reason ?? ""}`);
      lost();
    },
    [MSG.RELOAD]: () => { hideDevOverlay(doc); reload(); },
    [MSG.DEV_ERROR]: (msg) => showDevOverlay(msg.message ?? "", msg.traceback ?? "", doc),
  };

  function onMessage(msg, buffers) {
    const handler = handlers[msg.type];
    if (!handler) {
      console.warn(`[numerous] unknown message type '${msg.type}'`);
      return;
    }
    const result = handler(msg, buffers);
    result?.catch?.((err) => console.error(`[numerous] handling '${msg.type}' failed`, err));
  }

  function onStatus(status, detail) {
    if (status === "syncing") {
      snapshot.clear();
      deferred.clear();
    } else if (status === "lost") {
      lost();
    } else if (status === "replaced") {
      console.info("[numerous] a newer connection took this session over; this page stopped");
    } else if (status === "waiting") {
      console.info("[numerous] disconnected; reconnecting", detail?.code ?? "");
    }
  }

  // With restore_state on, a lost session reloads the page once and offers the last values.
  const restorer = config.restore
    ? createRestorer(config, { storage: options.storage, timers: options.timers,
      now: options.now })
    : null;
  let lostShown = false;
  function lost() {
    if (lostShown) return;
    lostShown = true;
    if (!restorer?.recover(reload)) showSessionLost({ reload, doc });
  }
  const helloExtra = () => {
    const restore = restorer?.offer();
    return restore ? { restore } : {};
  };

  // With authentication on (auth.js), a reconnect first renews an expiring token, and a 4401
  // gets one refresh before the page gives up and goes to the sign-in page.
  const auth = () => (typeof window !== "undefined" ? window.numerousAuth : undefined);
  const beforeConnect = () => auth()?.ensureFresh?.();
  const onUnauthorized = async () => {
    const signIn = auth();
    if (!signIn) return false;
    if (await signIn.refresh?.()) return true;
    const here = `${globalThis.location?.pathname ?? "/"}${globalThis.location?.search ?? ""}`;
    (options.navigate ?? ((url) => globalThis.location.assign(url)))(
      `${config.base}/login?next=${encodeURIComponent(here)}`);
    return false;
  };

  app.connection = new Connection(config, { onMessage, onStatus, WebSocket: options.WebSocket,
    timers: options.timers, now: options.now, random: options.random,
    location: options.location, helloExtra, beforeConnect, onUnauthorized });
  /** Close the socket and run every widget's cleanups. */
  app.teardown = async () => {
    app.connection.close();
    await host.teardown();
  };
  if (typeof window !== "undefined") window.numerous = app;
  app.connection.start();
  return app;
}

function autoStart() {
  if (typeof document === "undefined" || !document.getElementById("numerous-config")) return;
  const app = start(readConfig());
  window.addEventListener("pagehide", (event) => {
    if (!event.persisted) app.teardown();
  });
}

autoStart();
