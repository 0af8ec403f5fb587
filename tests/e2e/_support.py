"""Helpers shared by the e2e tests (this module holds no tests of its own)."""

from __future__ import annotations

from numerous.apps.testing import AppPage


def sign_in(app: AppPage, username: str, password: str) -> None:
    """Fill in and send the login page's form, as a visitor does."""
    form = app.login_form
    form.username.fill(username)
    form.password.fill(password)
    form.submit.click()
