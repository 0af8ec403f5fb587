"""Signed-in apps under one server: /one and /two share one sign-in; /public is open
(protected_routes=[]); /admin
has a provider of its own and a custom login page (admin/templates/login.html.j2)."""

from pathlib import Path

from main import run_counter

from numerous.apps import combine_apps, create_app
from numerous.apps.auth.providers.env_auth import EnvAuthProvider

HERE = Path(__file__).parent
SECRET = "e2e-multi-secret-" + "x" * 40


def users(name: str, password: str) -> EnvAuthProvider:
    return EnvAuthProvider(users=[{"username": name, "password": password}], jwt_secret=SECRET)


def counter_app(folder: str, template: str, **options: object):
    return create_app(template=template, base_dir=HERE / folder, app_generator=run_counter,
                      **options)


main = combine_apps(
    apps={
        "/one": counter_app("app1", "index.html.j2"),
        "/two": counter_app("app2", "index.html.j2"),
        "/public": counter_app("app2", "index.html.j2", protected_routes=[]),
        "/admin": counter_app("admin", "index.html.j2",
                              auth_provider=users("root", "root-password-1")),
    },
    shared_auth_provider=users("ann", "ann-password-1"),
)
