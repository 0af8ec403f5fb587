import { describe, expect, it } from "vitest";
import { CLOSE_CODE, MSG, PROTOCOL_VERSION, decodeFrame, encodeMessage, putBuffers,
  splitBuffers } from "../../numerous/js/protocol.js";
import { bytes } from "./helpers.js";
import reference from "../protocol/frames.json";

// --- reference frames, shared with tests/unit/test_protocol.py ---------------------------

const fromHex = (hex) => new Uint8Array(hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
const toHex = (frame) => [...new Uint8Array(frame)].map((b) => b.toString(16).padStart(2, "0"))
  .join("");
const frameOf = (entry) => ("text" in entry ? entry.text : fromHex(entry.binary).buffer);
const named = (list) => list.map((entry) => [entry.name, entry]);

describe("the reference frames", () => {
  it("name this protocol version and its close codes", () => {
    expect(PROTOCOL_VERSION).toBe(reference.protocol);
    expect({ ...CLOSE_CODE }).toEqual(reference.close_codes);
  });

  it("cover exactly the message types the client knows", () => {
    const types = [...reference.client, ...reference.server].map((e) => e.message.type);
    expect(new Set(types)).toEqual(new Set(Object.values(MSG)));
  });

  it.each(named(reference.client))("client %s: the client encodes it exactly", (_, entry) => {
    const frame = encodeMessage(entry.message, entry.buffers.map(fromHex));
    if ("text" in entry) expect(frame).toBe(entry.text);
    else expect(toHex(frame)).toBe(entry.binary);
  });

  it.each(named([...reference.client, ...reference.server]))("%s: decodes to its message",
    (_, entry) => {
      const { msg, buffers } = decodeFrame(frameOf(entry));
      expect(msg).toEqual(entry.message);
      expect(buffers.map((b) => toHex(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))))
        .toEqual(entry.buffers);
    });

  it.each(named(reference.server.filter((e) => e.buffers.length && e.message.buffer_paths)))(
    "server %s: its buffers go back into the state", (_, entry) => {
      const { msg, buffers } = decodeFrame(frameOf(entry));
      putBuffers(msg.state, msg.buffer_paths, buffers);
      msg.buffer_paths.forEach((path, i) => {
        const value = path.reduce((target, step) => target[step], msg.state);
        expect(toHex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)))
          .toBe(entry.buffers[i]);
      });
    });

  it.each(named(reference.malformed))("malformed %s: is refused", (_, entry) => {
    expect(() => decodeFrame(frameOf(entry))).toThrow();
  });
});

describe("constants", () => {
  it("match the protocol document", () => {
    expect(PROTOCOL_VERSION).toBe(1);
    expect(MSG.HELLO).toBe("hello");
    expect(MSG.DEV_ERROR).toBe("dev_error");
    expect(CLOSE_CODE).toMatchObject({ BAD_HELLO: 4400, UNAUTHORIZED: 4401, SESSION_UNKNOWN: 4404,
      TOO_SLOW: 4408, REPLACED: 4409, GOING_AWAY: 1001 });
  });
});

describe("encodeMessage / decodeFrame", () => {
  it("uses a text frame without buffers", () => {
    const frame = encodeMessage({ type: "update", id: "a", state: { x: "é" }, seq: 1 });
    expect(typeof frame).toBe("string");
    expect(decodeFrame(frame)).toEqual({ msg: { type: "update", id: "a", state: { x: "é" }, seq: 1 },
      buffers: [] });
  });

  it("lays out a binary frame as the spec says", () => {
    const frame = encodeMessage({ type: "custom" }, [new Uint8Array([1, 2, 3]), new ArrayBuffer(2)]);
    expect(frame).toBeInstanceOf(ArrayBuffer);
    const view = new DataView(frame);
    const json = new TextEncoder().encode('{"type":"custom"}');
    expect(view.getUint32(0, true)).toBe(3);
    const header = 4 + 4 * 3;
    expect(view.getUint32(4, true)).toBe(header);
    expect(view.getUint32(8, true)).toBe(header + json.length);
    expect(view.getUint32(12, true)).toBe(header + json.length + 3);
    expect(frame.byteLength).toBe(header + json.length + 3 + 2);
    expect(bytes(new DataView(frame, header, json.length))).toEqual([...json]);
  });

  it("round-trips buffers of every binary type as DataViews", () => {
    const big = new Float64Array([1.5, -2]);
    const sub = new Uint8Array([9, 8, 7, 6]).subarray(1, 3); // a view with an offset
    const frame = encodeMessage({ type: "custom", content: { a: [1] } },
      [big, sub, new DataView(new Uint8Array([5]).buffer), new Uint8Array([]).buffer]);
    const { msg, buffers } = decodeFrame(frame);
    expect(msg).toEqual({ type: "custom", content: { a: [1] } });
    expect(buffers).toHaveLength(4);
    buffers.forEach((b) => expect(b).toBeInstanceOf(DataView));
    expect(buffers[0].getFloat64(0, true)).toBe(1.5);
    expect(buffers[0].getFloat64(8, true)).toBe(-2);
    expect(bytes(buffers[1])).toEqual([8, 7]);
    expect(bytes(buffers[2])).toEqual([5]);
    expect(buffers[3].byteLength).toBe(0);
  });

  it("decodes a frame given as a typed array view", () => {
    const frame = encodeMessage({ type: "x" }, [new Uint8Array([1])]);
    const padded = new Uint8Array(frame.byteLength + 4);
    padded.set(new Uint8Array(frame), 4);
    const { msg, buffers } = decodeFrame(padded.subarray(4));
    expect(msg.type).toBe("x");
    expect(bytes(buffers[0])).toEqual([1]);
  });

  it("rejects malformed frames", () => {
    expect(() => decodeFrame("[1]")).toThrow(/JSON object/);
    expect(() => decodeFrame('{"no":"type"}')).toThrow(/type/);
    expect(() => decodeFrame("{")).toThrow();
    expect(() => decodeFrame(new ArrayBuffer(3))).toThrow(/too short/);
    const bad = new DataView(new ArrayBuffer(12));
    bad.setUint32(0, 5, true);
    expect(() => decodeFrame(bad.buffer)).toThrow(/part count/);
    const offsets = new DataView(encodeMessage({ type: "x" }, [new Uint8Array([1])]));
    offsets.setUint32(4, 0, true);
    expect(() => decodeFrame(offsets.buffer)).toThrow(/offsets/);
    expect(() => decodeFrame(42)).toThrow(/unsupported/);
  });
});

describe("splitBuffers / putBuffers", () => {
  it("leaves a state without buffers untouched", () => {
    const state = { a: 1, b: [1, { c: "x" }] };
    const out = splitBuffers(state);
    expect(out.state).toBe(state);
    expect(out.buffer_paths).toEqual([]);
    expect(out.buffers).toEqual([]);
  });

  it("pulls nested buffers out without touching the input", () => {
    const a = new Uint8Array([1]);
    const b = new DataView(new ArrayBuffer(2));
    const c = new ArrayBuffer(3);
    const state = { plain: 1, a, nested: { list: [0, b, { c }] }, other: { keep: true } };
    const out = splitBuffers(state);
    expect(out.state).toEqual({ plain: 1, a: null, nested: { list: [0, null, { c: null }] },
      other: { keep: true } });
    expect(out.state.other).toBe(state.other); // untouched branches are shared
    expect(state.a).toBe(a);
    expect(state.nested.list[1]).toBe(b);
    expect(out.buffer_paths).toEqual([["a"], ["nested", "list", 1], ["nested", "list", 2, "c"]]);
    expect(out.buffers).toEqual([a, b, c]);
  });

  it("puts buffers back at their paths", () => {
    const { state, buffer_paths, buffers } = splitBuffers({ x: [new Uint8Array([7])],
      y: { z: new Uint8Array([8]) } });
    const frame = encodeMessage({ type: "update", state, buffer_paths }, buffers);
    const { msg, buffers: views } = decodeFrame(frame);
    const back = putBuffers(msg.state, msg.buffer_paths, views);
    expect(bytes(back.x[0])).toEqual([7]);
    expect(bytes(back.y.z)).toEqual([8]);
  });

  it("rejects paths that do not fit", () => {
    const dv = new DataView(new ArrayBuffer(1));
    expect(() => putBuffers({}, [["a", "b"]], [dv])).toThrow(/does not fit/);
    expect(() => putBuffers({}, [[]], [dv])).toThrow(/non-empty/);
    expect(() => putBuffers({}, [["a"]], [])).toThrow(/differ/);
    expect(putBuffers({ a: 1 })).toEqual({ a: 1 });
  });
});

describe("decodeFrame buffers", () => {
  it("gives each buffer an ArrayBuffer of its own, as Jupyter does", () => {
    const floats = new Float64Array([1.5, 2.5]);
    const frame = encodeMessage({ type: "update" }, [new Uint8Array([1, 2, 3]), floats]);
    const { buffers } = decodeFrame(frame);
    expect(buffers[0].buffer.byteLength).toBe(3);
    expect(Array.from(new Float64Array(buffers[1].buffer))).toEqual([1.5, 2.5]);
  });
});
