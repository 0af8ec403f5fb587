import { describe, expect, it, vi } from "vitest";
import { WidgetManager } from "../../numerous/js/model.js";
import { createRestorer } from "../../numerous/js/restore.js";

function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    items,
  };
}

function setup(now = () => 100_000) {
  vi.useFakeTimers();
  const storage = memoryStorage();
  const manager = new WidgetManager({ send: () => true });
  manager.open("m1", { value: "a", count: 1, _esm: "/x.js", data: new DataView(new ArrayBuffer(2)) });
  const restorer = createRestorer({ base: "/app" }, { storage, timers: globalThis, now });
  return { storage, manager, restorer };
}

describe("createRestorer", () => {
  it("keeps public, JSON-safe values per widget key and follows changes", () => {
    const { storage, manager, restorer } = setup();
    restorer.track({ field: "m1" }, manager);
    expect(JSON.parse(storage.getItem("numerous-restore:/app"))).toEqual(
      { field: { value: "a", count: 1 } });
    manager.get("m1").set("value", "typed");
    vi.advanceTimersByTime(250);
    expect(JSON.parse(storage.getItem("numerous-restore:/app")).field.value).toBe("typed");
    vi.useRealTimers();
  });

  it("offers the stored values once", () => {
    const { storage, restorer } = setup();
    storage.setItem("numerous-restore:/app", JSON.stringify({ field: { value: "x" } }));
    expect(restorer.offer()).toEqual({ field: { value: "x" } });
    expect(restorer.offer()).toBeUndefined();
    vi.useRealTimers();
  });

  it("reloads once, then leaves it to the banner instead of looping", () => {
    let clock = 100_000;
    const { restorer, storage } = setup(() => clock);
    const reload = vi.fn();
    expect(restorer.recover(reload)).toBe(true);
    expect(reload).toHaveBeenCalledTimes(1);
    const again = createRestorer({ base: "/app" }, { storage, now: () => clock + 1_000 });
    expect(again.recover(reload)).toBe(false);
    clock += 60_000;
    const later = createRestorer({ base: "/app" }, { storage, now: () => clock });
    expect(later.recover(reload)).toBe(true);
    vi.useRealTimers();
  });
});
