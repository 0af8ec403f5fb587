import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readConfig, start } from "../../numerous/js/main.js";
import { bytes, flush, mockWebSocketClass, pageBody, pageLocation } from "./helpers.js";

/** Timers the test fires by hand, with a clock to match. */
function manualTimers() {
  let next = 0;
  const pending = new Map();
  const timers = {
    time: 0,
    setTimeout(fn, ms) { next += 1; pending.set(next, { fn, at: timers.time + ms }); return next; },
    clearTimeout(id) { pending.delete(id); },
    /** Fire the earliest timer, moving the clock to it. */
    fireNext() {
      const [id, t] = [...pending].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (!id) return false;
      pending.delete(id);
      timers.time = Math.max(timers.time, t.at);
      t.fn();
      return true;
    },
  };
  return timers;
}

const counter = {
  default: {
    initialize({ model }) { log.push(`init ${model.get("label")}`); },
    render({ model, el }) {
      log.push(`render ${model.get("label")}`);
      const button = document.createElement("button");
      const show = () => { button.textContent = `${model.get("label")}: ${model.get("value")}`; };
      button.addEventListener("click", () => {
        model.set("value", model.get("value") + 1);
        model.save_changes();
      });
      model.on("change:value", show);
      model.on("msg:custom", (content, buffers) => log.push(["custom", content, bytes(buffers[0])]));
      show();
      el.append(button);
      return () => log.push(`cleanup ${model.get("label")}`);
    },
  },
};

let log;
let WS;
let timers;
let reload;

const config = { protocol: 1, session: "sess", base: "", ws: "/numerous/ws",
  widgets: { counter: "c1", other: "c2" }, dev: false, grace: 60 };

function boot(overrides = {}, options = {}) {
  document.body.innerHTML = pageBody(["counter", "other"]);
  return start({ ...config, ...overrides }, {
    WebSocket: WS, timers, now: () => timers.time, random: () => 0, location: pageLocation,
    importModule: async (url) => ({ "/assets/counter.js": counter }[url]), reload, ...options,
  });
}

const socket = () => WS.instances.at(-1);
const state = (label, value) => ({ label, value, _esm: "/assets/counter.js", _css: "" });

/** The server's side of connecting: hello in, snapshot out. */
async function snapshot(models, ack = 0, widgets = config.widgets) {
  socket().open();
  for (const [id, s] of Object.entries(models)) {
    socket().receive({ type: "open", id, state: s, buffer_paths: [] });
  }
  socket().receive({ type: "ready", widgets, ack });
  await flush();
}

const button = (key) => document.querySelector(`[data-numerous-widget="${key}"] button`);

beforeEach(() => {
  vi.spyOn(console, "info").mockImplementation(() => {}); // "reconnecting" notices
  log = [];
  WS = mockWebSocketClass();
  timers = manualTimers();
  reload = vi.fn();
  sessionStorage.clear();
  delete document.documentElement.dataset.numerousReady;
});

afterEach(() => {
  document.body.replaceChildren();
  document.getElementById("numerous-dev-overlay")?.remove();
});

describe("start", () => {
  it("connects, renders every widget on ready, and marks the page ready", async () => {
    const app = boot();
    expect(window.numerous).toBe(app);
    expect(document.getElementById("numerous-splash").hidden).toBe(false);
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    expect(socket().messages[0]).toMatchObject({ type: "hello", protocol: 1, session: "sess",
      url: "/app/?q=1", have: [] });
    expect(button("counter").textContent).toBe("Count: 0");
    expect(button("other").textContent).toBe("Other: 5");
    expect(log).toEqual(["init Count", "init Other", "render Count", "render Other"]);
    expect(document.getElementById("numerous-splash").hidden).toBe(true);
    expect(document.documentElement.dataset.numerousReady).toBe("true");
    await expect(app.ready).resolves.toBe(app);
    expect(app.models.get("c1").get("value")).toBe(0);
  });

  it("loads the page's widget modules and stylesheets before the socket opens", async () => {
    const imported = [];
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    document.body.innerHTML = pageBody(["counter", "other"]);
    start({ ...config, modules: ["/assets/counter.js", "/assets/missing.js"],
      styles: ["/assets/w.css"] }, {
      WebSocket: WS, timers, now: () => timers.time, random: () => 0, location: pageLocation,
      importModule: async (url) => {
        imported.push(url);
        if (url === "/assets/missing.js") throw new Error("404");
        return counter;
      },
      reload,
    });
    await flush();
    expect(socket().readyState).not.toBe(1); // still connecting
    expect(imported).toEqual(["/assets/counter.js", "/assets/missing.js"]);
    expect([...document.head.querySelectorAll('link[rel="stylesheet"]')]
      .map((link) => link.getAttribute("href"))).toContain("/assets/w.css");
    // Rendering uses the module already loaded; a module that failed early is tried again.
    await snapshot({ c1: state("Count", 0),
      c2: { label: "Other", value: 5, _esm: "/assets/missing.js", _css: "" } });
    expect(imported.filter((url) => url === "/assets/counter.js")).toHaveLength(1);
    expect(imported.filter((url) => url === "/assets/missing.js")).toHaveLength(2);
    expect(button("counter").textContent).toBe("Count: 0");
    expect(errors).toHaveBeenCalled(); // the widget whose module is missing says so
  });

  it("sends user changes and applies server updates with change events", async () => {
    const app = boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    button("counter").click();
    expect(button("counter").textContent).toBe("Count: 1");
    expect(socket().messages.at(-1)).toEqual({ type: "update", id: "c1", state: { value: 1 },
      seq: 1 });
    const changed = vi.fn();
    app.models.get("c1").on("change:value", changed);
    socket().receive({ type: "update", id: "c1", state: { value: 10 }, buffer_paths: [], ack: 1 });
    expect(changed).toHaveBeenCalledWith(app.models.get("c1"), 10);
    expect(button("counter").textContent).toBe("Count: 10");
  });

  it("ignores a stale server value for a trait the user changed since (ack rule)", async () => {
    boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    button("counter").click(); // seq 1
    button("counter").click(); // seq 2
    socket().receive({ type: "update", id: "c1", state: { value: 100 }, buffer_paths: [], ack: 1 });
    expect(button("counter").textContent).toBe("Count: 2");
  });

  it("puts buffers of open and update frames into the state", async () => {
    const app = boot();
    socket().open();
    socket().receive({ type: "open", id: "c1", state: { ...state("Count", 0), blob: null },
      buffer_paths: [["blob"]] }, [new Uint8Array([1, 2, 3])]);
    socket().receive({ type: "update", id: "c1", state: { blob: null }, buffer_paths: [["blob"]],
      ack: 0 }, [new Uint8Array([9])]);
    expect(bytes(app.models.get("c1").get("blob"))).toEqual([9]);
  });

  it("delivers server custom messages with buffers to the widget", async () => {
    boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().receive({ type: "custom", id: "c1", content: { ping: 1 } }, [new Uint8Array([7])]);
    expect(log.at(-1)).toEqual(["custom", { ping: 1 }, [7]]);
  });

  it("tears a closed model's views down", async () => {
    const app = boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().receive({ type: "close", id: "c2" });
    await flush();
    expect(log).toContain("cleanup Other");
    expect(button("other")).toBeNull();
    expect(app.models.has("c2")).toBe(false);
  });

  it("initializes widget models that are not displayed, skipping models without _esm", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const app = boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5), hidden: state("Hidden", 0),
      layout: { _model_name: "LayoutModel", width: "10px" } });
    await flush();
    expect(log).toContain("init Hidden");
    expect(log).not.toContain("render Hidden");
    expect(error).not.toHaveBeenCalled();
    expect(app.models.get("layout").get("width")).toBe("10px");
  });

  it("warns when the page was made for another protocol version, and still connects", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    boot();
    expect(warn).not.toHaveBeenCalled();
    boot({ protocol: 99 });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/page protocol 99, client \d+/));
    expect(WS.instances).toHaveLength(2);
  });

  it("shows an error box for a widget key without a model", async () => {
    boot();
    await snapshot({ c1: state("Count", 0) });
    const mount = document.querySelector('[data-numerous-widget="other"]');
    expect(mount.querySelector(".numerous-widget-error").textContent).toContain("other");
    expect(button("counter")).not.toBeNull();
  });
});

describe("reconnect", () => {
  it("updates models from the new snapshot without rendering again", async () => {
    const app = boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    const changed = vi.fn();
    app.models.get("c2").on("change:value", changed);
    socket().serverClose(1006);
    expect(timers.fireNext()).toBe(true);
    expect(WS.instances).toHaveLength(2);
    await snapshot({ c1: state("Count", 0), c2: state("Other", 6) }, 0);
    expect(log.filter((l) => String(l).startsWith("render"))).toHaveLength(2);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(button("other").textContent).toBe("Other: 6");
  });

  it("re-sends unacknowledged changes after ready, coalesced, and keeps them on screen", async () => {
    const app = boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().serverClose(1006);
    button("counter").click(); // while disconnected: seq 1, value 1
    button("counter").click(); // seq 2, value 2
    app.models.get("c2").set("label", "Renamed");
    app.models.get("c2").save_changes(); // seq 3
    timers.fireNext();
    // The server never saw those changes (ack 0): its snapshot has the old values.
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) }, 0);
    expect(button("counter").textContent).toBe("Count: 2");
    const sent = socket().messages.slice(1);
    expect(sent).toEqual([
      { type: "update", id: "c1", state: { value: 2 }, seq: 4 },
      { type: "update", id: "c2", state: { label: "Renamed" }, seq: 5 },
    ]);
  });

  it("takes the snapshot's value for changes the server already processed", async () => {
    boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    button("counter").click(); // seq 1 sent
    socket().serverClose(1006);
    timers.fireNext();
    // The server processed seq 1 and a callback changed the value to 50.
    await snapshot({ c1: state("Count", 50), c2: state("Other", 5) }, 1);
    expect(button("counter").textContent).toBe("Count: 50");
    expect(socket().messages.slice(1)).toEqual([]);
  });

  it("closes models that are not in the new snapshot", async () => {
    const app = boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().serverClose(1006);
    timers.fireNext();
    await snapshot({ c1: state("Count", 0) }, 0);
    expect(log).toContain("cleanup Other");
    expect(app.models.has("c2")).toBe(false);
  });

  it("shows the banner when the grace period runs out", async () => {
    boot({ grace: 2 });
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().serverClose(1006);
    while (timers.fireNext()) socket().serverClose(1006);
    expect(document.getElementById("numerous-session-lost").hidden).toBe(false);
  });

  it("stops without a banner when replaced by a newer connection (4409)", async () => {
    boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().serverClose(4409);
    expect(timers.fireNext()).toBe(false);
    expect(document.getElementById("numerous-session-lost").hidden).toBe(true);
    expect(console.info).toHaveBeenCalledWith(expect.stringContaining("newer connection"));
  });
});

describe("a reload", () => {
  it("is sent the names of the states it kept, and rebuilds them with the new model ids", async () => {
    const first = boot();
    socket().open();
    const layout = { _model_name: "LayoutModel", width: "3em" };
    socket().receive({ type: "open", id: "L1", state: layout, buffer_paths: [], d: "dL" });
    socket().receive({ type: "open", id: "c1", buffer_paths: [], d: "dC", ids: ["L1"],
      state: { ...state("Count", 0), layout: "IPY_MODEL_L1" } });
    socket().receive({ type: "ready", widgets: { counter: "c1" }, ack: 0 });
    await flush();
    await first.teardown();

    const second = boot({ session: "cached" }); // the browser's copy: the old session's id
    socket().open();
    expect(socket().messages[0]).toMatchObject({ session: "cached" });
    expect(socket().messages[0].have.sort()).toEqual(["dC", "dL"]);
    socket().receive({ type: "open", id: "L2", ref: "dL", ack: 0 });
    socket().receive({ type: "open", id: "c2", ref: "dC", ids: ["L2"], ack: 0 });
    socket().receive({ type: "ready", widgets: { counter: "c2" }, ack: 0, session: "fresh" });
    await flush();
    expect(second.config.session).toBe("fresh");
    expect(second.models.get("L2").get("width")).toBe("3em");
    expect(second.models.get("c2").get("layout")).toBe("IPY_MODEL_L2");
    expect(button("counter").textContent).toBe("Count: 0");
    await second.teardown();

    boot(); // only what the last snapshot used is kept
    socket().open();
    expect(socket().messages[0].have.sort()).toEqual(["dC", "dL"]);
  });

  it("of a page the browser showed from its cache reloads once when its session is gone", async () => {
    boot({}, { fromCache: () => true });
    socket().open();
    socket().receive({ type: "session_lost", reason: "This session has ended." });
    socket().serverClose(4404);
    expect(reload).toHaveBeenCalledTimes(1);
    expect(document.getElementById("numerous-session-lost").hidden).toBe(true);

    boot({}, { fromCache: () => true }); // and again at once: the banner, not a loop
    socket().open();
    socket().serverClose(4404);
    expect(reload).toHaveBeenCalledTimes(1);
    expect(document.getElementById("numerous-session-lost").hidden).toBe(false);
  });
});

describe("dev mode: new code for the same page", () => {
  it("swaps the new session's widgets in over a new socket, without reloading", async () => {
    const fetch = vi.fn(async () => ({ status: 304 }));
    const app = boot({ dev: true }, { fetch, location: { ...pageLocation, href: "http://app/x?q=1" } });
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    button("counter").click();
    const first = socket();
    const hello = first.messages[0];

    first.receive({ type: "reload", tag: 'W/"t1"' });
    await flush();
    expect(fetch).toHaveBeenCalledWith("http://app/x?q=1", expect.objectContaining({
      cache: "no-store", headers: { "If-None-Match": 'W/"t1"', "X-Numerous-Swap": "1" } }));
    expect(reload).not.toHaveBeenCalled();
    expect(first.readyState).toBe(3); // the old socket is closed, a new one opens at once
    expect(socket()).not.toBe(first);
    socket().open();
    expect(socket().messages[0]).toMatchObject({ type: "hello", session: "sess", page: hello.page });
    socket().receive({ type: "open", id: "n1", state: state("Clicks", 1), buffer_paths: [] });
    socket().receive({ type: "open", id: "n2", state: state("Other", 5), buffer_paths: [] });
    socket().receive({ type: "ready", widgets: { counter: "n1", other: "n2" }, ack: 0,
      session: "new" });
    await flush();

    expect(app.config.session).toBe("new");
    expect(app.config.widgets).toEqual({ counter: "n1", other: "n2" });
    expect([...app.models.keys()].sort()).toEqual(["n1", "n2"]); // the old models closed
    // Each mount point shows the new model's view, once; the old views' cleanups ran first.
    expect(document.querySelectorAll('[data-numerous-widget="counter"] button')).toHaveLength(1);
    expect(button("counter").textContent).toBe("Clicks: 1");
    expect(log).toContain("cleanup Count");
    expect(log.indexOf("cleanup Count")).toBeLessThan(log.indexOf("render Clicks"));
    button("counter").click();
    expect(socket().messages.at(-1)).toMatchObject({ type: "update", id: "n1",
      state: { value: 2 } });
  });

  it("reloads when the page changed, when asking fails, and when no tag is named", async () => {
    const fetch = vi.fn(async () => ({ status: 200 }));
    boot({ dev: true }, { fetch, location: { ...pageLocation, href: "http://app/" } });
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().receive({ type: "reload", tag: 'W/"t1"' }); // the template changed: a new page
    await flush();
    expect(reload).toHaveBeenCalledTimes(1);
    fetch.mockRejectedValueOnce(new Error("offline"));
    vi.spyOn(console, "debug").mockImplementation(() => {});
    socket().receive({ type: "reload", tag: 'W/"t1"' });
    await flush();
    expect(reload).toHaveBeenCalledTimes(2);
    socket().receive({ type: "reload" }); // a template or static edit
    await flush();
    expect(reload).toHaveBeenCalledTimes(3);
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});

describe("server notices", () => {
  it("session_lost shows the banner, whose button reloads", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().receive({ type: "session_lost", reason: "This session has ended." });
    socket().serverClose(4404);
    const banner = document.getElementById("numerous-session-lost");
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain("This session has ended."); // the template's text
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("This session has ended."));
    banner.querySelector("[data-numerous-reload]").click();
    expect(reload).toHaveBeenCalledTimes(1);
    expect(timers.fireNext()).toBe(false);
  });

  it("dev_error shows the overlay; the next ready or reload removes it", async () => {
    boot({ dev: true });
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().receive({ type: "dev_error", message: "SyntaxError in app.py",
      traceback: "Traceback...\n  <script>alert(1)</script>" });
    const overlay = document.getElementById("numerous-dev-overlay");
    expect(overlay.textContent).toContain("SyntaxError in app.py");
    expect(overlay.querySelector("pre").textContent).toContain("<script>alert(1)</script>");
    expect(overlay.querySelector("script")).toBeNull();
    socket().receive({ type: "reload" });
    expect(reload).toHaveBeenCalled();
    expect(document.getElementById("numerous-dev-overlay")).toBeNull();
    socket().receive({ type: "dev_error", message: "again", traceback: "" });
    socket().serverClose(1006);
    timers.fireNext();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    expect(document.getElementById("numerous-dev-overlay")).toBeNull();
  });

  it("shows callback errors in the modal in dev mode, with the traceback", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    boot({ dev: true });
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().receive({ type: "error", code: "callback_error", id: "c1",
      message: "ValueError: <nope>", traceback: "Traceback (most recent call last): ..." });
    const modal = document.getElementById("numerous-error-modal");
    expect(modal.hidden).toBe(false);
    expect(modal.querySelector("[data-numerous-error-message]").textContent)
      .toBe("ValueError: <nope>");
    const tb = modal.querySelector("[data-numerous-error-traceback]");
    expect(tb.hidden).toBe(false);
    expect(tb.textContent).toContain("Traceback");
    modal.querySelector("[data-numerous-error-close]").click();
    expect(modal.hidden).toBe(true);
    socket().receive({ type: "error", code: "callback_error", message: "again" });
    expect(modal.hidden).toBe(false);
    expect(tb.hidden).toBe(true);
    expect(error).toHaveBeenCalled();
  });

  it("only logs errors outside dev mode", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    boot();
    await snapshot({ c1: state("Count", 0), c2: state("Other", 5) });
    socket().receive({ type: "error", code: "callback_error", message: "An error occurred" });
    socket().receive({ type: "error", code: "invalid_value", id: "c1", message: "bad" });
    expect(document.getElementById("numerous-error-modal").hidden).toBe(true);
    expect(error).toHaveBeenCalledTimes(2);
  });
});

describe("readConfig", () => {
  it("reads the JSON config element", () => {
    document.body.innerHTML =
      '<script id="numerous-config" type="application/json">{"ws": "/x", "widgets": {}}</script>';
    expect(readConfig()).toEqual({ ws: "/x", widgets: {} });
    document.body.replaceChildren();
    expect(() => readConfig()).toThrow(/numerous-config/);
  });
});
