// The client's entry point: reads the page config, connects, keeps the models in step with the
// server and renders each widget into its mount point (docs/protocol.md, "The page"). The parts
// live in their own modules; `start` only wires them together.

import { Connection } from "./connection.js";
import { dispatch, messageHandlers, statusHandler } from "./handlers.js";
import { WidgetHost, isClassic } from "./host.js";
import { createKeptStates } from "./kept.js";
import { WidgetManager } from "./model.js";
import { WidgetMounts, preloadWidgetAssets } from "./mount.js";
import { PROTOCOL_VERSION } from "./protocol.js";
import { createRecovery } from "./recovery.js";
import { signInHooks } from "./signin.js";
import { ModelSync } from "./sync.js";
import { bindQuery } from "./urlstate.js";

/**
 * The config object the server puts in `<script id="numerous-config">`.
 * @param {Document} [doc]
 * @returns {{protocol: number, session: string, base: string, ws: string,
 *   widgets: Record<string, string>, dev: boolean, grace: number, restore?: boolean,
 *   modules?: string[], styles?: string[],
 *   query?: import("./urlstate.js").QueryBinding[],
 *   classic?: {module: string, style?: string, libraries?: Record<string, string>}}}
 */
export function readConfig(doc = document) {
  const el = doc.getElementById("numerous-config");
  if (!el) throw new Error("[numerous] the page has no #numerous-config element");
  return JSON.parse(el.textContent ?? "");
}

/**
 * Warn when the page was made for another protocol version than this client speaks (a page
 * cached across an upgrade): what breaks next is then explained in the console.
 * @param {{protocol: number}} config
 */
function checkProtocol(config) {
  if (config.protocol !== PROTOCOL_VERSION) {
    console.warn(`[numerous] page protocol ${config.protocol}, client ${PROTOCOL_VERSION}`);
  }
}

/**
 * The public client object (`window.numerous`) with its models and widget host, and the
 * function that resolves its `ready` promise.
 * @param {ReturnType<typeof readConfig>} config
 * @param {Parameters<typeof start>[1]} options
 * @param {Document} doc
 */
function createApp(config, options, doc) {
  let resolveReady;
  const app = {
    config,
    ready: new Promise((resolve) => { resolveReady = resolve; }),
    /** @type {Connection} */ connection: null,
  };
  const manager = new WidgetManager({ send: (msg, buffers) => app.connection.send(msg, buffers),
    timeout: options.modelTimeout, timers: options.timers });
  const host = new WidgetHost({ importModule: options.importModule, document: doc });
  // Classic Jupyter widgets: their client module (and its bundle) load on first use only.
  let classic = null;
  const classicWidgets = () => (classic ??= import("./classic.js").then(({ ClassicWidgets }) =>
    new ClassicWidgets({ config: config.classic, store: manager, host, document: doc })));
  host.classic = { isClassic, widgetDef: async (model) => (await classicWidgets()).widgetDef(model) };
  Object.assign(app, { manager, models: manager.models, host, classic: classicWidgets });
  return { app, resolveReady };
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
 * @param {{protocol: string, host: string, href?: string}} [options.location]
 * @param {typeof fetch} [options.fetch] how dev mode asks for the page again (handlers.js)
 * @param {import("./connection.js").EarlySocket} [options.early] the socket early.js opened
 *   (by default `window.__numerousEarly`)
 * @param {(url: string) => Promise<any>} [options.importModule]
 * @param {() => void} [options.reload]
 * @param {number} [options.modelTimeout] ms widget_manager.get_model waits
 * @param {Storage} [options.storage] where restore_state keeps values (sessionStorage)
 * @param {(url: string) => void} [options.navigate] how to go to the sign-in page
 * @param {() => boolean} [options.fromCache] whether the browser showed this page from its
 *   cache without asking the server (a history navigation)
 */
export function start(config, options = {}) {
  const doc = options.document ?? document;
  const reload = options.reload ?? (() => location.reload());
  checkProtocol(config);
  if (config.dev) {
    // Dev mode says which setting allows what the page's policy refused (loaded only here).
    import("./policy.js").then(({ reportPolicyViolations }) => reportPolicyViolations(doc));
  }
  const { app, resolveReady } = createApp(config, options, doc);
  // The page names the widgets' modules and stylesheets: start on them while the socket opens.
  preloadWidgetAssets(app.host, config);
  const sync = new ModelSync(app.manager, app.host);
  const recovery = createRecovery(config, { reload, doc, storage: options.storage,
    timers: options.timers, now: options.now, fromCache: options.fromCache ?? pageFromCache });
  const kept = createKeptStates(config, options.storage);
  const handlers = messageHandlers({ app, resolveReady, sync, recovery, reload, doc, kept,
    mounts: new WidgetMounts(doc, app.manager, app.host), fetch: options.fetch,
    location: options.location });
  app.connection = new Connection(config, {
    early: takeEarlySocket(options),
    onMessage: (msg, buffers) => dispatch(handlers, msg, buffers),
    onStatus: statusHandler(sync, recovery),
    helloExtra: () => ({ ...recovery.helloExtra(), have: kept.have() }),
    ...signInHooks(config.base, options.navigate), WebSocket: options.WebSocket,
    timers: options.timers, now: options.now, random: options.random, location: options.location,
  });
  /** Close the socket and run every widget's cleanups. */
  app.teardown = async () => {
    app.connection.close();
    await app.host.teardown();
  };
  if (typeof window !== "undefined") {
    window.numerous = app;
    // The bound models exist once the first snapshot is in.
    if (config.query?.length) app.ready.then(() => bindQuery(config.query, app.manager, window));
  }
  app.connection.start();
  return app;
}

/**
 * The socket the page's inline script (early.js) opened, once: the first connection.
 * @param {{early?: import("./connection.js").EarlySocket}} options
 */
function takeEarlySocket(options) {
  if (options.early) return options.early;
  if (typeof window === "undefined" || !window.__numerousEarly) return undefined;
  const early = window.__numerousEarly;
  delete window.__numerousEarly;
  return early;
}

/** Whether this document came from the browser's cache without a request (no bytes moved). */
function pageFromCache() {
  const entry = globalThis.performance?.getEntriesByType?.("navigation")?.[0];
  return entry?.transferSize === 0 && entry?.type === "back_forward";
}

/** Start on a page that has the config (not when a test imports this module), once. */
function autoStart() {
  if (typeof document === "undefined" || !document.getElementById("numerous-config")) return;
  const app = start(readConfig());
  window.addEventListener("pagehide", (event) => {
    if (!event.persisted) app.teardown();
  });
}

autoStart();
