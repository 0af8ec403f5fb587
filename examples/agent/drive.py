"""Drive the loan calculator (app.py) through its agent API, with the standard library only.

    python drive.py                     # opens a session of its own
    python drive.py --attach=CODE       # fills in the page a browser shows, as you watch

The CODE comes from the page's "Hand this page to a script" button. A session id alone would
not do: sessions belong to the browser that opened them, and the single-use code is how that
browser's user lends one to this script.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any


class Agent:
    """A tiny client: JSON in and out, and a cookie jar for the numerous_client cookie."""

    def __init__(self, url: str) -> None:
        self.api = url.rstrip("/") + "/api/agent"
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method,
                                         headers={"content-type": "application/json"})
        try:
            with self.opener.open(request) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        if status >= 400:
            sys.exit(f"{method} {path}: {status} {answer['detail']['message']}")
        return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="where app.py runs")
    parser.add_argument("--attach", metavar="CODE", help="attach to a browser's session")
    parser.add_argument("--pause", type=float, default=0.7,
                        help="seconds between steps, to watch them in the browser")
    options = parser.parse_args()
    agent = Agent(options.url)

    if options.attach:
        described = agent.ok("POST", "/attach", {"code": options.attach})
        print(f"attached to the browser's session {described['session'][:6]}…")
    else:
        described = agent.ok("POST", "/sessions", {})
        print(f"opened session {described['session'][:6]}…")
    session = f"/sessions/{described['session']}"

    for key, widget in described["widgets"].items():
        traits = ", ".join(f"{name}={trait['value']!r}" for name, trait in widget["traits"].items()
                           if name in ("value", "content"))
        print(f"  widget {key} ({widget['type']}): {traits}")
    for name, spec in described["actions"].items():
        print(f"  action {name}(): {' '.join(spec['doc'].split())}")

    for key, value in [("principal", 350_000), ("rate", 3.5), ("years", 30)]:
        time.sleep(options.pause)
        answer = agent.ok("PUT", f"{session}/widgets/{key}/traits/value", {"value": value})
        print(f"set {key} = {answer['value']}")

    time.sleep(options.pause)
    status, refused = agent.call("PUT", f"{session}/widgets/years/traits/value",
                                 {"value": "a long time"})
    print(f"a bad value is refused ({status}): {refused['detail']['message']}")

    time.sleep(options.pause)
    result = agent.ok("POST", f"{session}/actions/compute", {})
    print(f"compute() -> {json.dumps(result['result'])}")


if __name__ == "__main__":
    main()
