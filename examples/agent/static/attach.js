// "Hand this page to a script": asks the app for a single-use attach code for this page's
// session and shows the command that lets drive.py fill in this very page.
// The page's own cookie proves it owns the session; the code is good once, for 5 minutes.

const button = document.getElementById("numerous-agent-attach");
const output = document.getElementById("numerous-agent-command");

button.addEventListener("click", async () => {
  // window.numerous is the running client; its config holds the session id and the base path.
  const { session, base } = window.numerous.config;
  const response = await fetch(`${base}/api/agent/sessions/${session}/attach-code`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  const body = await response.json();
  output.hidden = false;
  output.textContent = response.ok
    ? `python drive.py --url ${location.origin}${base} --attach=${body.code}\n` +
      `(single use, valid for ${Math.round(body.expires_in / 60)} minutes)`
    : `could not get a code: ${body.detail?.message ?? response.status}`;
});
