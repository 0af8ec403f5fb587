// Dev mode only (loaded on demand): when the page's Content-Security-Policy refuses something,
// say which `SecurityPolicy` setting would allow it, instead of the browser's console line alone.

import { showErrorModal } from "./ui.js";

const POLICY_SETTINGS = { "script-src": "script_sources", "style-src": "style_sources",
  "connect-src": "connect_sources" };

/**
 * What a Content-Security-Policy refusal means for the app's author: what was refused and the
 * `SecurityPolicy` setting that would allow it.
 * @param {{blockedURI: string, effectiveDirective: string}} event
 * @returns {string}
 */
export function explainPolicyViolation({ blockedURI, effectiveDirective }) {
  const directive = effectiveDirective.replace(/-(elem|attr)$/, "");
  if (blockedURI === "eval" || blockedURI === "wasm-eval") {
    return "A widget compiles code at run time, which the page's Content-Security-Policy " +
      "forbids. Allow it with create_app(..., security=SecurityPolicy(allow_eval=True)).";
  }
  let origin = blockedURI;
  try {
    origin = new URL(blockedURI).origin;
  } catch { /* "inline" and the like are not URLs */ }
  const setting = POLICY_SETTINGS[directive];
  const fix = setting ? `SecurityPolicy(${setting}=["${origin}"])`
    : `SecurityPolicy(extra="${directive} ${origin}")`;
  return `The page's Content-Security-Policy refused ${blockedURI} (${directive}). Allow it ` +
    `with create_app(..., security=${fix}).`;
}

/**
 * Dev mode: say which setting allows what the page's policy refused, instead of the browser's
 * console line alone.
 * @param {Document} doc
 */
export function reportPolicyViolations(doc = document) {
  doc.addEventListener("securitypolicyviolation", (event) => {
    const text = explainPolicyViolation(event);
    console.error(`[numerous] ${text}`);
    showErrorModal("Blocked by the page's security policy", text, "", doc);
  });
}
