"""The agent API against a real server and a real Chromium showing the same session."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent.parent / "examples" / "agent"
API = "/api/agent"

ATTACH_CODE = """async (session) => {
  const url = `${window.numerous.config.base}/api/agent/sessions/${session}/attach-code`;
  const response = await fetch(url,
    {method: "POST", headers: {"content-type": "application/json"}, body: "{}"});
  return (await response.json()).code;
}"""


def poll_api(client: httpx.Client, url: str, expected: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (value := client.get(url).json()["value"]) != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"{url} is {value!r}, not {expected!r}")
        time.sleep(0.05)


def test_the_api_and_a_browser_drive_one_session(serve: Any, page: Page) -> None:
    server = serve(HERE / "agent_app")
    app = AppPage(page).open(server)
    session = app.session_id
    code = page.evaluate(ATTACH_CODE, session)
    button = app.button("counter")
    expect(button).to_have_text("count: 0")

    with httpx.Client(base_url=server.url) as script:  # no cookie: another client
        assert script.get(f"{API}/sessions/{session}").status_code == 401
        attached = script.post(f"{API}/attach", json={"code": code})
        assert attached.status_code == 200, attached.text
        assert set(attached.json()["widgets"]) == {"counter", "label"}
        count = f"{API}/sessions/{session}/widgets/counter/traits/count"

        assert script.put(count, json={"value": 5}).json()["value"] == 5
        expect(button).to_have_text("count: 5")

        button.click()
        expect(button).to_have_text("count: 6")
        poll_api(script, count, 6)

        summary = script.post(f"{API}/sessions/{session}/actions/summarize", json={})
        assert summary.json() == {"action": "summarize", "result": "count is 6"}
        expect(app.widget("label")).to_have_text("count is 6")

        refused = script.put(count, json={"value": -1})
        assert refused.status_code == 422 and refused.json()["detail"]["value"] == 6
        expect(button).to_have_text("count: 6")

        reset = script.post(f"{API}/sessions/{session}/widgets/counter/actions/reset",
                            json={"to": 2})
        assert reset.json()["result"] == 2
        expect(button).to_have_text("count: 2")

    with httpx.Client(base_url=server.url) as stranger:
        stranger.post(f"{API}/sessions", json={})  # has a cookie of its own now
        assert stranger.get(f"{API}/sessions/{session}").status_code == 404
        assert stranger.post(f"{API}/attach", json={"code": code}).status_code == 404


def test_the_example_drive_script_fills_in_a_browsers_session(serve: Any, page: Page,
                                                               tmp_path: Path) -> None:
    server = serve(EXAMPLE)
    app = AppPage(page).open(server)
    # The example's own markup (examples/agent/index.html.j2), beside its widgets.
    page.locator("#numerous-agent-attach").click()
    command = page.locator("#numerous-agent-command")
    expect(command).to_contain_text("drive.py")
    code = re.search(r"--attach=(\S+)", command.inner_text())
    assert code is not None, command.inner_text()
    # `--attach=CODE`: a code may begin with "-", which argparse takes for an option.
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "drive.py"), "--url", server.url,
         f"--attach={code.group(1)}", "--pause", "0"],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "monthly_payment" in result.stdout and "refused" in result.stdout
    expect(app.widget("result")).to_contain_text("Monthly payment")
    expect(app.input("years")).to_have_value("30")
