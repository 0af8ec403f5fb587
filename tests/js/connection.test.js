import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Connection, backoffDelay, socketUrl } from "../../numerous/js/connection.js";
import { mockWebSocketClass, pageLocation } from "./helpers.js";

const config = { ws: "/app/numerous/ws", session: "S3CRET", grace: 60 };

function setup(overrides = {}) {
  const WS = mockWebSocketClass();
  const received = [];
  const statuses = [];
  const conn = new Connection({ ...config, ...overrides.config }, {
    WebSocket: WS, location: pageLocation, random: () => 0, pageId: "P1",
    onMessage: (msg, buffers) => received.push({ msg, buffers }),
    onStatus: (status, detail) => statuses.push([status, detail?.code]),
    ...overrides.options,
  });
  conn.start();
  const socket = () => WS.instances.at(-1);
  const ready = (ack = 0) => {
    socket().open();
    socket().receive({ type: "ready", widgets: {}, ack });
  };
  return { WS, conn, received, statuses, socket, ready };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("helpers", () => {
  it("builds the socket URL from the page's scheme and host", () => {
    expect(socketUrl("/ws", { protocol: "http:", host: "h:1" })).toBe("ws://h:1/ws");
    expect(socketUrl("/a/ws", { protocol: "https:", host: "h" })).toBe("wss://h/a/ws");
  });

  it("backs off from 0.25 s doubling to 5 s, jitter only shortening", () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, () => 0)))
      .toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    expect(backoffDelay(0, () => 0.999)).toBeGreaterThan(170);
    expect(backoffDelay(9, () => 0.999)).toBeLessThan(5000);
  });
});

describe("Connection", () => {
  it("opens the socket with binaryType arraybuffer and sends hello first", () => {
    const { WS, socket, statuses } = setup();
    expect(WS.instances).toHaveLength(1);
    expect(socket().url).toBe("ws://example.test:8000/app/numerous/ws");
    expect(socket().binaryType).toBe("arraybuffer");
    expect(socket().url).not.toContain("S3CRET");
    socket().open();
    expect(socket().messages).toEqual([
      { type: "hello", protocol: 1, session: "S3CRET", page: "P1", url: "/app/?q=1" }]);
    expect(statuses.map((s) => s[0])).toEqual(["connecting", "syncing"]);
  });

  it("decodes frames and hands them on; ready makes it ready", () => {
    const { conn, received, socket } = setup();
    socket().open();
    socket().receive({ type: "open", id: "a", state: {}, buffer_paths: [["x"]] },
      [new Uint8Array([1])]);
    expect(conn.status).toBe("syncing");
    socket().receive({ type: "ready", widgets: {}, ack: 0 });
    expect(conn.status).toBe("ready");
    expect(received.map((r) => r.msg.type)).toEqual(["open", "ready"]);
    expect(received[0].buffers[0]).toBeInstanceOf(DataView);
  });

  it("reconnectNow drops the socket and connects at once, naming the same session and page", () => {
    const { conn, WS, socket, statuses } = setup();
    socket().open();
    socket().receive({ type: "ready", widgets: {}, ack: 0 });
    const old = socket();
    conn.reconnectNow();
    expect(old.readyState).toBe(3);
    expect(WS.instances).toHaveLength(2);
    old.serverClose?.(1000); // a late close of the old socket changes nothing
    expect(conn.status).toBe("connecting");
    socket().open();
    expect(socket().messages[0]).toMatchObject({ type: "hello", session: "S3CRET", page: "P1" });
    expect(statuses.map((s) => s[0]).slice(-3)).toEqual(["ready", "connecting", "syncing"]);
    conn.close();
    conn.reconnectNow(); // closed for good: nothing
    expect(WS.instances).toHaveLength(2);
  });

  it("logs and skips an unreadable frame", () => {
    const { received, socket } = setup();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    socket().open();
    socket().onmessage({ data: "not json" });
    expect(received).toEqual([]);
    expect(error).toHaveBeenCalled();
  });

  it("sends only once ready; updates are silently refused before, custom dropped with a warning", () => {
    const { conn, socket, ready } = setup();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    socket().open();
    expect(conn.send({ type: "update", id: "a", state: {}, seq: 1 })).toBe(false);
    expect(warn).not.toHaveBeenCalled();
    expect(conn.send({ type: "custom", id: "a", content: 1, seq: 2 })).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    socket().receive({ type: "ready", widgets: {}, ack: 0 });
    expect(conn.send({ type: "custom", id: "a", content: 1, seq: 3 }, [new Uint8Array([1])]))
      .toBe(true);
    expect(socket().sent.at(-1)).toBeInstanceOf(ArrayBuffer);
    expect(socket().messages.map((m) => m.type)).toEqual(["hello", "custom"]);
  });

  it("reconnects with growing, capped back-off", () => {
    const { WS, socket, ready, statuses } = setup({ config: { grace: 1000 } });
    ready();
    socket().serverClose(1006);
    expect(statuses.at(-1)).toEqual(["waiting", 1006]);
    const delays = [250, 500, 1000, 2000, 4000, 5000, 5000];
    for (const delay of delays) {
      const count = WS.instances.length;
      vi.advanceTimersByTime(delay - 1);
      expect(WS.instances).toHaveLength(count);
      vi.advanceTimersByTime(1);
      expect(WS.instances).toHaveLength(count + 1);
      socket().serverClose(1006); // the attempt fails
    }
  });

  it("resets the back-off after a successful ready", () => {
    const { WS, socket, ready } = setup();
    ready();
    socket().serverClose(1006);
    vi.advanceTimersByTime(250);
    socket().serverClose(1006);
    vi.advanceTimersByTime(500);
    ready();
    socket().serverClose(1011);
    const count = WS.instances.length;
    vi.advanceTimersByTime(250);
    expect(WS.instances).toHaveLength(count + 1);
  });

  it("gives up after the grace period and reports lost", () => {
    const { WS, conn, socket, ready, statuses } = setup({ config: { grace: 3 } });
    ready();
    socket().serverClose(1006);
    // attempts at 0.25, 0.75, 1.75, then the last one at the 3 s deadline
    for (let i = 0; i < 10 && conn.status === "waiting"; i++) {
      vi.advanceTimersToNextTimer();
      socket().serverClose(1006);
    }
    expect(conn.status).toBe("lost");
    expect(statuses.at(-1)[0]).toBe("lost");
    expect(WS.instances).toHaveLength(5);
    vi.advanceTimersByTime(60_000);
    expect(WS.instances).toHaveLength(5);
  });

  it("gives up when the server is down from the start", () => {
    const { conn, socket } = setup({ config: { grace: 1 } });
    for (let i = 0; i < 10 && conn.status !== "lost"; i++) {
      socket().serverClose(1006);
      vi.advanceTimersToNextTimer();
    }
    expect(conn.status).toBe("lost");
  });

  it.each([4400, 4401, 4404, 1001])("is lost at once on close code %i", (code) => {
    const { WS, conn, socket, ready } = setup();
    ready();
    socket().serverClose(code);
    expect(conn.status).toBe("lost");
    vi.advanceTimersByTime(120_000);
    expect(WS.instances).toHaveLength(1);
  });

  it("stops silently on 4409 (replaced by a newer connection)", () => {
    const { WS, conn, socket, ready, statuses } = setup();
    ready();
    socket().serverClose(4409);
    expect(conn.status).toBe("replaced");
    expect(statuses.at(-1)).toEqual(["replaced", 4409]);
    vi.advanceTimersByTime(120_000);
    expect(WS.instances).toHaveLength(1);
  });

  it("names the same page in every hello, and the session a ready gives it from then on", () => {
    const { WS, socket, conn } = setup();
    socket().open();
    socket().receive({ type: "ready", widgets: {}, ack: 0, session: "NEW" });
    expect(conn.config.session).toBe("NEW");
    socket().serverClose(1006);
    vi.advanceTimersByTime(250);
    expect(WS.instances).toHaveLength(2);
    socket().open();
    expect(socket().messages[0]).toMatchObject({ session: "NEW", page: "P1" });
  });

  it("makes a random page id by itself", () => {
    const a = new Connection(config, { WebSocket: mockWebSocketClass(), location: pageLocation });
    const b = new Connection(config, { WebSocket: mockWebSocketClass(), location: pageLocation });
    expect(a.pageId).toMatch(/^[\w-]{8,}$/);
    expect(a.pageId).not.toBe(b.pageId);
  });

  it("reconnects on 4408 (too slow) and sends hello again", () => {
    const { WS, socket, ready } = setup();
    ready();
    socket().serverClose(4408);
    vi.advanceTimersByTime(250);
    expect(WS.instances).toHaveLength(2);
    socket().open();
    expect(socket().messages).toEqual([
      { type: "hello", protocol: 1, session: "S3CRET", page: "P1", url: "/app/?q=1" }]);
  });

  it("closes a connect attempt that hangs and tries again", () => {
    const { WS, conn } = setup();
    vi.advanceTimersByTime(10_000);
    expect(WS.instances[0].closedBy).not.toBeNull();
    expect(conn.status).toBe("waiting");
    vi.advanceTimersByTime(250);
    expect(WS.instances).toHaveLength(2);
  });

  it("ignores events of a socket it no longer uses", () => {
    const { WS, conn, socket, ready, received } = setup();
    ready();
    const old = socket();
    old.serverClose(1006);
    vi.advanceTimersByTime(250);
    old.receive({ type: "update", id: "a", state: {}, ack: 0, buffer_paths: [] });
    old.onclose({ code: 4404 });
    expect(received.map((r) => r.msg.type)).toEqual(["ready"]);
    expect(conn.status).toBe("connecting");
    expect(WS.instances).toHaveLength(2);
  });

  it("close() ends it for good", () => {
    const { WS, conn, socket, ready } = setup();
    ready();
    conn.close();
    expect(socket().closedBy).toEqual({ code: 1000, reason: "" });
    expect(conn.status).toBe("closed");
    vi.advanceTimersByTime(60_000);
    expect(WS.instances).toHaveLength(1);
  });
});

describe("sign-in renewal", () => {
  it("renews once on 4401 and reconnects, and a second 4401 is final", async () => {
    const Mock = mockWebSocketClass();
    const statuses = [];
    let renewals = 0;
    const connection = new Connection({ ws: "/ws", session: "s", grace: 60 }, {
      WebSocket: Mock, location: { protocol: "http:", host: "h" },
      onStatus: (status) => statuses.push(status),
      onUnauthorized: async () => { renewals += 1; return true; },
    });
    connection.start();
    Mock.instances[0].open();
    Mock.instances[0].onclose({ code: 4401, reason: "" });
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
    expect(renewals).toBe(1);
    expect(Mock.instances.length).toBe(2);
    Mock.instances[1].open();
    Mock.instances[1].onclose({ code: 4401, reason: "" });
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
    expect(renewals).toBe(1);
    expect(connection.status).toBe("lost");
  });

  it("awaits beforeConnect before each reconnect", async () => {
    vi.useFakeTimers();
    const Mock = mockWebSocketClass();
    let prepared = 0;
    const connection = new Connection({ ws: "/ws", session: "s", grace: 60 }, {
      WebSocket: Mock, location: { protocol: "http:", host: "h" }, random: () => 0.5,
      beforeConnect: async () => { prepared += 1; },
    });
    connection.start();
    expect(prepared).toBe(0); // not before the first connection
    Mock.instances[0].open();
    Mock.instances[0].onclose({ code: 1006, reason: "" });
    await vi.advanceTimersByTimeAsync(6000);
    expect(prepared).toBe(1);
    expect(Mock.instances.length).toBe(2);
    vi.useRealTimers();
  });
});
