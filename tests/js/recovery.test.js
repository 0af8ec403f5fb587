import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WidgetManager } from "../../numerous/js/model.js";
import { createRecovery } from "../../numerous/js/recovery.js";
import { pageBody } from "./helpers.js";

/** An in-memory Storage. */
function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, String(v)) };
}

let reload;
let storage;
let time;
const banner = () => document.getElementById("numerous-session-lost");

function recovery(restore) {
  return createRecovery({ base: "/app", restore }, { reload, doc: document, storage,
    now: () => time, timers: { setTimeout: () => 1, clearTimeout: () => {} } });
}

beforeEach(() => {
  document.body.innerHTML = pageBody([]);
  reload = vi.fn();
  storage = memoryStorage();
  time = 1_000_000;
});
afterEach(() => document.body.replaceChildren());

describe("without restore_state", () => {
  it("shows the banner once, whose button reloads; offers nothing", () => {
    const r = recovery(false);
    expect(r.helloExtra()).toEqual({});
    r.track({ w: "m1" }, new WidgetManager()); // nothing to keep
    expect(banner().hidden).toBe(true);
    r.lost();
    r.lost();
    expect(banner().hidden).toBe(false);
    expect(reload).not.toHaveBeenCalled();
    banner().querySelector("[data-numerous-reload]").click();
    expect(reload).toHaveBeenCalledTimes(1);
  });
});

describe("with restore_state", () => {
  it("keeps the values, reloads once when lost, and offers them in the first hello", () => {
    const manager = new WidgetManager();
    manager.open("m1", { value: 7, _esm: "code" });
    const before = recovery(true);
    before.track({ w: "m1" }, manager);
    before.lost();
    expect(reload).toHaveBeenCalledTimes(1);
    expect(banner().hidden).toBe(true);

    const after = recovery(true); // the reloaded page
    expect(after.helloExtra()).toEqual({ restore: { w: { value: 7 } } });
    expect(after.helloExtra()).toEqual({}); // a reconnect's hello
  });

  it("shows the banner instead of reloading again straight away (no loops)", () => {
    recovery(true).lost();
    time += 1000;
    recovery(true).lost();
    expect(reload).toHaveBeenCalledTimes(1);
    expect(banner().hidden).toBe(false);
  });
});

describe("with a session store (resume)", () => {
  const page = (session) => createRecovery({ base: "/app", session, resume: true },
    { reload, doc: document, storage, now: () => time,
      timers: { setTimeout: () => 1, clearTimeout: () => {} } });

  it("keeps the session id, reloads once when lost and names the lost session, not values", () => {
    const manager = new WidgetManager();
    manager.open("m1", { value: 7 });
    const before = page("old-id");
    expect(before.helloExtra()).toEqual({}); // its own first hello: nothing lost yet
    before.track({ w: "m1" }, manager);
    before.lost();
    expect(reload).toHaveBeenCalledTimes(1);

    const after = page("new-id"); // the reloaded page
    expect(after.helloExtra()).toEqual({ resume: "old-id" });
    expect(after.helloExtra()).toEqual({}); // a reconnect's hello
    after.track({ w: "m1" }, manager);
    expect(page("newer-id").helloExtra()).toEqual({ resume: "new-id" });
    // The browser's cached copy of the lost page names the lost session as its own.
    expect(page("new-id").helloExtra()).toEqual({ resume: "new-id" });
  });
});
