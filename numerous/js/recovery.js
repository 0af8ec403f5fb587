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
 */
export function createRecovery(config, { reload, doc, storage, timers, now }) {
  const restorer = config.restore || config.resume
    ? createRestorer(config, { storage, timers, now, values: Boolean(config.restore) })
    : null;
  let lostShown = false;
  return {
    /** The session is gone (a `session_lost` frame or a final close): act once. */
    lost() {
      if (lostShown) return;
      lostShown = true;
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
      restorer?.track(widgets, manager);
    },
  };
}
