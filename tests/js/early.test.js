// The page's inline script (early.js, as built into numerous/js/bundle/early.js) opens the
// WebSocket before the client loads, and the client's Connection takes it over.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Connection } from "../../numerous/js/connection.js";
import { encodeMessage } from "../../numerous/js/protocol.js";
import { mockWebSocketClass, pageLocation } from "./helpers.js";

const script = readFileSync(join(__dirname, "../../numerous/js/bundle/early.js"), "utf8");
const config = { protocol: 1, session: "S1", base: "/app", ws: "/app/numerous/ws", grace: 60 };

let WS;

/** Run the early script in the page, as the browser runs it first in the head. */
function runEarly() {
  // eslint-disable-next-line no-new-func
  new Function(script)();
}

/** The parser reaches the page config (a MutationObserver sees it in a later microtask). */
async function parseConfig(value = config) {
  const el = document.createElement("script");
  el.type = "application/json";
  el.id = "numerous-config";
  el.textContent = JSON.stringify(value);
  document.body.append(el);
  await Promise.resolve();
  await Promise.resolve();
}

beforeEach(() => {
  WS = mockWebSocketClass();
  vi.stubGlobal("WebSocket", WS);
  sessionStorage.clear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  delete window.__numerousEarly;
  document.body.replaceChildren();
});

describe("early.js", () => {
  it("opens the socket once the config is parsed and says hello when it opens", async () => {
    sessionStorage.setItem("numerous-kept:/app", JSON.stringify({ d1: {}, d2: {} }));
    runEarly();
    expect(WS.instances).toHaveLength(0); // no config yet
    await parseConfig();
    expect(WS.instances).toHaveLength(1);
    const [socket] = WS.instances;
    expect(socket.url).toBe(`ws://${location.host}/app/numerous/ws`);
    expect(socket.binaryType).toBe("arraybuffer");
    socket.open();
    const early = window.__numerousEarly;
    expect(socket.messages).toEqual([{ type: "hello", protocol: 1, session: "S1",
      page: early.page, url: location.pathname + location.search, have: ["d1", "d2"] }]);
    socket.receive({ type: "ready", widgets: {}, ack: 0 });
    expect(early.frames).toHaveLength(1);
    socket.serverClose(4404, "gone");
    expect(early.closed).toEqual({ code: 4404, reason: "gone" });
  });

  it("leaves a page that may offer values or name a lost session to the client", async () => {
    runEarly();
    await parseConfig({ ...config, restore: true });
    expect(WS.instances).toHaveLength(0);
    expect(window.__numerousEarly).toBeUndefined();
  });
});

describe("Connection taking over the early socket", () => {
  function connection(early) {
    const received = [];
    const statuses = [];
    const conn = new Connection(config, { WebSocket: WS, location: pageLocation, early,
      onMessage: (msg) => received.push(msg), onStatus: (status) => statuses.push(status) });
    conn.start();
    return { conn, received, statuses };
  }

  it("handles what an open early socket received, then the rest, without a second socket", () => {
    const ws = new WS("ws://x/app/numerous/ws");
    ws.open();
    const early = { ws, page: "EARLY", closed: null,
      frames: [encodeMessage({ type: "open", id: "a", state: {}, buffer_paths: [] })] };
    const { conn, received, statuses } = connection(early);
    expect(WS.instances).toHaveLength(1);
    expect(conn.pageId).toBe("EARLY");
    expect(statuses).toEqual(["connecting", "syncing"]);
    expect(early.frames).toEqual([]);
    ws.receive({ type: "ready", widgets: {}, ack: 0 });
    expect(received.map((m) => m.type)).toEqual(["open", "ready"]);
    expect(conn.status).toBe("ready");
    conn.send({ type: "update", id: "a", state: {}, seq: 1 });
    expect(ws.messages.at(-1)).toMatchObject({ type: "update", id: "a" });
  });

  it("says hello itself on a socket still connecting", () => {
    const ws = new WS("ws://x/app/numerous/ws");
    const { conn, statuses } = connection({ ws, page: "EARLY", frames: [], closed: null });
    expect(conn.status).toBe("connecting");
    ws.open();
    expect(ws.messages).toEqual([{ type: "hello", protocol: 1, session: "S1", page: "EARLY",
      url: "/app/?q=1" }]);
    expect(statuses).toEqual(["connecting", "syncing"]);
  });

  it("reconnects after an early socket that closed, and gives up on one whose session is gone", () => {
    vi.useFakeTimers();
    try {
      const dropped = new WS("ws://x");
      dropped.readyState = 3;
      const { conn } = connection({ ws: dropped, page: "P", frames: [],
        closed: { code: 1006, reason: "" } });
      expect(conn.status).toBe("waiting");
      vi.runOnlyPendingTimers();
      expect(WS.instances).toHaveLength(2); // a socket of its own
      expect(WS.instances[1].url).toBe("ws://example.test:8000/app/numerous/ws");

      const gone = new WS("ws://x");
      gone.readyState = 3;
      expect(connection({ ws: gone, page: "P", frames: [], closed: { code: 4404 } })
        .conn.status).toBe("lost");
    } finally {
      vi.useRealTimers();
    }
  });
});
