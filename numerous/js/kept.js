// Widget states the page keeps from one load to the next, so that a reload is sent only what
// changed. The server gives each state it sends a digest (`d`) taken with its model references
// numbered (`IPY_MODEL_$0` for the first of `ids`, ...), since model ids are new in every
// session. The page keeps those numbered states in sessionStorage, names their digests in its
// hello (`have`), and an `open` with a `ref` gets its state back from here, the references
// renumbered with that message's `ids`. docs/protocol.md has the rule.

const REF = "IPY_MODEL_";
const MAX_STATE_CHARS = 1_000_000; // a bigger state is sent every time rather than kept

/**
 * `value` with every model reference rewritten by `rename` (a string stays a string).
 * @param {unknown} value
 * @param {(ref: string) => string} rename the part after "IPY_MODEL_"
 * @returns {unknown}
 */
function renamed(value, rename) {
  if (typeof value === "string") return value.startsWith(REF) ? REF + rename(value.slice(REF.length)) : value;
  if (Array.isArray(value)) return value.map((item) => renamed(item, rename));
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, item] of Object.entries(value)) out[key] = renamed(item, rename);
    return out;
  }
  return value;
}

/**
 * @param {{base: string}} config
 * @param {Storage} [storage] sessionStorage by default
 */
export function createKeptStates(config, storage = globalThis.sessionStorage) {
  const key = `numerous-kept:${config.base}`;
  /** @type {Map<string, object>} digest -> numbered state, as loaded with the page */
  let known = new Map();
  /** @type {Map<string, object>} what this snapshot used: kept for the next load */
  let used = new Map();
  try {
    known = new Map(Object.entries(JSON.parse(storage?.getItem(key) ?? "{}") ?? {}));
  } catch {
    known = new Map(); // unreadable or unavailable storage: nothing is kept
  }

  return {
    /** The digests to name in a hello. */
    have() {
      return [...known.keys()];
    },

    /**
     * An `open` ready for the models: a `ref` gets its kept state back; a state sent with a
     * digest is kept. Null for a `ref` this page does not have (the server was told it does).
     * @param {{id: string, state?: object, ref?: string, d?: string, ids?: string[]}} msg
     */
    open(msg) {
      const ids = msg.ids ?? [];
      if (typeof msg.ref === "string") {
        const numbered = known.get(msg.ref);
        if (!numbered) return null;
        used.set(msg.ref, numbered);
        const state = renamed(numbered, (n) => ids[Number(n.slice(1))] ?? n);
        return { ...msg, state, buffer_paths: [] };
      }
      if (typeof msg.d === "string" && msg.state) {
        const numbered = renamed(msg.state, (id) => (ids.includes(id) ? `$${ids.indexOf(id)}` : id));
        used.set(msg.d, numbered);
      }
      return msg;
    },

    /** The snapshot is complete: keep what it used (only that) for the next load. */
    save() {
      known = new Map([...known, ...used]);
      const kept = {};
      for (const [digest, state] of used) {
        const text = JSON.stringify(state);
        if (text.length <= MAX_STATE_CHARS) kept[digest] = state;
      }
      used = new Map();
      try {
        storage?.setItem(key, JSON.stringify(kept));
      } catch (err) {
        console.debug("[numerous] widget states not kept for the next load", err);
      }
    },
  };
}
