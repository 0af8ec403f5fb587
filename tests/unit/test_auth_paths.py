"""Public and protected routes, and which `next` values are safe."""

from __future__ import annotations

import pytest

from numerous.apps.auth._paths import RouteRules, request_target, route_path, safe_next


def test_everything_is_protected_by_default_except_login_and_its_needs() -> None:
    rules = RouteRules()
    for path in ("/", "/numerous/ws", "/numerous/assets/abc.js", "/numerous/js/v/main.js",
                 "/static/app.css", "/api/data", ""):
        assert rules.needs_auth(path), path
    for path in ("/login", "/api/auth/login", "/api/auth/refresh", "/api/auth/me",
                 "/numerous/base.css", "/numerous/theme.css", "/favicon.ico",
                 "/numerous/health"):
        assert not rules.needs_auth(path), path


def test_public_routes_with_wildcards() -> None:
    rules = RouteRules(public=["/public", "/api/public/*", "/docs/*.html"])
    assert not rules.needs_auth("/public")
    assert not rules.needs_auth("/public/")
    assert rules.needs_auth("/publicity")
    assert not rules.needs_auth("/api/public/a")
    assert not rules.needs_auth("/api/public/a/b/c")
    assert rules.needs_auth("/api/public")
    assert rules.needs_auth("/api/private/a")
    assert not rules.needs_auth("/docs/a/b.html")
    assert rules.needs_auth("/docs/a/b.htm")


def test_protected_routes_protect_only_what_they_match() -> None:
    rules = RouteRules(public=["/admin/help"], protected=["/admin/*", "/api/*"])
    assert rules.needs_auth("/admin/users")
    assert rules.needs_auth("/api/x")
    assert not rules.needs_auth("/admin/help"), "public wins where both match"
    assert not rules.needs_auth("/")
    assert not rules.needs_auth("/numerous/ws"), "the app's socket follows its page"
    assert not rules.needs_auth("/numerous/assets/a.js")


def test_the_app_socket_and_assets_follow_the_page() -> None:
    assert RouteRules(protected=["/"]).needs_auth("/numerous/ws")
    assert RouteRules(protected=["/"]).needs_auth("/numerous/assets/a.js")
    assert not RouteRules(public=["/"]).needs_auth("/numerous/ws")


@pytest.mark.parametrize("path", ["/public/../secret", "//public/x", "/public/./x",
                                  "/public\\x", "/public/.."])
def test_odd_spellings_never_match_a_public_pattern(path: str) -> None:
    assert RouteRules(public=["/public/*"]).needs_auth(path)


def test_patterns_must_be_paths() -> None:
    with pytest.raises(ValueError, match="start with '/'"):
        RouteRules(public=["public"])


@pytest.mark.parametrize("value", [
    "//evil.com", "//evil.com/x", "/\\evil.com", "\\\\evil.com", "https://evil.com",
    "http:/evil.com", "javascript:alert(1)", "/\t/evil.com", "/\n/evil.com", "/ /x",
    "evil.com", "", None, "/a//b", "/x\u2215y", "/" + "a" * 3000, "\x00/x",
])
def test_unsafe_next_values_fall_back(value: str | None) -> None:
    assert safe_next(value, "/app/") == "/app/"


@pytest.mark.parametrize("value", ["/", "/app1/", "/app1/page?x=1&y=//z", "/a%2F%2Fb",
                                   "/p?next=https://x"])
def test_safe_next_values_are_kept(value: str) -> None:
    assert safe_next(value, "/fallback") == value


def test_route_path_and_request_target_under_a_prefix() -> None:
    scope = {"path": "/app1/numerous/ws", "root_path": "/app1", "query_string": b""}
    assert route_path(scope) == "/numerous/ws"
    assert route_path({"path": "/app1", "root_path": "/app1"}) == "/"
    assert route_path({"path": "/app10/x", "root_path": "/app1"}) == "/app10/x"
    scope = {"path": "/app1/a b/é", "root_path": "/app1", "query_string": b"q=1%202"}
    assert request_target(scope) == "/app1/a%20b/%C3%A9?q=1%202"


def test_the_socket_and_file_routes_follow_the_apps_pages() -> None:
    pages = ("/", "/orders/{order_id:int}")
    assert RouteRules(pages=pages).needs_auth("/numerous/files/upload/t/w")
    rules = RouteRules(public=["/orders/*"], pages=pages)
    assert rules.needs_auth("/")
    assert not rules.needs_auth("/orders/3")
    assert not rules.needs_auth("/numerous/ws"), "a public page's session needs its socket"
    assert not rules.needs_auth("/numerous/files/download/t")
