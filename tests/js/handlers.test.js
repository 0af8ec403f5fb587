import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { dispatch, messageHandlers, readyHandler, reportError, statusHandler }
  from "../../numerous/js/handlers.js";
import { WidgetManager } from "../../numerous/js/model.js";
import { MSG } from "../../numerous/js/protocol.js";
import { showDevOverlay } from "../../numerous/js/ui.js";
import { flush, pageBody } from "./helpers.js";

/** The parts the handlers act on, as fakes that record what they are asked. */
function fakeParts(overrides = {}) {
  const manager = new WidgetManager();
  const calls = [];
  let finishViews;
  const parts = {
    calls,
    finishViews: () => finishViews(),
    app: { config: { widgets: { w: "m1" }, dev: false }, manager,
      host: { initialize: (model) => calls.push(["initialize", model.model_id]) } },
    resolveReady: vi.fn(),
    sync: { ready: vi.fn(() => parts.sync.ready.mock.calls.length === 1), begin: vi.fn(),
      open: vi.fn(), update: vi.fn(), custom: vi.fn(), close: vi.fn(async () => {}) },
    mounts: { render: vi.fn(() => new Promise((resolve) => { finishViews = resolve; })) },
    recovery: { lost: vi.fn(), track: vi.fn() },
    reload: vi.fn(),
    doc: document,
    ...overrides,
  };
  return parts;
}

const splash = () => document.getElementById("numerous-splash");

beforeEach(() => {
  document.body.innerHTML = pageBody(["w"]);
  delete document.documentElement.dataset.numerousReady;
});
afterEach(() => {
  document.body.replaceChildren();
  document.getElementById("numerous-dev-overlay")?.remove();
});

describe("dispatch", () => {
  it("calls the handler of the message's type with its buffers", () => {
    const open = vi.fn();
    dispatch({ open }, { type: "open", id: "m1" }, ["buffer"]);
    expect(open).toHaveBeenCalledWith({ type: "open", id: "m1" }, ["buffer"]);
  });

  it("logs an unknown type, and a handler that fails, and carries on", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const failure = new Error("boom");
    dispatch({}, { type: "future" }, []);
    dispatch({ close: async () => { throw failure; } }, { type: "close" }, []);
    await flush();
    expect(warn).toHaveBeenCalledWith("[numerous] unknown message type 'future'");
    expect(error).toHaveBeenCalledWith("[numerous] handling 'close' failed", failure);
  });
});

describe("reportError", () => {
  it("logs every error; only a callback's error in dev mode opens the modal", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const modal = document.getElementById("numerous-error-modal");
    reportError({ code: "callback_error", message: "boom" }, false, document);
    reportError({ code: "invalid_value", id: "m1", message: "bad" }, true, document);
    expect(modal.hidden).toBe(true);
    expect(error).toHaveBeenCalledWith("[numerous] invalid_value (widget m1): bad", "");
    reportError({ code: "callback_error", message: "boom", traceback: "tb" }, true, document);
    expect(modal.hidden).toBe(false);
    expect(error).toHaveBeenCalledTimes(3);
  });
});

describe("readyHandler", () => {
  it("the first time, marks the page ready only once the views are rendered", async () => {
    const parts = fakeParts();
    parts.app.manager.open("m1", { _esm: "/w.js" });
    const done = readyHandler(parts)({ ack: 3 });
    expect(parts.sync.ready).toHaveBeenCalledWith(3);
    expect(parts.mounts.render).toHaveBeenCalledWith({ w: "m1" }); // the config's widgets
    expect(parts.calls).toEqual([["initialize", "m1"]]);
    expect(parts.recovery.track).toHaveBeenCalledWith({ w: "m1" }, parts.app.manager);
    await flush();
    expect(splash().hidden).toBe(false);
    expect(parts.resolveReady).not.toHaveBeenCalled();
    parts.finishViews();
    await done;
    expect(splash().hidden).toBe(true);
    expect(document.documentElement.dataset.numerousReady).toBe("true");
    expect(parts.resolveReady).toHaveBeenCalledWith(parts.app);
  });

  it("after a reconnect, renders what is new and drops the dev overlay, nothing more", async () => {
    const parts = fakeParts();
    const ready = readyHandler(parts);
    const first = ready({ widgets: { w: "m1" } });
    parts.finishViews();
    await first;
    showDevOverlay("SyntaxError", "", document);
    await ready({ widgets: { w: "m1" }, ack: 1 });
    expect(parts.mounts.render).toHaveBeenLastCalledWith({ w: "m1" });
    expect(document.getElementById("numerous-dev-overlay")).toBeNull();
    expect(parts.recovery.track).toHaveBeenCalledTimes(1);
    expect(parts.resolveReady).toHaveBeenCalledTimes(1);
    // Dev mode's swap to a reloaded app's session: new models, whose values are kept now.
    await ready({ widgets: { w: "m3", v: "m2" }, ack: 0 });
    expect(parts.mounts.render).toHaveBeenLastCalledWith({ w: "m3", v: "m2" });
    expect(parts.recovery.track).toHaveBeenLastCalledWith({ w: "m3", v: "m2" }, parts.app.manager);
    expect(parts.app.config.widgets).toEqual({ w: "m3", v: "m2" });
    expect(parts.resolveReady).toHaveBeenCalledTimes(1);
  });
});

describe("messageHandlers", () => {
  it("route model frames to the sync, and session_lost to the recovery", () => {
    const parts = fakeParts();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const handlers = messageHandlers(parts);
    for (const type of [MSG.OPEN, MSG.UPDATE, MSG.CUSTOM]) {
      handlers[type]({ type, id: "m1" }, ["b"]);
    }
    handlers[MSG.CLOSE]({ type: MSG.CLOSE, id: "m1" });
    expect(parts.sync.open).toHaveBeenCalledWith({ type: MSG.OPEN, id: "m1" }, ["b"]);
    expect(parts.sync.update).toHaveBeenCalledWith({ type: MSG.UPDATE, id: "m1" }, ["b"]);
    expect(parts.sync.custom).toHaveBeenCalledWith({ type: MSG.CUSTOM, id: "m1" }, ["b"]);
    expect(parts.sync.close).toHaveBeenCalledWith("m1");
    handlers[MSG.SESSION_LOST]({ type: MSG.SESSION_LOST, reason: "ended" });
    expect(parts.recovery.lost).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith("[numerous] session lost: ended");
  });

  it("dev mode: dev_error shows the overlay, reload removes it and reloads", () => {
    const parts = fakeParts();
    const handlers = messageHandlers(parts);
    handlers[MSG.DEV_ERROR]({ type: MSG.DEV_ERROR, message: "NameError", traceback: "tb" });
    expect(document.getElementById("numerous-dev-overlay").textContent).toContain("NameError");
    handlers[MSG.RELOAD]({ type: MSG.RELOAD });
    expect(document.getElementById("numerous-dev-overlay")).toBeNull();
    expect(parts.reload).toHaveBeenCalledTimes(1);
  });

  it("notice: shows its text (as text) in one banner, replaced by the next, dismissable", () => {
    const handlers = messageHandlers(fakeParts());
    handlers[MSG.NOTICE]({ type: MSG.NOTICE, text: "<b>first</b>" });
    handlers[MSG.NOTICE]({ type: MSG.NOTICE, text: "Maintenance at six" });
    const notices = document.querySelectorAll("#numerous-notice");
    expect(notices).toHaveLength(1);
    expect(notices[0].textContent).toContain("Maintenance at six");
    expect(notices[0].querySelector("b")).toBeNull();
    notices[0].querySelector("button").click();
    expect(document.getElementById("numerous-notice")).toBeNull();
  });
});

describe("download", () => {
  it("clicks a hidden link to the session's URL with the file's name, then removes it", () => {
    const handlers = messageHandlers(fakeParts());
    const clicked = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function () {
      clicked.push({ href: this.getAttribute("href"), name: this.download,
        attached: this.isConnected });
    });
    handlers[MSG.DOWNLOAD]({ type: MSG.DOWNLOAD, url: "/app/numerous/files/download/t0k",
      filename: "r\u00e9sum\u00e9.csv" });
    expect(clicked).toEqual([{ href: "/app/numerous/files/download/t0k",
      name: "r\u00e9sum\u00e9.csv", attached: true }]);
    expect(document.querySelectorAll("a")).toHaveLength(0);
    click.mockRestore();
  });

  it("follows no URL off this site", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    const handlers = messageHandlers(fakeParts());
    for (const url of ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", 7]) {
      handlers[MSG.DOWNLOAD]({ type: MSG.DOWNLOAD, url, filename: "x" });
    }
    expect(click).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledTimes(4);
    click.mockRestore();
    warn.mockRestore();
  });
});

describe("statusHandler", () => {
  it("starts a new snapshot when syncing, hands a lost session on, and logs notices", () => {
    const parts = fakeParts();
    const info = vi.spyOn(console, "info").mockImplementation(() => {});
    const onStatus = statusHandler(parts.sync, parts.recovery);
    onStatus("syncing");
    expect(parts.sync.begin).toHaveBeenCalledTimes(1);
    onStatus("waiting", { code: 1006 });
    expect(info).toHaveBeenCalledWith("[numerous] disconnected; reconnecting", 1006);
    onStatus("replaced");
    expect(info).toHaveBeenLastCalledWith(expect.stringContaining("newer connection"));
    expect(parts.recovery.lost).not.toHaveBeenCalled();
    onStatus("lost");
    expect(parts.recovery.lost).toHaveBeenCalledTimes(1);
  });
});
