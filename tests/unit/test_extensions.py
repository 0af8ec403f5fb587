"""Extensions: what a capability adds to an app, assembled in one place (NumerousApp.install)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from numerous.apps._runtime import Extension

from ._support import TestClient, make_app


def test_an_extension_adds_its_routes_and_is_found_by_name_with_its_state(
        tmp_path: Path) -> None:
    app = make_app(tmp_path)
    ping = Route("/ping", lambda request: PlainTextResponse("pong"))
    app.install(Extension(name="ping", routes=[ping], state={"answers": "pong"}))
    app.install(Extension(name="quiet", scripts=["/quiet.js"]))
    assert app.numerous.extension("ping") == {"answers": "pong"}
    assert app.numerous.extension("quiet") is None, "no state: nothing to hand out"
    assert app.numerous.extension("missing") is None
    with TestClient(app) as client:
        assert client.get("/ping").text == "pong"
        assert 'src="/quiet.js"' in client.get("/").text


def test_an_extension_is_installed_once_even_without_state(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.install(Extension(name="quiet"))
    with pytest.raises(ValueError, match="already has the quiet extension"):
        app.install(Extension(name="quiet"))
