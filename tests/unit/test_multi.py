"""combine_apps: prefixes, redirects, health, shared files and theme, lifespans."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerous.apps import combine_apps

from ._support import TestClient, make_app


def test_apps_are_served_under_their_prefixes(tmp_path: Path) -> None:
    main = combine_apps({"/one": make_app(tmp_path, path_prefix="/one"),
                         "/two": make_app(tmp_path, path_prefix="/two")},
                        title="Pair")
    with TestClient(main) as client:
        assert client.get("/health").json() == {"status": "healthy", "apps": ["/one", "/two"]}
        index = client.get("/")
        assert index.status_code == 200 and "Pair" in index.text
        assert 'href="/one/"' in index.text and 'href="/two/"' in index.text
        page = client.get("/one/")
        assert page.status_code == 200
        assert '"ws":"/one/numerous/ws"' in page.text and '"base":"/one"' in page.text
        redirect = client.get("/two?x=1", follow_redirects=False)
        assert redirect.status_code == 307 and redirect.headers["location"] == "/two/?x=1"
        assert client.get("/favicon.ico").status_code == 204


def test_root_redirect(tmp_path: Path) -> None:
    main = combine_apps({"/one": make_app(tmp_path)}, root_redirect="/one")
    with TestClient(main) as client:
        response = client.get("/", follow_redirects=False)
        assert response.status_code == 307 and response.headers["location"] == "/one"


def test_prefix_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="path_prefix='/other'"):
        combine_apps({"/one": make_app(tmp_path, path_prefix="/other")})
    with pytest.raises(ValueError, match="not a path prefix"):
        combine_apps({"/": make_app(tmp_path)})
    with pytest.raises(ValueError, match="at least one app"):
        combine_apps({})


def test_not_a_numerous_app_is_refused(tmp_path: Path) -> None:
    from fastapi import FastAPI

    with pytest.raises(TypeError, match="create_app"):
        combine_apps({"/x": FastAPI()})  # type: ignore[dict-item]


def test_shared_static_and_theme(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "img").mkdir(parents=True)
    (shared / "img" / "logo.txt").write_text("logo")
    (tmp_path / "secret.txt").write_text("secret")
    main = combine_apps({"/one": make_app(tmp_path, theme_css=":root{--x:1}")},
                        shared_static_dir=shared, shared_theme_css=":root{--numerous-primary:red}")
    with TestClient(main) as client:
        assert client.get("/shared-static/img/logo.txt").text == "logo"
        assert client.get("/shared-static/../secret.txt").status_code == 404
        theme = client.get("/shared-static/css/theme.css")
        assert theme.text == ":root{--numerous-primary:red}"
        assert theme.headers["content-type"].startswith("text/css")
        page = client.get("/one/").text
        shared_link = page.index('href="/shared-static/css/theme.css"')
        own_link = page.index('href="/one/numerous/theme.css?v=')
        assert page.index('href="/one/numerous/base.css?v=') < shared_link < own_link


def test_sub_app_lifespans_run_under_the_combined_server(tmp_path: Path) -> None:
    app = make_app(tmp_path, path_prefix="/one")
    main = combine_apps({"/one": app})
    with TestClient(main) as client:
        client.get("/one/")
        (session,) = list(app.numerous.sessions)
    assert len(app.numerous.sessions) == 0  # the sub-app's shutdown closed the session
    assert session.closed and session.join(5)


def test_proxy_root_path_is_part_of_every_url(tmp_path: Path) -> None:
    main = combine_apps({"/one": make_app(tmp_path)})
    with TestClient(main, root_path="/proxy") as client:
        # As uvicorn --root-path does, the scope's path carries the prefix too.
        page = client.get("/proxy/one/").text
        assert '"ws":"/proxy/one/numerous/ws"' in page
        assert 'src="/proxy/one/numerous/js/' in page
