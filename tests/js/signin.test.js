import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loginUrl, signInHooks } from "../../numerous/js/signin.js";

let navigate;
beforeEach(() => {
  navigate = vi.fn();
  window.history.pushState({}, "", "/app/page?tab=2");
});
afterEach(() => {
  delete window.numerousAuth;
  window.history.pushState({}, "", "/");
});

describe("loginUrl", () => {
  it("comes back to the page after signing in", () => {
    expect(loginUrl("/app", { pathname: "/app/x", search: "?a=1&b" }))
      .toBe("/app/login?next=%2Fapp%2Fx%3Fa%3D1%26b");
    expect(loginUrl("", undefined)).toBe("/login?next=%2F");
  });
});

describe("signInHooks", () => {
  it("do nothing on a page without authentication", async () => {
    const hooks = signInHooks("/app", navigate);
    expect(hooks.beforeConnect()).toBeUndefined();
    expect(await hooks.onUnauthorized()).toBe(false);
    expect(navigate).not.toHaveBeenCalled();
  });

  it("renew an expiring sign-in before each reconnect", async () => {
    const hooks = signInHooks("/app", navigate); // before auth.js ran: looked up at each use
    window.numerousAuth = { ensureFresh: vi.fn(async () => true) };
    expect(await hooks.beforeConnect()).toBe(true);
    expect(window.numerousAuth.ensureFresh).toHaveBeenCalledTimes(1);
  });

  it("reconnect after a 4401 when a refresh renews the sign-in", async () => {
    window.numerousAuth = { refresh: vi.fn(async () => true) };
    expect(await signInHooks("/app", navigate).onUnauthorized()).toBe(true);
    expect(navigate).not.toHaveBeenCalled();
  });

  it("go to the sign-in page after a 4401 when the refresh fails", async () => {
    window.numerousAuth = { refresh: vi.fn(async () => false) };
    expect(await signInHooks("/app", navigate).onUnauthorized()).toBe(false);
    expect(navigate).toHaveBeenCalledWith("/app/login?next=%2Fapp%2Fpage%3Ftab%3D2");
  });
});
