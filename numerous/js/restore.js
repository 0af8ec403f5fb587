// Opt-in recovery of a lost session (create_app(restore_state=True)): the page keeps the last
// values of its widgets in sessionStorage; when its session is gone (the server restarted, or
// a load balancer moved the page to another instance), it reloads once by itself and offers
// those values in its first hello, and the server puts them back into the new session's widgets.
// With a session store on the server (config.resume) the page keeps its session's id instead and
// names it in that hello (`resume`): the server rebuilds the session from the store.

const AUTO_RELOAD_WINDOW_MS = 15_000; // never auto-reload twice within this time: no loops
const SAVE_DELAY_MS = 200;

/** A value worth keeping: JSON-safe and small enough, not binary. */
function keepable(value) {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return true;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return false;
  try {
    return JSON.stringify(value).length < 100_000;
  } catch {
    return false;
  }
}

/**
 * @param {{base: string, session?: string, resume?: boolean}} config
 * @param {object} [options]
 * @param {boolean} [options.values] keep the widgets' values (restore_state; default true)
 * @param {Storage} [options.storage]
 * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
 * @param {() => number} [options.now]
 */
export function createRestorer(config, options = {}) {
  const storage = options.storage ?? globalThis.sessionStorage;
  const timers = options.timers ?? globalThis;
  const now = options.now ?? (() => Date.now());
  const valuesKey = `numerous-restore:${config.base}`;
  const reloadKey = `numerous-restore-reload:${config.base}`;
  const resumeKey = `numerous-resume:${config.base}`;
  const values = options.values ?? true;
  let offered = false;
  let named = false;
  let timer = null;

  function read(key) {
    try {
      return JSON.parse(storage.getItem(key) ?? "null");
    } catch {
      return null;
    }
  }

  function snapshot(widgets, manager) {
    const values = {};
    for (const [key, id] of Object.entries(widgets)) {
      const model = manager.get(id);
      if (!model) continue;
      const traits = {};
      for (const name of Object.keys(model._state)) {
        const value = model.get(name);
        if (!name.startsWith("_") && keepable(value)) traits[name] = value;
      }
      values[key] = traits;
    }
    return values;
  }

  return {
    /** The values to offer in the first hello of this page (once), or undefined. */
    offer() {
      if (offered) return undefined;
      offered = true;
      return values ? read(valuesKey) ?? undefined : undefined;
    },
    /** The id of the session this tab lost, to name in the first hello (once), or undefined. */
    lostSession() {
      if (named || !config.resume) return undefined;
      named = true;
      // A page the browser showed from its cache names the lost session as its own: it is
      // still the one to rebuild from (the server ignores a page naming its new session).
      const id = read(resumeKey);
      return typeof id === "string" ? id : undefined;
    },
    /** Keep the widgets' values current in storage from now on. */
    track(widgets, manager) {
      if (config.resume && config.session) {
        try {
          storage.setItem(resumeKey, JSON.stringify(config.session));
        } catch (err) {
          console.warn("[numerous] cannot keep the session id for recovery", err);
        }
      }
      if (!values) return;
      const save = () => {
        timer = null;
        try {
          storage.setItem(valuesKey, JSON.stringify(snapshot(widgets, manager)));
        } catch (err) {
          console.warn("[numerous] cannot keep widget values for recovery", err);
        }
      };
      const schedule = () => { if (timer === null) timer = timers.setTimeout(save, SAVE_DELAY_MS); };
      for (const id of Object.values(widgets)) manager.get(id)?.on("change", schedule);
      save();
    },
    /** The session is lost: reload once to get a new one. False when that was just tried. */
    recover(reload) {
      const last = Number(read(reloadKey) ?? 0);
      if (now() - last < AUTO_RELOAD_WINDOW_MS) return false;
      storage.setItem(reloadKey, JSON.stringify(now()));
      reload();
      return true;
    },
  };
}
