"""The bootstrap app, created by the CLI and used in Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage

from ._support import sign_in

BOOTSTRAP = str(Path(sys.executable).parent / "numerous-bootstrap")


def test_bootstrapped_app_works_in_the_browser(tmp_path: Path, serve: Any, page: Page) -> None:
    subprocess.run([BOOTSTRAP, "my_app", "--skip-deps", "--run-skip"], cwd=tmp_path, check=True)
    server = serve(tmp_path / "my_app")
    app = AppPage(page).open(server)
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
    app.input("name").fill("Ada")
    expect(app.input("greeting")).to_have_value("Hello, Ada!")
    expect(app.input("total")).to_have_value("3 × Apples = 3.60")
    app.input("quantity").fill("5")
    expect(app.input("total")).to_have_value("5 × Apples = 6.00")
    expect(app.widget("basket")).to_contain_text("6.00")
    assert app.errors == []
    assert "WARNING" not in server.output()


def bootstrap_with(tmp_path: Path, flag: str) -> tuple[Path, str]:
    result = subprocess.run([BOOTSTRAP, "secure_app", flag, "--skip-deps", "--run-skip"],
                            cwd=tmp_path, check=True, capture_output=True, text=True)
    password = result.stdout.split("with the password ")[1].split()[0]
    return tmp_path / "secure_app", password


def sign_in_and_count(page: Page, server: Any, password: str) -> None:
    app = AppPage(page).open(server, wait=False)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    for label in ("Username", "Password"):  # the fields are labelled for every visitor
        expect(page.get_by_label(label)).to_be_visible()
    sign_in(app, "admin", "wrong password")
    expect(app.login_form.error).to_be_visible()
    sign_in(app, "admin", password)
    app.wait_ready()
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")


def test_bootstrap_with_auth_signs_in_with_env_users(tmp_path: Path, serve: Any,
                                                      page: Page) -> None:
    project, password = bootstrap_with(tmp_path, "--with-auth")
    assert (project / ".env.example").is_file() and (project / ".env").stat().st_mode & 0o077 == 0
    assert "NUMEROUS_JWT_SECRET" in (project / ".env.example").read_text()
    assert "NUMEROUS_AUTH_USERS" in (project / ".env.example").read_text()
    server = serve(project)
    sign_in_and_count(page, server, password)


def test_bootstrap_with_db_auth_signs_in_with_database_users(tmp_path: Path, serve: Any,
                                                             page: Page) -> None:
    project, password = bootstrap_with(tmp_path, "--with-db-auth")
    assert (project / "app_auth.db").is_file()
    server = serve(project)
    sign_in_and_count(page, server, password)
    # More users from the command line.
    subprocess.run([sys.executable, "create_users.py", "ada"], cwd=project, check=True,
                   env={**os.environ, "NUMEROUS_NEW_PASSWORD": "ada-password-1"})
