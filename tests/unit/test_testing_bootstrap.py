"""The test file shipped with the bootstrap app, and with each of its sign-in variants, passes
in a freshly bootstrapped folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from numerous.cli.bootstrap import bootstrap

CLI = Path(__file__).resolve().parents[2] / "numerous" / "cli"
BOOTSTRAP_APP = CLI / "bootstrap_app"


def run_pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          check=False, cwd=folder, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_bootstrap_apps_tests_pass_where_it_was_bootstrapped(tmp_path: Path) -> None:
    app_dir = tmp_path / "my_app"
    shutil.copytree(BOOTSTRAP_APP, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    result = run_pytest(app_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--with-auth", "--with-db-auth"])
def test_a_bootstrapped_sign_in_apps_tests_pass(tmp_path: Path, flag: str) -> None:
    """Their driver signs in first (the plain file's would be sent to /login)."""
    app_dir = tmp_path / "my_app"
    made = CliRunner().invoke(bootstrap, [str(app_dir), flag, "--skip-deps", "--run-skip"])
    assert made.exit_code == 0, made.output
    result = run_pytest(app_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout, result.stdout


@pytest.mark.parametrize("kind", ["env", "db", "oidc"])
def test_the_sign_in_variants_test_the_widgets_as_the_plain_app_does(kind: str) -> None:
    """Each variant's test_app.py differs from the plain one only in how its driver starts."""
    start = "@pytest.fixture\ndef session(driver):"
    plain = (BOOTSTRAP_APP / "test_app.py").read_text()
    variant = (CLI / "bootstrap_auth" / kind / "test_app.py").read_text()
    assert variant[variant.index(start):] == plain[plain.index(start):]
