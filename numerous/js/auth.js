// window.numerousAuth: who is signed in, a silent refresh shortly before the access token runs
// out (so an open app never loses its user), and logout. Tokens live in httpOnly cookies: this
// module never sees one; it learns the user and the token's remaining time from
// `{base}/api/auth/me` and from the refresh answer (docs/auth.md, "In the browser").
// It imports nothing on purpose: the page loads it as a script of its own, outside main.js's
// preloaded module graph, so an import would cost a round trip before the client exists.

const MAX_MARGIN_MS = 60_000;
const RETRY_MS = [2000, 5000, 10_000, 30_000];
const LOCK_PREFIX = "numerous-auth-refresh:";

/**
 * @typedef {{id: string, username: string, email: string | null, roles: string[],
 *   is_admin: boolean}} UserContext
 * @typedef {{user: UserContext, access_expires_in: number}} TokenInfo
 */

/**
 * How long before the access token's end to refresh it: a quarter of its lifetime, at most a
 * minute (background tabs may run timers a minute late).
 * @param {number} lifetimeMs
 * @returns {number}
 */
export function refreshMargin(lifetimeMs) {
  return Math.min(MAX_MARGIN_MS, lifetimeMs * 0.25);
}

/**
 * The app's base path from this module's URL (`{base}/numerous/js/{version}/auth.js`).
 * @param {string} moduleUrl
 * @returns {string}
 */
export function baseFromModuleUrl(moduleUrl) {
  const path = new URL(moduleUrl, "http://localhost/").pathname;
  const at = path.lastIndexOf("/numerous/js/");
  return at >= 0 ? path.slice(0, at) : "";
}

/**
 * The auth API under `base`, called with the page's cookies and never from a cache.
 * @param {string} base the app's base path
 * @param {typeof fetch} doFetch
 */
export function authEndpoints(base, doFetch) {
  const request = (path, method = "GET") => doFetch(`${base}${path}`, {
    method, credentials: "same-origin", cache: "no-store",
    headers: { Accept: "application/json" },
  });
  return {
    /** @returns {Promise<TokenInfo | null>} who is signed in; null when the token is gone */
    async me() {
      const response = await request("/api/auth/me");
      return response.ok ? response.json() : null;
    },
    /** Rotate the refresh token for a new access token (the answer: TokenInfo, or 401). */
    refresh: () => request("/api/auth/refresh", "POST"),
    /** Revoke this browser's sign-in on the server. */
    logout: () => request("/api/auth/logout", "POST"),
  };
}

/** Who is signed in, and telling listeners and the page (a "numerous:auth" event) on a change. */
export class SignedInUser {
  /** @param {EventTarget | null} events */
  constructor(events) {
    this._events = events;
    this.current = /** @type {UserContext | null} */ (null);
    this._listeners = new Set();
  }

  /** @returns {UserContext | null} a copy, so that a caller cannot change ours */
  context() {
    const user = this.current;
    return user ? { ...user, roles: [...(user.roles ?? [])] } : null;
  }

  /** @param {UserContext | null} user the server's answer (null: signed out) */
  set(user) {
    const changed = JSON.stringify(user) !== JSON.stringify(this.current);
    this.current = user;
    if (changed) this._emit(); // listeners hear of a change only
  }

  /**
   * @param {(user: UserContext | null) => void} listener
   * @returns {() => void} unsubscribe
   */
  onChange(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  _emit() {
    const context = this.context();
    for (const listener of this._listeners) {
      try { listener(context); } catch (err) { console.error("[numerous] auth listener", err); }
    }
    this._events?.dispatchEvent?.(new CustomEvent("numerous:auth", { detail: context }));
  }
}

/**
 * When the access token runs out, and the one timer that renews it: a margin before its end,
 * or, after a failed refresh, again with a growing back-off.
 */
export class RenewalTimer {
  /**
   * @param {{setTimeout: Function, clearTimeout: Function}} timers
   * @param {() => number} now ms clock
   * @param {() => void} renew what the timer calls
   */
  constructor(timers, now, renew) {
    this._timers = timers;
    this._now = now;
    this._renew = renew;
    this._expiresAt = 0; // local ms clock
    this._lifetime = 0; // longest access lifetime seen, ms
    this._timer = null;
    this._attempt = 0;
  }

  /** A new access token with `seconds` left: renew it a margin before its end. */
  start(seconds) {
    const remaining = Math.max(0, Number(seconds) || 0) * 1000;
    this._expiresAt = this._now() + remaining;
    this._lifetime = Math.max(this._lifetime, remaining);
    this._attempt = 0;
    this._schedule(Math.max(0, remaining - refreshMargin(this._lifetime)));
  }

  /** A refresh failed for want of the server: try again in 2, 5, 10, then every 30 s. */
  retry() {
    const delay = RETRY_MS[Math.min(this._attempt, RETRY_MS.length - 1)];
    this._attempt += 1;
    // Past the token's end a retry is still worth it: the refresh token lasts much longer.
    this._schedule(delay);
  }

  /** Signed out: no token, no timer. */
  clear() {
    this.stop();
    this._expiresAt = 0;
  }

  stop() {
    if (this._timer !== null) this._timers.clearTimeout(this._timer);
    this._timer = null;
  }

  /** Seconds the access token has left (0 when there is none). */
  secondsLeft() {
    return Math.max(0, Math.round((this._expiresAt - this._now()) / 1000));
  }

  /** Whether the token is still far enough from its end not to need a refresh now. */
  isFresh() {
    return this._expiresAt - this._now() > refreshMargin(this._lifetime);
  }

  /** Whether another tab's new token, `seconds` left, lasts beyond the next refresh margin. */
  wouldLast(seconds) {
    const remaining = (Number(seconds) || 0) * 1000;
    return remaining > 2 * refreshMargin(this._lifetime || remaining);
  }

  _schedule(delay) {
    this.stop();
    this._timer = this._timers.setTimeout(() => { this._renew(); }, delay);
  }
}

/**
 * @typedef {object} AuthParts what the units of one auth client share
 * @property {string} base the app's base path
 * @property {{assign: (url: string) => void}} location
 * @property {{request: Function} | undefined} locks
 * @property {string} lockName the Web Lock all of this app's tabs refresh under
 * @property {ReturnType<typeof authEndpoints>} endpoints
 * @property {SignedInUser} user
 * @property {RenewalTimer} renewal
 */

/**
 * Everything the browser provides, from `options` or the browser itself.
 * @param {Parameters<typeof createAuth>[0]} options
 */
function browserParts(options) {
  const base = options.base ?? "";
  return {
    base,
    fetch: options.fetch ?? ((...args) => globalThis.fetch(...args)),
    timers: options.timers ?? globalThis,
    now: options.now ?? (() => Date.now()),
    location: options.location ?? globalThis.location,
    locks: "locks" in options ? options.locks : globalThis.navigator?.locks,
    lockName: `${LOCK_PREFIX}${base}`,
    events: options.events ?? (typeof window !== "undefined" ? window : null),
  };
}

/**
 * The server's answer (me or refresh): this user, this long.
 * @param {AuthParts} parts
 * @param {TokenInfo} info
 */
function adopt({ user, renewal }, info) {
  renewal.start(info.access_expires_in);
  user.set(info.user);
}

/** @param {AuthParts} parts */
function signOut({ user, renewal }) {
  renewal.clear();
  user.set(null);
}

/**
 * Another tab (same cookies) may have just refreshed: then there is nothing to do, and
 * presenting the old refresh token again would look like theft to the server.
 * @param {AuthParts} parts
 * @returns {Promise<boolean>} whether its fresh token was adopted
 */
async function adoptAnotherTabsToken(parts) {
  const info = await parts.endpoints.me().catch(() => null);
  if (info === null || !parts.renewal.wouldLast(info.access_expires_in)) return false;
  adopt(parts, info);
  return true;
}

/**
 * The refresh call: a new access token, or signed out when the server says so (401). Any
 * other failure throws, for a retry.
 * @param {AuthParts} parts
 * @param {boolean} checkFirst whether another tab may have refreshed already (Web Locks)
 * @returns {Promise<boolean>} whether the browser is signed in
 */
async function rotate(parts, checkFirst) {
  if (checkFirst && await adoptAnotherTabsToken(parts)) return true;
  const response = await parts.endpoints.refresh();
  if (response.ok) {
    adopt(parts, await response.json());
    return true;
  }
  if (response.status === 401) {
    signOut(parts);
    return false;
  }
  throw new Error(`refresh answered ${response.status}`);
}

/**
 * `refresh()`: one at a time (simultaneous callers share it), and one tab at a time where the
 * browser has Web Locks. A failure other than "signed out" is retried later by the timer.
 * @param {AuthParts} parts
 * @returns {() => Promise<boolean>} resolves to whether the browser is signed in
 */
function singleRefresh(parts) {
  /** @type {Promise<boolean> | null} */
  let inflight = null;
  return function refresh() {
    if (inflight) return inflight;
    const run = () => rotate(parts, Boolean(parts.locks));
    inflight = (parts.locks ? parts.locks.request(parts.lockName, run) : run())
      .catch((err) => {
        console.warn("[numerous] could not refresh the sign-in; retrying", err);
        parts.renewal.retry();
        return parts.user.current !== null;
      })
      .finally(() => { inflight = null; });
    return inflight;
  };
}

/**
 * Sign out: revoke on the server, then go to the login page (also when the server cannot be
 * reached: the page must not stay signed in on screen), or to the sign-in provider's own
 * sign-out when the server names one (single sign-on).
 * @param {AuthParts} parts
 */
async function logout(parts) {
  parts.renewal.stop();
  let next = `${parts.base}/login`;
  try {
    next = (await providerSignOut(await parts.endpoints.logout())) ?? next;
  } finally {
    signOut(parts);
    parts.location.assign(next);
  }
}

/**
 * Where the server's sign-out answer says to go next (a same-site path or an http(s) URL), or
 * null.
 * @param {Response} response
 * @returns {Promise<string | null>}
 */
async function providerSignOut(response) {
  const body = response?.ok ? await response.json().catch(() => null) : null;
  const target = body?.redirect;
  return typeof target === "string" && /^(https?:)?\//.test(target) ? target : null;
}

/**
 * The public object, `window.numerousAuth` (docs/auth.md, "In the browser").
 * @param {AuthParts} parts
 * @param {() => Promise<boolean>} refresh
 */
function publicApi(parts, refresh) {
  const { user, renewal } = parts;
  return {
    /** Resolves once the first answer from the server is in. */
    ready: Promise.resolve(),
    /** @returns {boolean} */
    isAuthenticated: () => user.current !== null,
    /** @returns {UserContext | null} a copy of the signed-in user */
    getUserContext: () => user.context(),
    /** Seconds the current access token has left (0 when signed out). */
    expiresIn: () => renewal.secondsLeft(),
    /** Refresh now (one at a time, across tabs where the browser has Web Locks). */
    refresh,
    /**
     * Refresh if the access token is close to its end (after sleep, or before reconnecting).
     * @returns {Promise<boolean>} whether the browser is signed in
     */
    ensureFresh: () => (user.current !== null && renewal.isFresh()
      ? Promise.resolve(true) : refresh()),
    /** Sign out: revoke on the server, then go to the login page. */
    logout: () => logout(parts),
    /**
     * Call `listener(userContext | null)` whenever the signed-in user changes.
     * @returns {() => void} unsubscribe
     */
    onChange: (listener) => user.onChange(listener),
    /** Learn who is signed in (GET /api/auth/me); refreshes if the access token is gone. */
    async load() {
      const info = await parts.endpoints.me().catch(() => null);
      if (info) adopt(parts, info);
      else await refresh();
      return user.current !== null;
    },
    /** Stop the refresh timer (page teardown, tests). */
    stop: () => renewal.stop(),
  };
}

/**
 * Create the auth client. Everything the browser provides is injectable for tests.
 * @param {object} [options]
 * @param {string} [options.base] the app's base path ("" at the root)
 * @param {typeof fetch} [options.fetch]
 * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
 * @param {() => number} [options.now] ms clock
 * @param {{assign: (url: string) => void, replace: (url: string) => void,
 *   pathname: string, search: string}} [options.location]
 * @param {{request: Function} | undefined} [options.locks] Web Locks, to refresh one tab at a time
 * @param {EventTarget} [options.events] where "numerous:auth" events are dispatched
 */
export function createAuth(options = {}) {
  const browser = browserParts(options);
  // The timer fires only after a token is adopted, by when `refresh` exists.
  const renewal = new RenewalTimer(browser.timers, browser.now, () => { refresh(); });
  /** @type {AuthParts} */
  const parts = { ...browser, endpoints: authEndpoints(browser.base, browser.fetch),
    user: new SignedInUser(browser.events), renewal };
  const refresh = singleRefresh(parts);
  return publicApi(parts, refresh);
}

/**
 * Keep the sign-in fresh when the page comes back (a woken laptop, a tab brought forward, a
 * page restored from the back-forward cache after signing out).
 * @param {ReturnType<typeof createAuth>} auth
 * @param {string} base
 */
function watchPage(auth, base) {
  const check = () => { if (document.visibilityState !== "hidden") auth.ensureFresh(); };
  document.addEventListener("visibilitychange", check);
  window.addEventListener("online", check);
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    auth.ensureFresh().then((signedIn) => {
      if (!signedIn) {
        const next = encodeURIComponent(location.pathname + location.search);
        location.replace(`${base}/login?next=${next}`);
      }
    });
  });
}

/**
 * The app's base path: from the page config when there is one, else from this module's URL.
 * @param {Document} doc
 * @param {string} moduleUrl
 * @returns {string}
 */
export function pageBase(doc, moduleUrl) {
  try {
    const config = JSON.parse(doc.getElementById("numerous-config")?.textContent ?? "null");
    if (typeof config?.base === "string") return config.base;
  } catch {
    // fall through to the module URL
  }
  return baseFromModuleUrl(moduleUrl);
}

function autoStart() {
  // Only on an app page (the server adds this module to those when authentication is on).
  if (typeof document === "undefined" || !document.getElementById("numerous-config")) return;
  const base = pageBase(document, import.meta.url);
  const auth = createAuth({ base });
  auth.ready = auth.load().then(() => undefined, () => undefined);
  window.numerousAuth = auth;
  watchPage(auth, base);
}

autoStart();
