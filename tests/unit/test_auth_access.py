"""Who may use what: dependencies for routes of your own, public routes, and roles or admin
rights for a whole app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, WebSocket

from numerous.apps import combine_apps
from numerous.apps.auth import User
from numerous.apps.auth.dependencies import (
    AdminUser,
    CurrentUser,
    OptionalUser,
    require_admin,
    require_role,
)

from ._auth_support import (
    PAGE,
    env_provider,
    login,
    make_app,
    put_cookie,
    )



def _with_routes(app: FastAPI) -> FastAPI:
    @app.get("/api/profile")
    async def profile(user: CurrentUser) -> dict[str, Any]:
        return {"username": user.username, "roles": user.roles}

    @app.get("/api/public/data")
    async def data(user: OptionalUser) -> dict[str, Any]:
        return {"data": "authenticated data" if user else "public data"}

    @app.get("/api/admin")
    async def admin(user: AdminUser) -> dict[str, Any]:
        return {"admin": user.username}

    @app.get("/api/admin2", dependencies=[Depends(require_admin)])
    async def admin2() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/api/viewer")
    async def viewer(user: Annotated[User, Depends(require_role("viewer"))]
                     ) -> dict[str, Any]:
        return {"viewer": user.username}

    @app.websocket("/api/ws")
    async def socket(websocket: WebSocket, user: CurrentUser) -> None:
        await websocket.accept()
        await websocket.send_text(user.username)
        await websocket.close()

    return app


def test_current_optional_and_admin_users_in_routes(tmp_path: Path, served: Any) -> None:
    app = _with_routes(make_app(tmp_path, env_provider(), public_routes=["/api/public/*"]))
    client = served(app)
    assert client.get("/api/public/data").json() == {"data": "public data"}
    assert client.get("/api/profile").status_code == 401
    login(client, "ann")
    assert client.get("/api/profile").json() == {"username": "ann", "roles": ["viewer"]}
    assert client.get("/api/public/data").json() == {"data": "authenticated data"}
    assert client.get("/api/admin").status_code == 403
    assert client.get("/api/admin2").status_code == 403
    assert client.get("/api/viewer").json() == {"viewer": "ann"}
    with client.websocket_connect("/api/ws") as ws:
        assert ws.receive_text() == "ann"
    login(client, "bob")
    assert client.get("/api/viewer").status_code == 403
    login(client, "root")
    assert client.get("/api/admin").json() == {"admin": "root"}
    assert client.get("/api/admin2").json() == {"ok": True}
    assert client.get("/api/viewer").json() == {"viewer": "root"}, "admins pass role checks"


def test_public_routes_need_no_sign_in_and_others_do(tmp_path: Path, served: Any) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "logo.svg").write_text("<svg/>")
    (tmp_path / "static" / "secret.txt").write_text("secret")
    app = make_app(tmp_path, env_provider(), public_routes=["/public", "/static/*.svg"])

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"hello": "world"}

    client = served(app)
    assert client.get("/public").json() == {"hello": "world"}
    assert client.get("/static/logo.svg").status_code == 200
    assert client.get("/static/secret.txt").status_code == 401


def test_a_load_balancer_checks_health_without_signing_in(tmp_path: Path,
                                                          served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    assert client.get("/").status_code == 401
    assert client.get("/numerous/health").json()["status"] == "healthy"


def test_a_websocket_route_of_your_own_is_refused_without_sign_in(tmp_path: Path,
                                                                   served: Any) -> None:
    client = served(_with_routes(make_app(tmp_path, env_provider())))
    try:
        with client.websocket_connect("/api/ws") as ws:
            ws.receive_text()
        raise AssertionError("the handshake should have been refused")
    except Exception as exc:  # noqa: BLE001 - starlette's WebSocketDisconnect
        assert getattr(exc, "code", None) == 4401


def test_an_app_for_one_role_only(tmp_path: Path, served: Any) -> None:
    provider = env_provider()
    client = served(make_app(tmp_path, provider.require(roles=["viewer"])))
    assert login(client, "bob").status_code == 403, "bob lacks the role: no tokens"
    assert "access_token" not in client.cookies
    assert login(client, "ann").status_code == 200
    assert client.get("/", headers=PAGE).status_code == 200
    assert login(client, "root").status_code == 200, "admins are let in"


def test_an_admin_only_app_and_a_signed_in_user_without_rights(tmp_path: Path,
                                                               served: Any) -> None:
    provider = env_provider()
    open_dir, admin_dir = tmp_path / "open", tmp_path / "admin"
    open_dir.mkdir()
    admin_dir.mkdir()
    open_app = make_app(open_dir, provider, path_prefix="/open")
    admin_app = make_app(admin_dir, provider.require(admin=True), path_prefix="/admin")
    client = served(combine_apps({"/open": open_app, "/admin": admin_app}))
    assert login(client, "ann", base="/open").status_code == 200
    assert client.get("/open/", headers=PAGE).status_code == 200
    assert login(client, "ann", base="/admin").status_code == 403
    # ann's /open cookie is not sent to /admin, but a token for ann that reaches it is refused:
    access = client.cookies.get("access_token", path="/open")
    put_cookie(client, "access_token", access, path="/admin")
    page = client.get("/admin/", headers=PAGE)
    assert page.status_code == 403 and "does not have access" in page.text
    assert client.get("/admin/api/auth/me").status_code == 200
    assert client.get("/admin/numerous/assets/x.js").status_code == 403
    assert login(client, "root", base="/admin").status_code == 200
    assert client.get("/admin/", headers=PAGE).status_code == 200


def test_require_shares_the_provider_state(tmp_path: Path) -> None:
    provider = env_provider()
    narrowed = provider.require(roles=["viewer"])
    assert narrowed is not provider
    assert narrowed.jwt_secret == provider.jwt_secret
    assert narrowed.tokens is provider.tokens
    assert narrowed.login_limiter is provider.login_limiter
    assert provider.required_roles == () and narrowed.required_roles == ("viewer",)
