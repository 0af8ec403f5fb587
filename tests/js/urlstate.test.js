import { describe, expect, it } from "vitest";
import { WidgetManager } from "../../numerous/js/model.js";
import { bindQuery, fromParam, toParam } from "../../numerous/js/urlstate.js";

/** A window with an address bar and a history stack, as far as urlstate.js uses one. */
function fakeWindow(href) {
  const entries = [href];
  let index = 0;
  const listeners = new Set();
  const win = {
    location: { get href() { return entries[index]; } },
    history: {
      state: null,
      pushState(_s, _t, url) { entries.splice(index + 1); entries.push(url); index += 1; },
      replaceState(_s, _t, url) { entries[index] = url; },
    },
    addEventListener: (_e, fn) => listeners.add(fn),
    removeEventListener: (_e, fn) => listeners.delete(fn),
    go(delta) { index += delta; for (const fn of listeners) fn({}); },
    entries,
  };
  return win;
}

function setup(history = "replace", href = "http://x/?fruit=Plums") {
  const sent = [];
  const manager = new WidgetManager({ send: (msg) => { sent.push(msg); return true; } });
  const { model: fruit } = manager.open("f", { value: "Plums" });
  const { model: qty } = manager.open("q", { value: 5 });
  const win = fakeWindow(href);
  const undo = bindQuery([
    { id: "f", trait: "value", param: "fruit", history },
    { id: "q", trait: "value", param: "qty", history },
  ], manager, win);
  return { fruit, qty, win, sent, undo };
}

describe("query parameters and trait values", () => {
  it("writes text as it is and other values as JSON, and reads them back alike", () => {
    expect(toParam("5")).toBe("5");
    expect(toParam(5)).toBe("5");
    expect(toParam([1, 2])).toBe("[1,2]");
    expect(fromParam("5", "text")).toBe("5");
    expect(fromParam("5", 1)).toBe(5);
    expect(fromParam("true", false)).toBe(true);
    expect(fromParam("not json", 1)).toBe("not json");
  });
});

describe("bindQuery", () => {
  it("replaces the address when a bound trait changes, keeping the other parameters", () => {
    const { qty, win } = setup();
    qty.set("value", 7);
    expect(win.location.href).toBe("http://x/?fruit=Plums&qty=7");
    expect(win.entries).toHaveLength(1);
  });

  it("pushes a history entry per change when the app asks for it", () => {
    const { fruit, win } = setup("push");
    fruit.set("value", "Kiwis");
    fruit.set("value", "Pears");
    expect(win.entries).toEqual(["http://x/?fruit=Plums", "http://x/?fruit=Kiwis",
      "http://x/?fruit=Pears"]);
  });

  it("sets the bound traits from the URL on back and forward, and tells the server", () => {
    const { fruit, qty, win, sent } = setup("push");
    fruit.set("value", "Kiwis");
    qty.set("value", 9);
    win.go(-1);
    expect(qty.get("value")).toBe(5); // absent from that URL: the value the page opened with
    expect(fruit.get("value")).toBe("Kiwis");
    win.go(-1);
    expect(fruit.get("value")).toBe("Plums");
    expect(win.entries).toHaveLength(3); // restoring pushed nothing
    expect(sent.filter((m) => m.type === "update").length).toBe(2);
  });

  it("stops when undone", () => {
    const { fruit, win, undo } = setup();
    undo();
    fruit.set("value", "Kiwis");
    expect(win.location.href).toBe("http://x/?fruit=Plums");
  });
});
