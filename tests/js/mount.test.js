import { afterEach, describe, expect, it, vi } from "vitest";
import { WidgetManager } from "../../numerous/js/model.js";
import { WidgetMounts, initializeModels, mountPoints, preloadWidgetAssets }
  from "../../numerous/js/mount.js";
import { flush } from "./helpers.js";

/** A widget host that records what it is asked to do. */
function recordingHost() {
  const calls = [];
  return {
    calls,
    injectCss: (url) => calls.push(["css", url]),
    loadModule: (url) => { calls.push(["module", url]); return Promise.reject(new Error("404")); },
    initialize: (model) => calls.push(["initialize", model.model_id]),
    render: async (model, el) => { calls.push(["render", model.model_id, el.id]); },
  };
}

afterEach(() => document.body.replaceChildren());

describe("preloadWidgetAssets", () => {
  it("starts on every stylesheet and module the config names, and a failure is quiet", async () => {
    const host = recordingHost();
    preloadWidgetAssets(host, { styles: ["/a.css"], modules: ["/a.js", "/b.js"] });
    preloadWidgetAssets(host, {}); // a page without widget assets
    await Promise.resolve(); // no unhandled rejection from the failed loads
    expect(host.calls).toEqual([["css", "/a.css"], ["module", "/a.js"], ["module", "/b.js"]]);
  });
});

describe("mountPoints", () => {
  it("lists the mount points of each key in document order", () => {
    document.body.innerHTML = '<div id="x1" data-numerous-widget="x"></div>' +
      '<p><span id="y1" data-numerous-widget="y"></span></p><div id="x2" data-numerous-widget="x">';
    const points = mountPoints(document);
    expect([...points.keys()]).toEqual(["x", "y"]);
    expect(points.get("x").map((el) => el.id)).toEqual(["x1", "x2"]);
  });
});

describe("initializeModels", () => {
  it("initializes every model with front-end code, displayed or not", () => {
    const manager = new WidgetManager();
    manager.open("w", { _esm: "/w.js" });
    manager.open("layout", { _model_name: "LayoutModel" });
    manager.open("empty", { _esm: "" });
    const host = recordingHost();
    initializeModels(manager, host);
    expect(host.calls).toEqual([["initialize", "w"]]);
  });
});

describe("WidgetMounts", () => {
  function setup(html) {
    document.body.innerHTML = html;
    const manager = new WidgetManager();
    manager.open("m1", {});
    const host = recordingHost();
    return { host, mounts: new WidgetMounts(document, manager, host) };
  }

  it("renders each widget into all its mount points, once per page", async () => {
    const { host, mounts } = setup('<div id="a" data-numerous-widget="w"></div>' +
      '<div id="b" data-numerous-widget="w"></div>');
    await mounts.render({ w: "m1" });
    await mounts.render({ w: "m1" }); // a reconnect's ready
    expect(host.calls).toEqual([["render", "m1", "a"], ["render", "m1", "b"]]);
  });

  it("shows an error box where a widget has no model", async () => {
    const { host, mounts } = setup('<div id="a" data-numerous-widget="w"></div>');
    await mounts.render({ w: "gone" });
    expect(document.querySelector("#a .numerous-widget-error").textContent)
      .toBe("The widget 'w' has no model (id gone).");
    expect(host.calls).toEqual([]);
  });

  it("renders a widget whose mount point appears later, at the next ready", async () => {
    const { host, mounts } = setup("");
    await mounts.render({ w: "m1" });
    expect(host.calls).toEqual([]);
    document.body.innerHTML = '<div id="late" data-numerous-widget="w"></div>';
    await mounts.render(undefined);
    await mounts.render({ w: "m1" });
    expect(host.calls).toEqual([["render", "m1", "late"]]);
  });

  it("draws a key again when its model changed, after its old views are torn down", async () => {
    const { host, mounts } = setup('<div id="a" data-numerous-widget="w"></div>');
    let finishDispose;
    const disposed = [];
    host.render = vi.fn(async (model, el) => {
      host.calls.push(["render", model.model_id, el.id]);
      return { dispose: () => new Promise((resolve) => {
        finishDispose = () => { disposed.push(model.model_id); resolve(); };
      }) };
    });
    mounts.manager.open("m2", {});
    await mounts.render({ w: "m1" });
    const swapping = mounts.render({ w: "m2" }); // dev mode: a reloaded app's session
    await Promise.resolve();
    await Promise.resolve();
    expect(host.calls).toEqual([["render", "m1", "a"]]); // not before m1's view is gone
    finishDispose();
    await swapping;
    expect(disposed).toEqual(["m1"]);
    expect(host.calls).toEqual([["render", "m1", "a"], ["render", "m2", "a"]]);
    await mounts.render({ w: "m2" }); // and then once, as always
    expect(host.calls).toHaveLength(2);
  });

  it("clears an error box when its key gets a model", async () => {
    const { host, mounts } = setup('<div id="a" data-numerous-widget="w"></div>');
    await mounts.render({ w: "gone" });
    await mounts.render({ w: "m1" });
    expect(document.querySelector("#a .numerous-widget-error")).toBeNull();
    expect(host.calls).toEqual([["render", "m1", "a"]]);
  });

  it("settles when every new view is rendered", async () => {
    const { host, mounts } = setup('<div id="a" data-numerous-widget="w"></div>');
    let finish;
    host.render = vi.fn(() => new Promise((resolve) => { finish = resolve; }));
    let settled = false;
    mounts.render({ w: "m1" }).then(() => { settled = true; });
    await Promise.resolve();
    expect(settled).toBe(false);
    finish();
    await flush();
    expect(settled).toBe(true);
  });
});
