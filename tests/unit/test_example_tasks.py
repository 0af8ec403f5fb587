"""examples/tasks runs and its own tests pass (as `pytest` in its folder would run them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tasks"


def test_the_tasks_example_passes_its_tests() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(EXAMPLE / "test_app.py"), "-q",
         "-p", "no:cacheprovider"], capture_output=True, text=True, timeout=120,
        cwd=EXAMPLE, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "4 passed" in result.stdout
