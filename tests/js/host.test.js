import { beforeEach, describe, expect, it, vi } from "vitest";
import { WidgetHost, resolveWidget } from "../../numerous/js/host.js";
import { WidgetManager } from "../../numerous/js/model.js";
import { bytes, flush } from "./helpers.js";

let sent;
let manager;
let modules;
let host;
let errors;

beforeEach(() => {
  document.head.replaceChildren();
  document.body.replaceChildren();
  sent = [];
  manager = new WidgetManager({ send: (msg, buffers) => { sent.push({ msg, buffers }); return true; } });
  modules = {};
  errors = [];
  host = new WidgetHost({
    importModule: vi.fn(async (url) => {
      if (!(url in modules)) throw new Error(`no module ${url}`);
      return modules[url];
    }),
    onError: (err, model) => errors.push([err, model]),
  });
});

function open(id, esm, state = {}) {
  return manager.open(id, { _esm: esm, _css: "", ...state }).model;
}

function mount(name = "w") {
  const el = document.createElement("div");
  el.dataset.name = name;
  document.body.append(el);
  return el;
}

describe("resolveWidget", () => {
  it("accepts the anywidget module shapes", async () => {
    const render = () => {};
    const initialize = () => {};
    expect(await resolveWidget({ default: { render } })).toEqual({ render });
    expect(await resolveWidget({ default: () => ({ render }) })).toEqual({ render });
    expect(await resolveWidget({ default: async () => ({ initialize }) })).toEqual({ initialize });
    expect(await resolveWidget({ render })).toEqual({ render, initialize: undefined });
    await expect(resolveWidget({})).rejects.toThrow(/default/);
    await expect(resolveWidget({ default: () => 3 })).rejects.toThrow(/object/);
  });
});

describe("WidgetHost lifecycle", () => {
  it("initializes once per model, before its first render, and renders once per view", async () => {
    const log = [];
    modules["/w.js"] = { default: {
      initialize: ({ model }) => { log.push(`init ${model.get("n")}`); },
      render: ({ model, el }) => { log.push(`render ${model.get("n")}`); el.textContent = "hi"; },
    } };
    const a = open("a", "/w.js", { n: "a" });
    const b = open("b", "/w.js", { n: "b" });
    const [el1, el2, el3] = [mount(), mount(), mount()];
    await Promise.all([host.render(a, el1), host.render(a, el2), host.render(b, el3)]);
    expect(log).toEqual(["init a", "init b", "render a", "render a", "render b"]);
    expect(el1.textContent).toBe("hi");
    expect(host._import).toHaveBeenCalledTimes(1); // one module load per URL
  });

  it("supports async hooks and async cleanups, render cleanups before initialize's", async () => {
    const log = [];
    modules["/w.js"] = { default: {
      async initialize() {
        await flush(1);
        log.push("init");
        return async () => { log.push("init cleanup"); };
      },
      async render({ el }) {
        log.push(`render ${el.dataset.name}`);
        return () => log.push(`render cleanup ${el.dataset.name}`);
      },
    } };
    const m = open("m", "/w.js");
    const [el1, el2] = [mount("1"), mount("2")];
    await host.render(m, el1);
    await host.render(m, el2);
    await host.closeModel(m);
    expect(log).toEqual(["init", "render 1", "render 2", "render cleanup 1", "render cleanup 2",
      "init cleanup"]);
  });

  it("removes the listeners a widget added, per view and for initialize", async () => {
    const seen = [];
    modules["/w.js"] = { default: {
      initialize: ({ model }) => { model.on("change:v", () => seen.push("init")); },
      render: ({ model, el }) => { model.on("change:v", () => seen.push(el.dataset.name)); },
    } };
    const m = open("m", "/w.js", { v: 0 });
    const own = vi.fn();
    m.on("change:v", own); // not the widget's: stays
    const el1 = mount("1");
    const view = await host.render(m, el1);
    await host.render(m, mount("2"));
    m.set("v", 1);
    expect(seen).toEqual(["init", "1", "2"]);
    await view.dispose();
    expect(el1.childNodes).toHaveLength(0);
    m.set("v", 2);
    expect(seen).toEqual(["init", "1", "2", "init", "2"]);
    await host.closeModel(m);
    m.set("v", 3);
    expect(seen).toHaveLength(5);
    expect(own).toHaveBeenCalledTimes(3);
  });

  it("calls a default-export factory once per model", async () => {
    const factory = vi.fn(() => ({ render: ({ el }) => { el.textContent = "f"; } }));
    modules["/f.js"] = { default: factory };
    const a = open("a", "/f.js");
    await host.render(a, mount());
    await host.render(a, mount());
    await host.render(open("b", "/f.js"), mount());
    expect(factory).toHaveBeenCalledTimes(2);
  });

  it("supports an async factory", async () => {
    modules["/f.js"] = { default: async () => ({ render: ({ el }) => { el.textContent = "async"; } }) };
    const el = mount();
    await host.render(open("a", "/f.js"), el);
    expect(el.textContent).toBe("async");
  });

  it("supports the legacy named exports", async () => {
    const log = [];
    modules["/n.js"] = {
      initialize: () => { log.push("init"); },
      render: ({ el }) => { log.push("render"); el.textContent = "named"; },
    };
    const el = mount();
    await host.render(open("a", "/n.js"), el);
    expect(log).toEqual(["init", "render"]);
    expect(el.textContent).toBe("named");
  });

  it("injects each distinct _css URL once and skips empty ones", async () => {
    modules["/w.js"] = { default: { render() {} } };
    await host.render(open("a", "/w.js", { _css: "/a.css" }), mount());
    await host.render(open("b", "/w.js", { _css: "/a.css" }), mount());
    await host.render(open("c", "/w.js", { _css: "/c.css" }), mount());
    await host.render(open("d", "/w.js", { _css: "" }), mount());
    const links = [...document.head.querySelectorAll("link[rel=stylesheet]")];
    expect(links.map((l) => l.getAttribute("href"))).toEqual(["/a.css", "/c.css"]);
  });

  it("shows a failing render in its element and still renders the others", async () => {
    modules["/bad.js"] = { default: { render() { throw new Error("<b>bad</b> widget"); } } };
    modules["/good.js"] = { default: { render: ({ el }) => { el.textContent = "good"; } } };
    const bad = mount();
    const good = mount();
    const badModel = open("bad", "/bad.js");
    await Promise.all([host.render(badModel, bad), host.render(open("good", "/good.js"), good)]);
    const box = bad.querySelector(".numerous-widget-error");
    expect(box.textContent).toContain("<b>bad</b> widget"); // as text, never as HTML
    expect(bad.querySelector("b")).toBeNull();
    expect(good.textContent).toBe("good");
    expect(errors).toHaveLength(1);
    expect(errors[0][1]).toBe(badModel);
  });

  it("can initialize a model without a view; a later render does not initialize again", async () => {
    const log = [];
    modules["/w.js"] = { default: {
      initialize: () => { log.push("init"); },
      render: () => { log.push("render"); },
    } };
    const m = open("m", "/w.js");
    await host.initialize(m);
    expect(log).toEqual(["init"]);
    await host.render(m, mount());
    expect(log).toEqual(["init", "render"]);
  });

  it("reports a failed load once per model however many views show it", async () => {
    const m = open("m", "/missing.js");
    const [el1, el2] = [mount(), mount()];
    await host.initialize(m);
    await host.render(m, el1);
    await host.render(m, el2);
    expect(el1.textContent).toContain("failed to load");
    expect(el2.textContent).toContain("no module /missing.js");
    expect(errors).toHaveLength(1);
  });

  it("shows a module that fails to load, or a model without _esm, in every view", async () => {
    const el = mount();
    await host.render(open("a", "/missing.js"), el);
    expect(el.textContent).toContain("no module /missing.js");
    const el2 = mount();
    await host.render(manager.open("z", {}).model, el2);
    expect(el2.textContent).toContain("no _esm");
  });

  it("cleans up a view whose model closed while it rendered", async () => {
    let finish;
    const cleanup = vi.fn();
    modules["/slow.js"] = { default: { render: () => new Promise((r) => { finish = r; }) } };
    const m = open("m", "/slow.js");
    const pending = host.render(m, mount());
    await flush();
    await host.closeModel(m);
    finish(cleanup);
    await pending;
    expect(cleanup).toHaveBeenCalledTimes(1);
  });

  it("teardown cleans up every model", async () => {
    const cleanups = [];
    modules["/w.js"] = { default: {
      initialize: ({ model }) => () => cleanups.push(`init ${model.get("n")}`),
      render: ({ model }) => () => cleanups.push(`render ${model.get("n")}`),
    } };
    await host.render(open("a", "/w.js", { n: "a" }), mount());
    await host.render(open("b", "/w.js", { n: "b" }), mount());
    await host.teardown();
    expect(cleanups).toEqual(["render a", "init a", "render b", "init b"]);
  });

  it("gives hooks an experimental.invoke that rejects and an abort signal", async () => {
    let ctx;
    modules["/w.js"] = { default: { render(c) { ctx = c; } } };
    const m = open("a", "/w.js");
    await host.render(m, mount());
    await expect(ctx.experimental.invoke("x")).rejects.toThrow(/not supported/);
    expect(ctx.signal.aborted).toBe(false);
    await host.closeModel(m);
    expect(ctx.signal.aborted).toBe(true);
  });
});

describe("messages and references", () => {
  it("passes custom messages with buffers both ways", async () => {
    let received;
    modules["/w.js"] = { default: { render({ model }) {
      model.on("msg:custom", (content, buffers) => {
        received = { content, buffers };
        model.send({ echo: content.n }, undefined, [new Uint8Array([4, 5])]);
      });
    } } };
    const m = open("m", "/w.js");
    await host.render(m, mount());
    m._receiveCustom({ n: 1 }, [new DataView(new Uint8Array([1, 2]).buffer)]);
    expect(received.content).toEqual({ n: 1 });
    expect(bytes(received.buffers[0])).toEqual([1, 2]);
    expect(sent[0].msg).toEqual({ type: "custom", id: "m", content: { echo: 1 }, seq: 1 });
    expect(bytes(sent[0].buffers[0])).toEqual([4, 5]);
  });

  it("lets a widget render a child by reference through widget_manager.get_model", async () => {
    modules["/parent.js"] = { default: { async render({ model, el }) {
      const child = await model.widget_manager.get_model(model.get("child"));
      const show = () => { el.textContent = `child says ${child.get("value")}`; };
      child.on("change:value", show);
      show();
    } } };
    const parent = open("p", "/parent.js", { child: "IPY_MODEL_c" });
    const el = mount();
    const rendering = host.render(parent, el);
    await flush();
    const child = open("c", "/child.js", { value: 1 }); // opened after the parent asked
    await rendering;
    expect(el.textContent).toBe("child says 1");
    child._applyServer({ value: 2 }, 0);
    expect(el.textContent).toBe("child says 2");
  });

  it("renders child views through host.getWidget, ending with the parent's view", async () => {
    const log = [];
    modules["/child.js"] = { default: {
      initialize: () => ({ kind: "child-exports" }),
      render: ({ model, el }) => {
        el.textContent = `child ${model.get("value")}`;
        return () => log.push("child cleanup");
      },
    } };
    modules["/parent.js"] = { default: { async render({ model, el, host: h }) {
      const widget = await h.getWidget(model.get("child"));
      log.push(widget.exports.kind);
      const slot = document.createElement("span");
      el.append(slot);
      await widget.render({ el: slot });
      return () => log.push("parent cleanup");
    } } };
    open("c", "/child.js", { value: 7 });
    const parent = open("p", "/parent.js", { child: "anywidget:c" });
    const el = mount();
    const view = await host.render(parent, el);
    expect(el.textContent).toBe("child 7");
    await view.dispose();
    expect(log[0]).toBe("child-exports");
    expect(log.slice(1).sort()).toEqual(["child cleanup", "parent cleanup"]);
    expect(el.childNodes).toHaveLength(0);
  });
});

describe("default module loader", () => {
  it("imports _esm with import(url), once per URL", async () => {
    const real = new WidgetHost();
    const model = manager.open("f", { _esm: "/tests/js/fixtures/widget.js", _css: "", value: 3 }).model;
    const el = mount();
    await real.render(model, el);
    expect(el.textContent).toBe("fixture 3");
    expect(real.loadModule("/tests/js/fixtures/widget.js"))
      .toBe(real.loadModule("/tests/js/fixtures/widget.js"));
  });
});
