// Served inline first in the page's head (its hash is in the page's Content-Security-Policy): as
// soon as the parser has read the page config, it opens the page's WebSocket and says hello while
// the stylesheets and the client's modules are still loading, and keeps what arrives for
// connection.js to take over. A page that may offer values or name a lost session in its hello
// (restore_state, a session store) leaves all of it to the client.
(() => {
  const config = () => {
    try {
      return JSON.parse(document.getElementById("numerous-config")?.textContent ?? "");
    } catch (e) {
      return null; // not there yet, or not all of it
    }
  };
  const open = (c) => {
    if (c.restore || c.resume || typeof WebSocket !== "function") return;
    let have = [];
    try {
      have = Object.keys(JSON.parse(sessionStorage.getItem("numerous-kept:" + c.base) || "{}") || {});
    } catch (e) { /* nothing kept */ }
    const page = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    const ws = new WebSocket((location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + c.ws);
    const early = { ws, page, frames: [], closed: null };
    ws.binaryType = "arraybuffer";
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", protocol: c.protocol,
      session: c.session, page, url: location.pathname + location.search, have }));
    ws.onmessage = (event) => early.frames.push(event.data);
    ws.onclose = (event) => { early.closed = { code: event.code, reason: event.reason }; };
    window.__numerousEarly = early;
  };
  try {
    const watcher = new MutationObserver(() => {
      const c = config();
      if (c) {
        watcher.disconnect();
        open(c);
      }
    });
    watcher.observe(document, { childList: true, subtree: true, characterData: true });
    document.addEventListener("DOMContentLoaded", () => watcher.disconnect());
  } catch (e) { /* the client connects by itself */ }
})();
