// The connection's side of authentication. auth.js (on the page only when the app has
// authentication) keeps the sign-in fresh as `window.numerousAuth`; here a reconnect first
// renews an expiring token, and a 4401 close gets one refresh before the page gives up and
// goes to the sign-in page. Without auth.js both hooks do nothing.

/**
 * The page's auth client, looked up at each use: auth.js may run after this module.
 * @returns {{ensureFresh?: () => Promise<boolean>, refresh?: () => Promise<boolean>} | undefined}
 */
function authClient() {
  return typeof window !== "undefined" ? window.numerousAuth : undefined;
}

/**
 * The sign-in page's URL, coming back to where the page is now after signing in.
 * @param {string} base the app's base path
 * @param {{pathname?: string, search?: string} | undefined} location
 * @returns {string}
 */
export function loginUrl(base, location) {
  const here = `${location?.pathname ?? "/"}${location?.search ?? ""}`;
  return `${base}/login?next=${encodeURIComponent(here)}`;
}

/**
 * The Connection options `beforeConnect` and `onUnauthorized`.
 * @param {string} base the app's base path
 * @param {(url: string) => void} [navigate] how to go to the sign-in page
 * @returns {{beforeConnect: () => Promise<boolean> | undefined,
 *   onUnauthorized: () => Promise<boolean>}}
 */
export function signInHooks(base, navigate = (url) => globalThis.location.assign(url)) {
  return {
    beforeConnect: () => authClient()?.ensureFresh?.(),
    /** A 4401: true to reconnect with the renewed sign-in, false to stop (and sign in again). */
    async onUnauthorized() {
      const auth = authClient();
      if (!auth) return false;
      if (await auth.refresh?.()) return true;
      navigate(loginUrl(base, globalThis.location));
      return false;
    },
  };
}
