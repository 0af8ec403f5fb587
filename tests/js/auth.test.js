import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RenewalTimer, SignedInUser, authEndpoints, baseFromModuleUrl, createAuth, pageBase,
  refreshMargin } from "../../numerous/js/auth.js";

const ann = { id: "ann", username: "ann", email: null, roles: ["editor"], is_admin: false };

/** A scripted server: answers by path, records every request. */
function mockServer(routes) {
  const calls = [];
  const fetch = vi.fn(async (url, init = {}) => {
    calls.push([init.method ?? "GET", url]);
    const answer = routes[`${init.method ?? "GET"} ${url}`];
    const result = typeof answer === "function" ? answer() : answer;
    if (result instanceof Error) throw result;
    const [status, body] = result ?? [404, {}];
    return { ok: status >= 200 && status < 300, status, json: async () => body };
  });
  return { fetch, calls };
}

const info = (seconds, user = ann) => ({ user, access_expires_in: seconds });
const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

let location;
beforeEach(() => {
  vi.useFakeTimers();
  location = { assign: vi.fn(), replace: vi.fn(), pathname: "/app/", search: "" };
});
afterEach(() => vi.useRealTimers());

function make(routes, options = {}) {
  const server = mockServer(routes);
  const auth = createAuth({ base: "/app", fetch: server.fetch, location, locks: undefined,
    events: new EventTarget(), ...options });
  return { auth, ...server };
}

describe("helpers", () => {
  it("refreshes a quarter of the lifetime early, at most a minute", () => {
    expect(refreshMargin(4000)).toBe(1000);
    expect(refreshMargin(900_000)).toBe(60_000);
  });

  it("finds the base from the module URL or the page config", () => {
    expect(baseFromModuleUrl("http://h/app1/numerous/js/abc/auth.js")).toBe("/app1");
    expect(baseFromModuleUrl("http://h/numerous/js/abc/auth.js")).toBe("");
    document.body.innerHTML =
      '<script id="numerous-config" type="application/json">{"base": "/x"}</script>';
    expect(pageBase(document, "http://h/y/numerous/js/v/auth.js")).toBe("/x");
    document.body.innerHTML = "";
    expect(pageBase(document, "http://h/y/numerous/js/v/auth.js")).toBe("/y");
  });
});

describe("authEndpoints", () => {
  it("calls the auth API under the base, with cookies, never from a cache", async () => {
    const { fetch, calls } = mockServer({ "GET /app/api/auth/me": [401, {}],
      "POST /app/api/auth/refresh": [200, info(60)], "POST /app/api/auth/logout": [200, {}] });
    const endpoints = authEndpoints("/app", fetch);
    expect(await endpoints.me()).toBeNull(); // no access token
    expect((await endpoints.refresh()).status).toBe(200);
    await endpoints.logout();
    expect(calls).toEqual([["GET", "/app/api/auth/me"], ["POST", "/app/api/auth/refresh"],
      ["POST", "/app/api/auth/logout"]]);
    for (const [, init] of fetch.mock.calls) {
      expect(init).toMatchObject({ credentials: "same-origin", cache: "no-store" });
    }
  });
});

describe("SignedInUser", () => {
  it("tells listeners and the page only when the user changes", () => {
    const events = new EventTarget();
    const dispatched = [];
    events.addEventListener("numerous:auth", (e) => dispatched.push(e.detail?.id ?? null));
    const user = new SignedInUser(events);
    const heard = [];
    const off = user.onChange((u) => heard.push(u?.id ?? null));
    user.set(ann);
    user.set({ ...ann }); // the same user again: a refresh
    user.set(null);
    user.set(null);
    off();
    user.set(ann);
    expect(heard).toEqual(["ann", null]);
    expect(dispatched).toEqual(["ann", null, "ann"]);
  });

  it("hands out copies, and a failing listener does not stop the others", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const user = new SignedInUser(null);
    const heard = vi.fn();
    user.onChange(() => { throw new Error("listener bug"); });
    user.onChange(heard);
    user.set(ann);
    expect(heard).toHaveBeenCalledWith(ann);
    expect(error).toHaveBeenCalledWith("[numerous] auth listener", expect.any(Error));
    user.context().roles.push("admin");
    expect(user.context().roles).toEqual(["editor"]);
  });
});

describe("RenewalTimer", () => {
  function timer() {
    const renew = vi.fn();
    const renewal = new RenewalTimer(globalThis, () => Date.now(), renew);
    return { renew, renewal };
  }

  it("renews a margin before the token's end, and knows how long it has left", async () => {
    const { renew, renewal } = timer();
    renewal.start(900);
    expect(renewal.secondsLeft()).toBe(900);
    await vi.advanceTimersByTimeAsync(830_000);
    expect(renewal.isFresh()).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(renewal.isFresh()).toBe(false);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(renewal.secondsLeft()).toBe(60);
    renewal.start(900);
    await vi.advanceTimersByTimeAsync(839_000);
    expect(renew).toHaveBeenCalledTimes(1); // the new token's timer replaced the old one
    renewal.stop();
  });

  it("retries with a growing back-off that a new token resets", async () => {
    const { renew, renewal } = timer();
    const at = [];
    renew.mockImplementation(() => { at.push(Date.now()); renewal.retry(); });
    const t0 = Date.now();
    renewal.retry();
    await vi.advanceTimersByTimeAsync(77_000);
    expect(at.map((t) => t - t0)).toEqual([2000, 7000, 17_000, 47_000, 77_000]);
    renewal.start(8);
    renew.mockImplementation(() => {});
    renewal.retry();
    await vi.advanceTimersByTimeAsync(2000);
    expect(renew).toHaveBeenCalledTimes(6);
    renewal.stop();
  });

  it("after clear, no timer runs and no time is left", async () => {
    const { renew, renewal } = timer();
    renewal.start(900);
    renewal.clear();
    expect(renewal.secondsLeft()).toBe(0);
    expect(renewal.isFresh()).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000_000);
    expect(renew).not.toHaveBeenCalled();
  });

  it("takes another tab's token only when it lasts beyond the next margin", () => {
    const { renewal } = timer();
    expect(renewal.wouldLast(4)).toBe(true); // no lifetime seen yet: a quarter of its own
    expect(renewal.wouldLast(0)).toBe(false);
    renewal.start(900);
    renewal.stop();
    expect(renewal.wouldLast(121)).toBe(true);
    expect(renewal.wouldLast(100)).toBe(false);
    expect(renewal.wouldLast(undefined)).toBe(false);
  });
});

describe("the signed-in user", () => {
  it("comes from /api/auth/me, never from a token", async () => {
    const { auth, calls } = make({ "GET /app/api/auth/me": [200, info(900)] });
    expect(auth.isAuthenticated()).toBe(false);
    expect(auth.getUserContext()).toBe(null);
    expect(await auth.load()).toBe(true);
    expect(calls).toEqual([["GET", "/app/api/auth/me"]]);
    expect(auth.isAuthenticated()).toBe(true);
    const user = auth.getUserContext();
    expect(user).toEqual(ann);
    user.roles.push("admin");
    expect(auth.getUserContext().roles).toEqual(["editor"]);
    expect(auth.expiresIn()).toBe(900);
    auth.stop();
  });

  it("sends cookies and asks for JSON", async () => {
    const { auth, fetch } = make({ "GET /app/api/auth/me": [200, info(900)] });
    await auth.load();
    const init = fetch.mock.calls[0][1];
    expect(init.credentials).toBe("same-origin");
    expect(init.headers.Accept).toBe("application/json");
    auth.stop();
  });

  it("tells listeners and the page when it changes", async () => {
    const events = new EventTarget();
    const seen = [];
    events.addEventListener("numerous:auth", (e) => seen.push(e.detail?.username ?? null));
    const { auth } = make({ "GET /app/api/auth/me": [200, info(900)],
      "POST /app/api/auth/logout": [200, { ok: true }] }, { events });
    const heard = [];
    const off = auth.onChange((user) => heard.push(user?.username ?? null));
    await auth.load();
    await auth.logout();
    off();
    expect(heard).toEqual(["ann", null]);
    expect(seen).toEqual(["ann", null]);
  });
});

describe("silent refresh", () => {
  it("refreshes shortly before the access token runs out, again and again", async () => {
    const { auth, calls } = make({
      "GET /app/api/auth/me": [200, info(900)],
      "POST /app/api/auth/refresh": [200, info(900)],
    });
    await auth.load();
    await vi.advanceTimersByTimeAsync(839_000);
    expect(calls.filter(([m]) => m === "POST")).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.filter(([m]) => m === "POST")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(840_000);
    expect(calls.filter(([m]) => m === "POST")).toHaveLength(2);
    expect(auth.isAuthenticated()).toBe(true);
    auth.stop();
  });

  it("works with short lifetimes too", async () => {
    const { auth, calls } = make({
      "GET /app/api/auth/me": [200, info(4)],
      "POST /app/api/auth/refresh": [200, info(4)],
    });
    await auth.load();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls.at(-1)).toEqual(["POST", "/app/api/auth/refresh"]);
    auth.stop();
  });

  it("retries after network trouble, and stops when the server says signed out", async () => {
    let answer = new Error("offline");
    const { auth, calls } = make({
      "GET /app/api/auth/me": [200, info(8)],
      "POST /app/api/auth/refresh": () => answer,
    });
    vi.spyOn(console, "warn").mockImplementation(() => {});
    await auth.load();
    await vi.advanceTimersByTimeAsync(6_000);
    expect(calls.filter(([m]) => m === "POST")).toHaveLength(1);
    expect(auth.isAuthenticated()).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls.filter(([m]) => m === "POST")).toHaveLength(2);
    answer = [401, { detail: "Not authenticated" }];
    await vi.advanceTimersByTimeAsync(5_000);
    expect(auth.isAuthenticated()).toBe(false);
    const count = calls.length;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls.length).toBe(count);
  });

  it("makes one request for several simultaneous refreshes", async () => {
    const { auth, calls } = make({ "POST /app/api/auth/refresh": [200, info(900)] });
    const results = await Promise.all([auth.refresh(), auth.refresh(), auth.ensureFresh()]);
    expect(results).toEqual([true, true, true]);
    expect(calls).toEqual([["POST", "/app/api/auth/refresh"]]);
    auth.stop();
  });

  it("refreshes an expired token when asked (after sleep, before a reconnect)", async () => {
    let now = 0;
    const { auth, calls } = make({
      "GET /app/api/auth/me": [200, info(900)],
      "POST /app/api/auth/refresh": [200, info(900)],
    }, { now: () => now, timers: { setTimeout: () => 1, clearTimeout: () => {} } });
    await auth.load();
    expect(await auth.ensureFresh()).toBe(true);
    expect(calls).toHaveLength(1);
    now = 2_000_000;
    expect(await auth.ensureFresh()).toBe(true);
    expect(calls.at(-1)).toEqual(["POST", "/app/api/auth/refresh"]);
  });

  it("with Web Locks, checks first whether another tab already refreshed", async () => {
    const held = [];
    const locks = { request: vi.fn(async (name, fn) => { held.push(name); return fn(); }) };
    const { auth, calls } = make({
      "GET /app/api/auth/me": [200, info(880)],
      "POST /app/api/auth/refresh": [200, info(900)],
    }, { locks });
    expect(await auth.refresh()).toBe(true);
    expect(held).toEqual(["numerous-auth-refresh:/app"]);
    expect(calls).toEqual([["GET", "/app/api/auth/me"]]);
    auth.stop();
  });

  it("with Web Locks, refreshes when the token is about to run out", async () => {
    const locks = { request: async (name, fn) => fn() };
    const end = Date.now() + 30_000; // the server's view: the token runs out at `end`
    const { auth, calls } = make({
      "GET /app/api/auth/me": () => [200, info(Math.round((end - Date.now()) / 1000))],
      "POST /app/api/auth/refresh": [200, info(900)],
    }, { locks });
    await auth.load();
    await vi.advanceTimersByTimeAsync(23_000);
    expect(calls.map(([m, u]) => `${m} ${u}`)).toEqual([
      "GET /app/api/auth/me", "GET /app/api/auth/me", "POST /app/api/auth/refresh"]);
    auth.stop();
  });
});

describe("load and logout", () => {
  it("refreshes on load when the access token is gone", async () => {
    const { auth, calls } = make({
      "GET /app/api/auth/me": [401, { detail: "Not authenticated" }],
      "POST /app/api/auth/refresh": [200, info(900)],
    });
    expect(await auth.load()).toBe(true);
    expect(calls.at(-1)).toEqual(["POST", "/app/api/auth/refresh"]);
    auth.stop();
  });

  it("is signed out when neither works", async () => {
    const { auth } = make({
      "GET /app/api/auth/me": [401, {}],
      "POST /app/api/auth/refresh": [401, {}],
    });
    expect(await auth.load()).toBe(false);
    expect(auth.isAuthenticated()).toBe(false);
  });

  it("logout revokes on the server, then goes to the login page", async () => {
    const { auth, calls } = make({
      "GET /app/api/auth/me": [200, info(900)],
      "POST /app/api/auth/logout": [200, { ok: true }],
    });
    await auth.load();
    await auth.logout();
    expect(calls.at(-1)).toEqual(["POST", "/app/api/auth/logout"]);
    expect(auth.isAuthenticated()).toBe(false);
    expect(location.assign).toHaveBeenCalledWith("/app/login");
    await vi.advanceTimersByTimeAsync(2_000_000);
    expect(calls.at(-1)).toEqual(["POST", "/app/api/auth/logout"]);
  });

  it("logout goes on to the sign-in provider's sign-out when the server names it", async () => {
    const end = "https://idp.example/session/end?client_id=app";
    const { auth } = make({ "POST /app/api/auth/logout": [200, { ok: true, redirect: end }] });
    await auth.logout();
    expect(location.assign).toHaveBeenCalledWith(end);
    const other = make({ "POST /app/api/auth/logout": [200, { redirect: "javascript:x" }] });
    await other.auth.logout();
    expect(location.assign).toHaveBeenLastCalledWith("/app/login");
  });

  it("logout still leaves the page when the server cannot be reached", async () => {
    const { auth } = make({ "POST /app/api/auth/logout": new Error("offline") });
    await expect(auth.logout()).rejects.toThrow("offline");
    expect(location.assign).toHaveBeenCalledWith("/app/login");
  });
});

describe("on an app page", () => {
  it("installs window.numerousAuth when the page has the app config", async () => {
    vi.resetModules();
    document.body.innerHTML =
      '<script id="numerous-config" type="application/json">{"base": ""}</script>';
    const fetch = vi.fn(async () => ({ ok: true, status: 200, json: async () => info(900) }));
    vi.stubGlobal("fetch", fetch);
    await import("../../numerous/js/auth.js");
    await window.numerousAuth.ready;
    await flush();
    expect(window.numerousAuth.getUserContext().username).toBe("ann");
    expect(fetch).toHaveBeenCalledWith("/api/auth/me", expect.anything());
    window.numerousAuth.stop();
    vi.unstubAllGlobals();
    delete window.numerousAuth;
  });
});
