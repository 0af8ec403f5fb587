// The page's built-in fragments (splash, error modal, session-lost banner; see docs/protocol.md)
// and the dev-mode overlay. Text goes in with textContent only: messages and tracebacks come
// from the server and from user code, never to be parsed as HTML.

const DEV_OVERLAY_ID = "numerous-dev-overlay";

/**
 * @param {Document} doc
 * @param {string} id
 * @param {boolean} visible
 * @returns {HTMLElement | null}
 */
function toggle(doc, id, visible) {
  const el = doc.getElementById(id);
  if (el) el.hidden = !visible;
  return el;
}

/** @param {Document} [doc] */
export function hideSplash(doc = document) {
  toggle(doc, "numerous-splash", false);
}

/**
 * Show the error modal. Without the element (a template that removed it) the error is only
 * logged, which the caller does anyway.
 * @param {string} title
 * @param {string} message
 * @param {string} [traceback]
 * @param {Document} [doc]
 */
export function showErrorModal(title, message, traceback = "", doc = document) {
  const modal = doc.getElementById("numerous-error-modal");
  if (!modal) return;
  const part = (name) => modal.querySelector(`[data-numerous-error-${name}]`);
  const titleEl = part("title");
  if (titleEl) titleEl.textContent = title;
  const messageEl = part("message");
  if (messageEl) messageEl.textContent = message;
  const tracebackEl = part("traceback");
  if (tracebackEl) {
    tracebackEl.textContent = traceback || "";
    tracebackEl.hidden = !traceback;
  }
  const close = part("close");
  if (close && !close.dataset.numerousBound) {
    close.dataset.numerousBound = "true";
    close.addEventListener("click", () => hideErrorModal(doc));
  }
  modal.hidden = false;
  close?.focus?.();
}

/** @param {Document} [doc] */
export function hideErrorModal(doc = document) {
  toggle(doc, "numerous-error-modal", false);
}

/**
 * Show the session-lost banner; its reload button reloads the page. Its text stays the
 * template's, which an app may have customized.
 * @param {object} [options]
 * @param {() => void} [options.reload]
 * @param {Document} [options.doc]
 */
export function showSessionLost({ reload = () => location.reload(), doc = document } = {}) {
  const banner = toggle(doc, "numerous-session-lost", true);
  const button = banner?.querySelector("[data-numerous-reload]");
  if (button && !button.dataset.numerousBound) {
    button.dataset.numerousBound = "true";
    button.addEventListener("click", () => reload());
  }
}

/**
 * Show (or replace) a notice for the person using the page (an administrator's message), with
 * a button that dismisses it. The text is set as text, never as HTML.
 * @param {string} text
 * @param {Document} [doc]
 * @returns {HTMLElement}
 */
export function showNotice(text, doc = document) {
  let notice = doc.getElementById("numerous-notice");
  if (!notice) {
    notice = doc.createElement("div");
    notice.id = "numerous-notice";
    notice.className = "numerous-banner numerous-notice";
    notice.setAttribute("role", "status");
    const span = doc.createElement("span");
    span.className = "numerous-banner__text";
    const close = doc.createElement("button");
    close.type = "button";
    close.className = "numerous-button";
    close.textContent = "OK";
    close.addEventListener("click", () => notice?.remove());
    notice.append(span, close);
    doc.body.appendChild(notice);
  }
  const span = notice.querySelector(".numerous-banner__text");
  if (span) span.textContent = text;
  return notice;
}

/**
 * Show (or replace) the dev overlay with a load error of the app's code.
 * @param {string} message
 * @param {string} [traceback]
 * @param {Document} [doc]
 * @returns {HTMLElement}
 */
export function showDevOverlay(message, traceback = "", doc = document) {
  hideDevOverlay(doc);
  const overlay = doc.createElement("div");
  overlay.id = DEV_OVERLAY_ID;
  overlay.setAttribute("role", "alert");
  const heading = doc.createElement("h2");
  heading.textContent = "The app failed to load";
  const text = doc.createElement("p");
  text.textContent = message;
  const pre = doc.createElement("pre");
  pre.textContent = traceback;
  const hint = doc.createElement("p");
  hint.textContent = "Fix the code and save: the page reloads by itself.";
  overlay.append(heading, text, pre, hint);
  doc.body.append(overlay);
  return overlay;
}

/** @param {Document} [doc] */
export function hideDevOverlay(doc = document) {
  doc.getElementById(DEV_OVERLAY_ID)?.remove();
}

/**
 * Replace an element's content with an error box (a widget that failed to load or render).
 * @param {HTMLElement} el
 * @param {string} text
 */
export function showWidgetError(el, text) {
  const box = el.ownerDocument.createElement("div");
  box.className = "numerous-widget-error";
  box.setAttribute("role", "alert");
  box.textContent = text;
  el.replaceChildren(box);
}
