"""The test file shipped with the bootstrap app passes in a freshly bootstrapped folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BOOTSTRAP_APP = Path(__file__).resolve().parents[2] / "cli" / "bootstrap_app"


@pytest.mark.slow
def test_the_bootstrap_apps_tests_pass_where_it_was_bootstrapped(tmp_path: Path) -> None:
    app_dir = tmp_path / "my_app"
    shutil.copytree(BOOTSTRAP_APP, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            check=False, cwd=app_dir, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout, result.stdout
