// Shared test doubles: a scriptable WebSocket and frame helpers.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeFrame, encodeMessage } from "../../numerous/js/protocol.js";

/** A fresh mock WebSocket class; `Mock.instances` lists the sockets the code under test made. */
export function mockWebSocketClass() {
  class MockWebSocket {
    static instances = [];
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.binaryType = "blob";
      this.sent = [];
      this.closedBy = null;
      MockWebSocket.instances.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error("send on a socket that is not open");
      this.sent.push(data);
    }
    close(code = 1000, reason = "") {
      if (this.readyState >= 2) return;
      this.readyState = 3;
      this.closedBy = { code, reason };
      this.onclose?.({ code: 1006, reason: "" });
    }
    // --- the server's side ---
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
    receive(msg, buffers = []) {
      this.onmessage?.({ data: encodeMessage(msg, buffers) });
    }
    serverClose(code, reason = "") {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    }
    /** The decoded frames sent by the client. */
    get messages() {
      return this.sent.map((data) => decodeFrame(data).msg);
    }
    get frames() {
      return this.sent.map((data) => decodeFrame(data));
    }
  }
  return MockWebSocket;
}

export const pageLocation = { protocol: "http:", host: "example.test:8000", pathname: "/app/",
  search: "?q=1" };

/** Let pending promise callbacks run. */
export async function flush(times = 10) {
  for (let i = 0; i < times; i++) await Promise.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Bytes of a DataView / buffer as a plain array, for assertions. */
export function bytes(value) {
  if (value instanceof ArrayBuffer) return [...new Uint8Array(value)];
  return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
}

// Not `new URL(..., import.meta.url)`: under jsdom, URL is jsdom's and Node's fs refuses it.
const templates = join(dirname(fileURLToPath(import.meta.url)), "../../numerous/apps/templates");

/** A built-in fragment as the server renders it with its defaults (Jinja comments dropped). */
export function fragment(name) {
  const text = readFileSync(join(templates, name), "utf8");
  return text
    .replace(/\{#[\s\S]*?#\}/g, "")
    .replace(/\{\{[^}]*default\("([^"]*)"\)\s*\}\}/g, "$1");
}

/** The body of a page: mount points for `keys` plus the built-in fragments. */
export function pageBody(keys) {
  const mounts = keys.map((k) =>
    `<div id="${k}" class="numerous-widget" data-numerous-widget="${k}"></div>`).join("\n");
  return [mounts, fragment("splash_screen.html.j2"), fragment("error_modal.html.j2"),
    fragment("session_lost_banner.html.j2")].join("\n");
}
