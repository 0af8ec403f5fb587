// The wire format between browser and server. docs/protocol.md describes it in prose and
// numerous/apps/_protocol.py is the server's side; the three must agree, and the reference
// frames in tests/protocol/frames.json, read by both sides' tests, hold them to it.

export const PROTOCOL_VERSION = 1;

/** Message types, both directions. */
export const MSG = Object.freeze({
  HELLO: "hello",
  OPEN: "open",
  READY: "ready",
  UPDATE: "update",
  CUSTOM: "custom",
  CLOSE: "close",
  SYNC: "sync",
  SYNCED: "synced",
  ERROR: "error",
  SESSION_LOST: "session_lost",
  RELOAD: "reload",
  DEV_ERROR: "dev_error",
  NOTICE: "notice",
  DOWNLOAD: "download",
});

/** WebSocket close codes the server uses. */
export const CLOSE_CODE = Object.freeze({
  BAD_HELLO: 4400,
  UNAUTHORIZED: 4401,
  SESSION_UNKNOWN: 4404,
  TOO_SLOW: 4408,
  REPLACED: 4409,
  TOO_MUCH: 4413,
  GOING_AWAY: 1001,
});

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Is `value` binary data that travels as a buffer rather than as JSON?
 * @param {unknown} value
 * @returns {value is ArrayBuffer | ArrayBufferView}
 */
export function isBinary(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/**
 * The bytes of a buffer as a Uint8Array view (no copy).
 * @param {ArrayBuffer | ArrayBufferView} value
 * @returns {Uint8Array}
 */
export function toBytes(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * A text frame for a message without buffers, a binary frame for one with buffers.
 * @param {object} msg a message with a `type`
 * @param {Array<ArrayBuffer | ArrayBufferView>} [buffers]
 * @returns {string | ArrayBuffer}
 */
export function encodeMessage(msg, buffers = []) {
  const text = JSON.stringify(msg);
  if (!buffers.length) return text;
  const parts = [encoder.encode(text), ...buffers.map(toBytes)];
  const header = 4 + 4 * parts.length;
  const total = parts.reduce((sum, part) => sum + part.byteLength, header);
  const frame = new ArrayBuffer(total);
  const view = new DataView(frame);
  const bytes = new Uint8Array(frame);
  view.setUint32(0, parts.length, true);
  let offset = header;
  parts.forEach((part, i) => {
    view.setUint32(4 + 4 * i, offset, true);
    bytes.set(part, offset);
    offset += part.byteLength;
  });
  return frame;
}

/**
 * Parse a frame into its message and buffers. Throws an Error on anything malformed.
 * @param {string | ArrayBuffer | ArrayBufferView} data
 * @returns {{msg: any, buffers: DataView[]}}
 */
export function decodeFrame(data) {
  if (typeof data === "string") return { msg: parseMessage(data), buffers: [] };
  if (!isBinary(data)) throw new Error("unsupported frame type");
  const bytes = toBytes(data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) throw new Error("binary frame too short");
  const count = view.getUint32(0, true);
  const header = 4 + 4 * count;
  if (count < 1 || header > bytes.byteLength) throw new Error("binary frame has a bad part count");
  const offsets = [];
  for (let i = 0; i < count; i++) offsets.push(view.getUint32(4 + 4 * i, true));
  offsets.push(bytes.byteLength);
  if (offsets[0] !== header || offsets.some((o, i) => i > 0 && o < offsets[i - 1])) {
    throw new Error("binary frame has bad offsets");
  }
  const parts = [];
  for (let i = 0; i < count; i++) {
    const start = bytes.byteOffset + offsets[i];
    // Each buffer in an ArrayBuffer of its own, as Jupyter hands them over: widgets (Plotly,
    // bqplot, ipympl) read `view.buffer` whole, e.g. `new Float64Array(view.buffer)`.
    const end = bytes.byteOffset + offsets[i + 1];
    parts.push(i === 0 ? new DataView(bytes.buffer, start, end - start)
      : new DataView(bytes.buffer.slice(start, end)));
  }
  const text = decoder.decode(parts[0]);
  return { msg: parseMessage(text), buffers: parts.slice(1) };
}

function parseMessage(text) {
  const msg = JSON.parse(text);
  const isObject = msg !== null && typeof msg === "object" && !Array.isArray(msg);
  if (!isObject || typeof msg.type !== "string") {
    throw new Error("a message must be a JSON object with a string 'type'");
  }
  return msg;
}

/**
 * Take binary values out of a state object; they are replaced by null. Containers that hold no
 * buffer are returned as they are, the others are copied, so the input is never modified.
 * @param {Record<string, any>} state
 * @returns {{state: Record<string, any>, buffer_paths: Array<Array<string|number>>,
 *   buffers: Array<ArrayBuffer|ArrayBufferView>}}
 */
export function splitBuffers(state) {
  const buffer_paths = [];
  const buffers = [];
  const out = split(state, [], buffer_paths, buffers);
  return { state: out, buffer_paths, buffers };
}

function split(value, path, paths, buffers) {
  if (isBinary(value)) {
    paths.push(path);
    buffers.push(value);
    return null;
  }
  if (Array.isArray(value)) {
    let copy = null;
    value.forEach((item, i) => {
      const next = split(item, [...path, i], paths, buffers);
      if (next !== item) (copy ??= [...value])[i] = next;
    });
    return copy ?? value;
  }
  if (value !== null && typeof value === "object") {
    let copy = null;
    for (const [key, item] of Object.entries(value)) {
      const next = split(item, [...path, key], paths, buffers);
      if (next !== item) (copy ??= { ...value })[key] = next;
    }
    return copy ?? value;
  }
  return value;
}

/**
 * Put buffers back into `state` at `buffer_paths`, in place. Throws on a path that does not fit.
 * @param {Record<string, any>} state
 * @param {Array<Array<string|number>> | undefined} buffer_paths
 * @param {DataView[]} buffers
 * @returns {Record<string, any>} the same state
 */
export function putBuffers(state, buffer_paths = [], buffers = []) {
  if (buffer_paths.length !== buffers.length) {
    throw new Error("buffer_paths and buffers differ in length");
  }
  buffer_paths.forEach((path, i) => {
    if (!Array.isArray(path) || !path.length) {
      throw new Error("a buffer path must be a non-empty list");
    }
    let target = state;
    for (const step of path.slice(0, -1)) {
      target = target?.[step];
    }
    if (target === null || typeof target !== "object") {
      throw new Error(`buffer path ${JSON.stringify(path)} does not fit the state`);
    }
    target[path[path.length - 1]] = buffers[i];
  });
  return state;
}
