"""Every example in examples/ is a folder a user can copy: copied alone to a new place, its own
tests pass with `python -m pytest`, as its docstring tells users to run them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path.parent.name for path in (REPO / "examples").glob("*/app.py"))


def test_every_example_has_tests_a_template_and_a_gallery_entry() -> None:
    gallery = (REPO / "docs" / "gallery.md").read_text()
    assert len(EXAMPLES) >= 12
    for name in EXAMPLES:
        folder = REPO / "examples" / name
        assert (folder / "test_app.py").is_file(), name
        assert list(folder.glob("*.html.j2")), name
        assert f"images/gallery/{name}.png" in gallery, name
        assert f"../examples/{name}/app.py" in gallery, name


@pytest.mark.slow
def test_every_example_passes_its_own_tests_in_a_copied_folder(tmp_path: Path) -> None:
    """One pytest run over copies of every example (one interpreter start instead of a dozen:
    `--import-mode=importlib` keeps their `test_app.py` files apart); each file must pass."""
    for name in EXAMPLES:
        shutil.copytree(REPO / "examples" / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", ".env"))
    report = tmp_path / "report.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--import-mode=importlib", f"--junitxml={report}", *EXAMPLES],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cases = ElementTree.parse(report).getroot().iter("testcase")
    passed: dict[str, int] = {}
    for case in cases:
        assert not list(case), f"{case.get('classname')}.{case.get('name')} did not pass"
        example = case.get("classname", "").split(".")[0]
        passed[example] = passed.get(example, 0) + 1
    assert sorted(passed) == EXAMPLES, passed
