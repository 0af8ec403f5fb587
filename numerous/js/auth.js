// window.numerousAuth: who is signed in, a silent refresh shortly before the access token runs
// out (so an open app never loses its user), and logout. Tokens live in httpOnly cookies: this
// module never sees one; it learns the user and the token's remaining time from
// `{base}/api/auth/me` and from the refresh answer (docs/auth.md, "In the browser").

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
  const base = options.base ?? "";
  const doFetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  const timers = options.timers ?? globalThis;
  const now = options.now ?? (() => Date.now());
  const location = options.location ?? globalThis.location;
  const locks = "locks" in options ? options.locks : globalThis.navigator?.locks;
  const events = options.events ?? (typeof window !== "undefined" ? window : null);

  /** @type {UserContext | null} */
  let user = null;
  let expiresAt = 0; // local ms clock
  let lifetime = 0; // longest access lifetime seen, ms
  let timer = null;
  let attempt = 0;
  /** @type {Promise<boolean> | null} */
  let inflight = null;
  const listeners = new Set();

  const request = (path, method = "GET") => doFetch(`${base}${path}`, {
    method, credentials: "same-origin", cache: "no-store",
    headers: { Accept: "application/json" },
  });

  function emit() {
    const context = api.getUserContext();
    for (const listener of listeners) {
      try { listener(context); } catch (err) { console.error("[numerous] auth listener", err); }
    }
    events?.dispatchEvent?.(new CustomEvent("numerous:auth", { detail: context }));
  }

  function stopTimer() {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
  }

  /** @param {TokenInfo} info */
  function adopt(info) {
    const remaining = Math.max(0, Number(info.access_expires_in) || 0) * 1000;
    const changed = JSON.stringify(info.user) !== JSON.stringify(user);
    user = info.user;
    expiresAt = now() + remaining;
    lifetime = Math.max(lifetime, remaining);
    attempt = 0;
    stopTimer();
    const delay = Math.max(0, remaining - refreshMargin(lifetime));
    timer = timers.setTimeout(() => { refresh(); }, delay);
    if (changed) emit();
  }

  function signedOut() {
    stopTimer();
    const changed = user !== null;
    user = null;
    expiresAt = 0;
    if (changed) emit();
  }

  function retryLater() {
    stopTimer();
    const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)];
    attempt += 1;
    // Past the token's end a retry is still worth it: the refresh token lasts much longer.
    timer = timers.setTimeout(() => { refresh(); }, delay);
  }

  /** @returns {Promise<TokenInfo | null>} */
  async function me() {
    const response = await request("/api/auth/me");
    return response.ok ? response.json() : null;
  }

  function fresh(info) {
    const remaining = (Number(info?.access_expires_in) || 0) * 1000;
    return info !== null && remaining > 2 * refreshMargin(lifetime || remaining);
  }

  async function rotate(checkFirst) {
    if (checkFirst) {
      // Another tab (same cookies) may have just refreshed: then there is nothing to do, and
      // presenting the old refresh token again would look like theft to the server.
      const info = await me().catch(() => null);
      if (fresh(info)) {
        adopt(info);
        return true;
      }
    }
    const response = await request("/api/auth/refresh", "POST");
    if (response.ok) {
      adopt(await response.json());
      return true;
    }
    if (response.status === 401) {
      signedOut();
      return false;
    }
    throw new Error(`refresh answered ${response.status}`);
  }

  /** Refresh now (one at a time, across tabs where the browser has Web Locks). */
  function refresh() {
    if (inflight) return inflight;
    const run = () => rotate(Boolean(locks));
    inflight = (locks ? locks.request(`${LOCK_PREFIX}${base}`, run) : run())
      .catch((err) => {
        console.warn("[numerous] could not refresh the sign-in; retrying", err);
        retryLater();
        return user !== null;
      })
      .finally(() => { inflight = null; });
    return inflight;
  }

  const api = {
    /** Resolves once the first answer from the server is in. */
    ready: Promise.resolve(),
    /** @returns {boolean} */
    isAuthenticated: () => user !== null,
    /** @returns {UserContext | null} a copy of the signed-in user */
    getUserContext: () => (user ? { ...user, roles: [...(user.roles ?? [])] } : null),
    /** Seconds the current access token has left (0 when signed out). */
    expiresIn: () => Math.max(0, Math.round((expiresAt - now()) / 1000)),
    refresh,
    /**
     * Refresh if the access token is close to its end (after sleep, or before reconnecting).
     * @returns {Promise<boolean>} whether the browser is signed in
     */
    ensureFresh() {
      if (user !== null && expiresAt - now() > refreshMargin(lifetime)) {
        return Promise.resolve(true);
      }
      return refresh();
    },
    /**
     * Sign out: revoke on the server, then go to the login page, or to the sign-in
     * provider's own sign-out when the server names one (single sign-on).
     */
    async logout() {
      stopTimer();
      let next = `${base}/login`;
      try {
        const response = await request("/api/auth/logout", "POST");
        const body = response.ok ? await response.json().catch(() => null) : null;
        if (typeof body?.redirect === "string" && /^(https?:)?\//.test(body.redirect)) {
          next = body.redirect;
        }
      } finally {
        signedOut();
        location.assign(next);
      }
    },
    /**
     * Call `listener(userContext | null)` whenever the signed-in user changes.
     * @returns {() => void} unsubscribe
     */
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Learn who is signed in (GET /api/auth/me); refreshes if the access token is gone. */
    async load() {
      const info = await me().catch(() => null);
      if (info) adopt(info);
      else await refresh();
      return user !== null;
    },
    /** Stop the refresh timer (page teardown, tests). */
    stop: stopTimer,
  };
  return api;
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
