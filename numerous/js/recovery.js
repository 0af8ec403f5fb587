// What the page does when its session is lost: with create_app(restore_state=True) it reloads
// once and offers the widgets' last values in its first hello (restore.js); otherwise, or when
// that was just tried, it shows the session-lost banner. With a session store (config.resume) it
// reloads the same way and names the lost session, which the server rebuilds from the store.

import { createRestorer } from "./restore.js";
import { showSessionLost } from "./ui.js";

/**
 * @param {{base: string, session?: string, restore?: boolean, resume?: boolean}} config
 * @param {object} options
 * @param {() => void} options.reload
 * @param {Document} options.doc
 * @param {Storage} [options.storage] where restore_state keeps values (sessionStorage)
 * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
 * @param {() => number} [options.now]
 * @param {() => boolean} [options.fromCache] whether the browser showed this page from its
 *   cache without asking the server: its session may be long gone, and a reload gets a new one
 */
export function createRecovery(config, { reload, doc, storage, timers, now, fromCache }) {
  const restorer = config.restore || config.resume
    ? createRestorer(config, { storage, timers, now, values: Boolean(config.restore) })
    : null;
  let lostShown = false;
  let wasReady = false;
  return {
    /** The session is gone (a `session_lost` frame or a final close): act once. */
    lost() {
      if (lostShown) return;
      lostShown = true;
      if (!wasReady && fromCache?.() && reloadOnce(config, reload, storage, now)) return;
      if (!restorer?.recover(reload)) showSessionLost({ reload, doc });
    },
    /** More fields for a hello: the values to restore, in this page's first hello only. */
    helloExtra() {
      const restore = restorer?.offer();
      const resume = restorer?.lostSession();
      return { ...(restore ? { restore } : {}), ...(resume ? { resume } : {}) };
    },
    /**
     * Keep the values of the page's widgets for a recovery from now on (restore_state only).
     * @param {Record<string, string>} widgets key -> model id
     * @param {import("./model.js").WidgetManager} manager
     */
    track(widgets, manager) {
      wasReady = true;
      restorer?.track(widgets, manager);
    },
  };
}

const CACHED_RELOAD_WINDOW_MS = 15_000;

/**
 * Reload a page the browser had cached, once: false when that was just tried (no loops).
 * @param {{base: string}} config
 * @param {() => void} reload
 * @param {Storage} [storage]
 * @param {() => number} [now]
 */
function reloadOnce(config, reload, storage = globalThis.sessionStorage, now = Date.now) {
  const key = `numerous-cached-reload:${config.base}`;
  try {
    const last = storage.getItem(key);
    if (last !== null && now() - Number(last) < CACHED_RELOAD_WINDOW_MS) return false;
    storage.setItem(key, String(now()));
  } catch {
    return false;
  }
  reload();
  return true;
}
