import { beforeEach, describe, expect, it, vi } from "vitest";
import { WidgetManager } from "../../numerous/js/model.js";
import { ModelSync, withBuffers } from "../../numerous/js/sync.js";
import { bytes } from "./helpers.js";

let sent;
let host;
let manager;
let sync;

beforeEach(() => {
  sent = [];
  manager = new WidgetManager({ send: (msg) => { sent.push(msg); return true; } });
  host = { closeModel: vi.fn(async () => { host.closedWhileOpen = manager.models.size; }) };
  sync = new ModelSync(manager, host);
});

const open = (id, state, extra = {}) => sync.open({ type: "open", id, state, buffer_paths: [],
  ...extra }, []);

describe("withBuffers", () => {
  it("puts buffers into the state, and drops a frame whose buffers do not fit", () => {
    const state = withBuffers({ type: "open", state: { a: null }, buffer_paths: [["a"]] },
      [new Uint8Array([4])]);
    expect(bytes(state.a)).toEqual([4]);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(withBuffers({ type: "update", state: {}, buffer_paths: [["a"]] }, [])).toBeNull();
    expect(error).toHaveBeenCalledWith(expect.stringContaining("'update'"), expect.any(Error));
  });
});

describe("ModelSync", () => {
  it("opens models and applies updates to them", () => {
    open("m1", { value: 1 });
    sync.update({ type: "update", id: "m1", state: { value: 2 }, buffer_paths: [], ack: 0 }, []);
    expect(manager.get("m1").get("value")).toBe(2);
  });

  it("drops frames with bad buffers and updates for unknown models", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const debug = vi.spyOn(console, "debug").mockImplementation(() => {});
    sync.open({ type: "open", id: "m1", state: {}, buffer_paths: [["x"]] }, []);
    expect(manager.get("m1")).toBeUndefined();
    sync.update({ type: "update", id: "m9", state: { value: 1 }, buffer_paths: [] }, []);
    expect(debug).toHaveBeenCalledWith(expect.stringContaining("m9"));
  });

  it("hands custom messages with their buffers to the model's listeners", () => {
    open("m1", {});
    const heard = vi.fn();
    manager.get("m1").on("msg:custom", heard);
    sync.custom({ type: "custom", id: "m1", content: { ping: 1 } }, [new Uint8Array([7])]);
    expect(heard).toHaveBeenCalledWith({ ping: 1 }, [new Uint8Array([7])]);
    sync.custom({ type: "custom", id: "nobody", content: {} }, []); // no model: nothing happens
  });

  it("closes a model after its views' cleanups ran", async () => {
    open("m1", {});
    await sync.close("m1");
    expect(host.closedWhileOpen).toBe(1);
    expect(manager.get("m1")).toBeUndefined();
    await sync.close("m1"); // already gone
    expect(host.closeModel).toHaveBeenCalledTimes(1);
  });

  it("reports the first ready as first, later ones not", () => {
    expect(sync.ready(0)).toBe(true);
    expect(sync.ready(0)).toBe(false);
  });

  it("on a reconnect, applies a snapshot with its ack at ready, keeping newer changes", () => {
    open("m1", { value: 0, label: "a" });
    sync.ready(0);
    manager.get("m1").set("value", 5);
    manager.get("m1").save_changes(); // seq 1, never acknowledged
    sync.begin();
    open("m1", { value: 0, label: "a" }); // the server's snapshot without our change
    sync.update({ type: "update", id: "m1", state: { label: "b" }, buffer_paths: [] }, []);
    expect(manager.get("m1").get("label")).toBe("a"); // deferred until ready
    sync.ready(0);
    expect(manager.get("m1").get("value")).toBe(5);
    expect(manager.get("m1").get("label")).toBe("b");
    expect(sent.at(-1)).toEqual({ type: "update", id: "m1", state: { value: 5 }, seq: 2 });
  });

  it("on a reconnect, closes the models the new snapshot does not have", async () => {
    open("m1", {});
    open("m2", {});
    sync.ready(0);
    sync.begin();
    open("m1", {});
    sync.ready(0);
    await Promise.resolve();
    await Promise.resolve();
    expect([...manager.models.keys()]).toEqual(["m1"]);
    expect(host.closeModel).toHaveBeenCalledWith(expect.objectContaining({ model_id: "m2" }));
  });

  it("forgets a snapshot that a new connection interrupted", () => {
    open("m1", { value: 0 });
    sync.ready(0);
    sync.begin();
    open("m1", { value: 9 }); // deferred, then the connection drops again
    sync.begin();
    open("m1", { value: 3 });
    sync.ready(0);
    expect(manager.get("m1").get("value")).toBe(3);
  });
});
