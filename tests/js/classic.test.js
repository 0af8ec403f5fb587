import { beforeEach, describe, expect, it, vi } from "vitest";
import { ClassicWidgets, loadAmd } from "../../numerous/js/classic.js";
import { WidgetHost, describe as describeError, isClassic } from "../../numerous/js/host.js";
import { WidgetManager } from "../../numerous/js/model.js";
import { explainPolicyViolation } from "../../numerous/js/policy.js";
import { flush } from "./helpers.js";

let manager;

beforeEach(() => {
  document.head.replaceChildren();
  document.body.replaceChildren();
  manager = new WidgetManager();
});

function model(state) {
  return manager.open(String(manager.models.size + 1), state).model;
}

/** A document whose scripts "run" `body(define)` when appended, as a browser would. */
function scriptDocument(bodies) {
  const doc = document.implementation.createHTMLDocument("t");
  const win = {};
  Object.defineProperty(doc, "defaultView", { value: win });
  const append = doc.head.append.bind(doc.head);
  doc.head.append = (script) => {
    append(script);
    setTimeout(() => {
      const body = bodies[script.src.replace(/^.*\//, "/")];
      if (!body) return script.onerror?.(new Event("error"));
      body(win.define);
      script.onload?.(new Event("load"));
    }, 0);
  };
  return { doc, win };
}

describe("isClassic", () => {
  it("is a model without _esm whose model module is not base's or anywidget's", () => {
    expect(isClassic(model({ _model_module: "@jupyter-widgets/controls" }))).toBe(true);
    expect(isClassic(model({ _model_module: "jupyter-matplotlib" }))).toBe(true);
    expect(isClassic(model({ _model_module: "@jupyter-widgets/base" }))).toBe(false);
    expect(isClassic(model({ _model_module: "anywidget", _esm: "/a.js" }))).toBe(false);
    expect(isClassic(model({ _model_module: "x", _esm: "/a.js" }))).toBe(false);
    expect(isClassic(model({}))).toBe(false);
  });
});

describe("loadAmd", () => {
  it("runs an nbextension's define with its dependencies and restores define", async () => {
    const { doc, win } = scriptDocument({
      "/lib.js": (define) => define(["@jupyter-widgets/base", "module"],
        (base, module) => ({ View: `${base.name} view`, uri: module.uri })),
    });
    const require = vi.fn(async (name) => ({ name }));
    const lib = await loadAmd(doc, "http://x.test/lib.js", require);
    expect(lib.View).toBe("@jupyter-widgets/base view");
    expect(lib.uri).toBe("http://x.test/lib.js");
    expect(win.define).toBeUndefined();
    expect(doc.head.querySelector("script")).toBeNull();
  });

  it("rejects when the script fails or defines nothing, and the next load still works", async () => {
    const { doc } = scriptDocument({ "/empty.js": () => {},
      "/ok.js": (define) => define([], () => ({ ok: true })) });
    await expect(loadAmd(doc, "http://x.test/missing.js", vi.fn())).rejects.toThrow(/could not/);
    await expect(loadAmd(doc, "http://x.test/empty.js", vi.fn())).rejects.toThrow(/no AMD/);
    expect(await loadAmd(doc, "http://x.test/ok.js", vi.fn())).toEqual({ ok: true });
  });
});

describe("ClassicWidgets", () => {
  it("loads the bundle and its stylesheet once, on first use", async () => {
    const render = vi.fn(async (_m, el) => { el.textContent = "slider"; return () => {}; });
    const bundle = { createClassicManager: vi.fn(() => ({ adopt: async () => ({}), render })) };
    const importModule = vi.fn(async () => bundle);
    const host = new WidgetHost({ importModule });
    const classic = new ClassicWidgets({ config: { module: "/b.js", style: "/b.css" },
      store: manager, host });
    host.classic = { isClassic, widgetDef: (m) => classic.widgetDef(m) };
    const slider = model({ _model_module: "@jupyter-widgets/controls", _model_name: "IntSliderModel" });
    const el = document.createElement("div");
    await host.render(slider, el);
    await host.render(slider, document.createElement("div"));
    expect(el.textContent).toBe("slider");
    expect(importModule).toHaveBeenCalledTimes(1);
    expect(bundle.createClassicManager).toHaveBeenCalledTimes(1);
    expect(document.head.querySelector("link").getAttribute("href")).toBe("/b.css");
  });

  it("names the library a page cannot serve", async () => {
    const classic = new ClassicWidgets({ config: { module: "/b.js", libraries: {} },
      store: manager, host: new WidgetHost() });
    await expect(classic._library({}, "jupyter-thing")).rejects.toThrow(/'jupyter-thing'/);
  });

  it("without a bundle on the page, says so instead of loading anything", async () => {
    const host = new WidgetHost({ onError: () => {} });
    const classic = new ClassicWidgets({ config: undefined, store: manager, host });
    host.classic = { isClassic, widgetDef: (m) => classic.widgetDef(m) };
    const el = document.createElement("div");
    await host.render(model({ _model_module: "@jupyter-widgets/controls" }), el);
    await flush();
    expect(el.textContent).toMatch(/cannot show classic Jupyter widgets/);
  });
});

describe("describe", () => {
  it("names the setting when the page's CSP refused eval", () => {
    const err = new Error("Evaluating a string as JavaScript violates ... 'unsafe-eval'");
    err.name = "EvalError";
    expect(describeError(err)).toMatch(/SecurityPolicy\(allow_eval=True\)/);
    expect(describeError(new Error("plain"))).toBe("plain");
  });
});

describe("explainPolicyViolation", () => {
  it("names the SecurityPolicy setting for what the page refused", () => {
    expect(explainPolicyViolation({ blockedURI: "https://esm.sh/vega-embed@7",
      effectiveDirective: "script-src-elem" }))
      .toMatch(/SecurityPolicy\(script_sources=\["https:\/\/esm.sh"\]\)/);
    expect(explainPolicyViolation({ blockedURI: "eval", effectiveDirective: "script-src" }))
      .toMatch(/allow_eval=True/);
    expect(explainPolicyViolation({ blockedURI: "https://api.x.org/q",
      effectiveDirective: "connect-src" })).toMatch(/connect_sources=\["https:\/\/api.x.org"\]/);
  });
});
