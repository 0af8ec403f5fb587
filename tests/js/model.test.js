import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WidgetManager, WidgetModel, isEqual, modelIdFromRef } from "../../numerous/js/model.js";
import { bytes } from "./helpers.js";

function setup(options = {}) {
  const sent = [];
  const manager = new WidgetManager({
    send: (msg, buffers) => { sent.push({ msg, buffers }); return true; }, ...options });
  const { model } = manager.open("m1", { value: 1, label: "a", _esm: "/x.js", _css: "" });
  return { manager, model, sent };
}

describe("WidgetModel get/set and events", () => {
  it("gets and sets traits, including _esm and _css", () => {
    const { model } = setup();
    expect(model.get("value")).toBe(1);
    expect(model.get("_esm")).toBe("/x.js");
    expect(model.get("missing")).toBeUndefined();
    model.set("value", 2);
    expect(model.get("value")).toBe(2);
    expect(model.model_id).toBe("m1");
  });

  it("fires change:<name> with (model, value) then change with (model), at once", () => {
    const { model } = setup();
    const calls = [];
    model.on("change:value", (...args) => calls.push(["change:value", ...args]));
    model.on("change", (...args) => calls.push(["change", ...args]));
    model.set("value", 5);
    expect(calls).toEqual([["change:value", model, 5], ["change", model]]);
  });

  it("sets several traits at once: every change:<name> before one change", () => {
    const { model } = setup();
    const order = [];
    model.on("change:value", () => order.push("value"));
    model.on("change:label", () => order.push("label"));
    model.on("change", () => order.push("change"));
    model.set({ value: 3, label: "b" });
    expect(order).toEqual(["value", "label", "change"]);
  });

  it("fires nothing for an equal value", () => {
    const { model } = setup();
    const cb = vi.fn();
    model.set("obj", { a: [1, 2] });
    model.on("change", cb);
    model.set("obj", { a: [1, 2] });
    model.set("value", 1);
    expect(cb).not.toHaveBeenCalled();
  });

  it("calls the callback with the given context", () => {
    const { model } = setup();
    const ctx = { name: "ctx" };
    let seen;
    model.on("change:value", function () { seen = this; }, ctx);
    model.set("value", 9);
    expect(seen).toBe(ctx);
  });

  it("off() variants remove the right listeners", () => {
    const { model } = setup();
    const a = vi.fn();
    const b = vi.fn();
    const c = vi.fn();
    const ctx = {};
    model.on("change:value", a);
    model.on("change:value", b, ctx);
    model.on("change:label", c);
    model.off("change:value", a);
    model.set("value", 2);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
    model.off(null, null, ctx);
    model.set("value", 3);
    expect(b).toHaveBeenCalledTimes(1);
    model.on("change:value", a);
    model.off("change:value");
    model.set("value", 4);
    model.set("label", "z");
    expect(a).not.toHaveBeenCalled();
    expect(c).toHaveBeenCalledTimes(1);
    model.off();
    model.set("label", "y");
    expect(c).toHaveBeenCalledTimes(1);
  });

  it("supports once() and space-separated event names", () => {
    const { model } = setup();
    const cb = vi.fn();
    model.once("change:value", cb);
    model.set("value", 2);
    model.set("value", 3);
    expect(cb).toHaveBeenCalledTimes(1);
    const both = vi.fn();
    model.on("change:value change:label", both);
    model.set({ value: 4, label: "q" });
    expect(both).toHaveBeenCalledTimes(2);
  });

  it("keeps calling listeners after one throws", () => {
    const { model } = setup();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const after = vi.fn();
    model.on("change:value", () => { throw new Error("boom"); });
    model.on("change:value", after);
    model.set("value", 2);
    expect(after).toHaveBeenCalled();
    expect(error).toHaveBeenCalled();
  });
});

describe("save_changes", () => {
  it("sends the dirty traits as one update with a new seq", () => {
    const { model, sent } = setup();
    model.set("value", 2);
    model.set("label", "b");
    expect(sent).toHaveLength(0); // set alone sends nothing
    model.save_changes();
    expect(sent).toEqual([{ msg: { type: "update", id: "m1", state: { value: 2, label: "b" }, seq: 1 },
      buffers: [] }]);
    model.save_changes(); // nothing dirty
    expect(sent).toHaveLength(1);
    model.set("value", 3);
    model.save_changes();
    expect(sent[1].msg).toEqual({ type: "update", id: "m1", state: { value: 3 }, seq: 2 });
  });

  it("shares one seq counter between updates and custom messages of all models", () => {
    const { manager, model, sent } = setup();
    const { model: other } = manager.open("m2", {});
    model.set("value", 2);
    model.save_changes();
    other.send({ hi: 1 });
    other.set("v", 1);
    other.save_changes();
    expect(sent.map((s) => s.msg.seq)).toEqual([1, 2, 3]);
  });

  it("sends binary values as buffers with buffer_paths", () => {
    const { model, sent } = setup();
    model.set("data", { image: new Uint8Array([1, 2]), meta: "m" });
    model.save_changes();
    expect(sent[0].msg).toEqual({ type: "update", id: "m1", seq: 1,
      state: { data: { image: null, meta: "m" } }, buffer_paths: [["data", "image"]] });
    expect(bytes(sent[0].buffers[0])).toEqual([1, 2]);
    expect(model.get("data").image).toBeInstanceOf(Uint8Array); // local value keeps its buffer
  });

  it("sends a value set again even when equal (in-place mutation)", () => {
    const { model, sent } = setup();
    const list = [1];
    model.set("list", list);
    model.save_changes();
    list.push(2);
    model.set("list", list);
    model.save_changes();
    expect(sent[1].msg.state).toEqual({ list: [1, 2] });
  });
});

describe("send and msg:custom", () => {
  it("sends custom content with buffers of any binary type", () => {
    const { model, sent } = setup();
    model.send({ action: "go" }, undefined, [new Uint8Array([1]), new ArrayBuffer(2)]);
    expect(sent[0].msg).toEqual({ type: "custom", id: "m1", content: { action: "go" }, seq: 1 });
    expect(sent[0].buffers).toHaveLength(2);
  });

  it("delivers server custom messages as (content, buffers)", () => {
    const { model } = setup();
    const cb = vi.fn();
    model.on("msg:custom", cb);
    const dv = new DataView(new ArrayBuffer(1));
    model._receiveCustom({ a: 1 }, [dv]);
    expect(cb).toHaveBeenCalledWith({ a: 1 }, [dv]);
  });

  it("does not send from a closed model", () => {
    const { manager, model, sent } = setup();
    vi.spyOn(console, "warn").mockImplementation(() => {});
    manager.close("m1");
    model.send({});
    model.set("value", 5);
    model.save_changes();
    expect(sent).toEqual([]);
  });
});

describe("server updates and the ack rule", () => {
  it("applies server state with change events, without marking dirty or sending", () => {
    const { model, sent } = setup();
    const cb = vi.fn();
    model.on("change:value", cb);
    model._applyServer({ value: 10 }, 0);
    expect(model.get("value")).toBe(10);
    expect(cb).toHaveBeenCalledWith(model, 10);
    model.save_changes();
    expect(sent).toEqual([]);
  });

  it("ignores a trait whose unacknowledged local change is newer than ack", () => {
    const { model } = setup();
    model.set("value", 2);
    model.save_changes(); // seq 1
    model.set("value", 3);
    model.save_changes(); // seq 2
    model._applyServer({ value: 20, label: "server" }, 1); // made before seq 2 was seen
    expect(model.get("value")).toBe(3);
    expect(model.get("label")).toBe("server"); // other traits still apply
    model._applyServer({ value: 30 }, 2);
    expect(model.get("value")).toBe(30);
    model._applyServer({ value: 31 }, 0); // mark dropped: later values apply
    expect(model.get("value")).toBe(31);
  });

  it("lets the server value win over a change that was never saved", () => {
    const { model, sent } = setup();
    model.set("value", 7);
    model._applyServer({ value: 8 }, 0);
    model.save_changes();
    expect(model.get("value")).toBe(8);
    expect(sent).toEqual([]);
  });

  it("resync forgets acknowledged changes and re-sends the others, coalesced", () => {
    const { model, sent } = setup();
    model.set("value", 2);
    model.save_changes(); // seq 1
    model.set("label", "b");
    model.save_changes(); // seq 2
    model.set("value", 3);
    model.save_changes(); // seq 3
    sent.length = 0;
    model.widget_manager.resync(1);
    expect(sent).toHaveLength(1);
    expect(sent[0].msg).toEqual({ type: "update", id: "m1", state: { label: "b", value: 3 },
      seq: 4 });
    model._applyServer({ value: 9 }, 3); // 4 not yet acknowledged
    expect(model.get("value")).toBe(3);
    sent.length = 0;
    model.widget_manager.resync(4);
    expect(sent).toEqual([]);
  });
});

describe("WidgetManager", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("parses widget references", () => {
    expect(modelIdFromRef("IPY_MODEL_abc")).toBe("abc");
    expect(modelIdFromRef("anywidget:abc")).toBe("abc");
    expect(modelIdFromRef("abc")).toBe("abc");
    expect(() => modelIdFromRef(3)).toThrow();
  });

  it("get_model resolves existing models by id or IPY_MODEL_ reference", async () => {
    const { manager, model } = setup();
    await expect(manager.get_model("m1")).resolves.toBe(model);
    await expect(manager.get_model("IPY_MODEL_m1")).resolves.toBe(model);
    expect(model.widget_manager).toBe(manager);
  });

  it("get_model waits for a model that is not open yet", async () => {
    const { manager } = setup();
    const promise = manager.get_model("IPY_MODEL_late");
    vi.advanceTimersByTime(5000);
    const { model } = manager.open("late", { v: 1 });
    await expect(promise).resolves.toBe(model);
    vi.advanceTimersByTime(10_000); // its timer was cleared
  });

  it("get_model rejects after the timeout with a clear message", async () => {
    const { manager } = setup();
    const promise = manager.get_model("IPY_MODEL_never");
    const assertion = expect(promise).rejects.toThrow(/'never' did not appear within 10 s/);
    vi.advanceTimersByTime(10_000);
    await assertion;
    expect(manager._waiting.size).toBe(0);
  });

  it("open on an existing id applies the state instead of creating a model", () => {
    const { manager, model } = setup();
    const cb = vi.fn();
    model.on("change", cb);
    const again = manager.open("m1", { value: 1, label: "new" });
    expect(again).toEqual({ model, created: false });
    expect(model.get("label")).toBe("new");
    expect(cb).toHaveBeenCalledTimes(1);
  });

  it("close removes the model, fires destroy and drops listeners", () => {
    const { manager, model } = setup();
    const destroy = vi.fn();
    model.on("destroy", destroy);
    expect(manager.close("m1")).toBe(model);
    expect(destroy).toHaveBeenCalled();
    expect(manager.get("m1")).toBeUndefined();
    expect(model.closed).toBe(true);
    expect(manager.close("m1")).toBeUndefined();
  });
});

describe("isEqual", () => {
  it("compares JSON values and buffers structurally", () => {
    expect(isEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(isEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(isEqual([1], { 0: 1 })).toBe(false);
    expect(isEqual(NaN, NaN)).toBe(true);
    expect(isEqual(new Uint8Array([1, 2]), new DataView(new Uint8Array([1, 2]).buffer))).toBe(true);
    expect(isEqual(new Uint8Array([1]), [1])).toBe(false);
    expect(isEqual(null, {})).toBe(false);
  });
});

it("WidgetModel can be built directly", () => {
  const manager = new WidgetManager();
  const model = new WidgetModel("x", { a: 1 }, manager);
  expect(model.get("a")).toBe(1);
});
