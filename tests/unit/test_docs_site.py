"""The documentation site builds in strict mode: a broken link, a missing anchor, a sample file
that is gone or a docstring the API page cannot render fails the build, and so this test."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MKDOCS = str(Path(sys.executable).parent / "mkdocs")
SNIPPET = re.compile(r'^--8<-- "([^"]+)"', re.M)


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    if not Path(MKDOCS).is_file():
        pytest.fail("mkdocs is not installed in this Python: pip install '.[docs]' "
                    "(scripts/test installs it)")
    return subprocess.run([MKDOCS, "build", "--strict", "-f", str(config), "-d", str(site)],
                          cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@pytest.mark.slow
def test_the_site_builds_in_strict_mode_with_search_and_the_api_page(tmp_path: Path) -> None:
    result = build(REPO / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    site = tmp_path / "site"
    assert (site / "search" / "search_index.json").is_file()
    api = (site / "reference" / "api" / "index.html").read_text()
    for name in ("create_app", "start_task", "AppDriver", "EnvAuthProvider", "load_app"):
        assert f'id="numerous.apps' in api and name in api, name
    # The tutorial and the gallery show the files the tests run, not copies of them.
    tutorial = (site / "tutorial" / "index.html").read_text()
    assert "--8&lt;--" not in tutorial and "--8<--" not in tutorial
    for included in ("update_order", "test_every_visitor_has_a_counter_of_their_own",
                     "timeout tunnel"):
        assert included in tutorial, included
    # Files the pages link to outside docs/ are published with the site.
    assert (site / "repo" / "examples" / "orders" / "app.py").is_file()


@pytest.mark.slow
def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs)
    page = docs / "widgets.md"
    page.write_text(page.read_text() + "\nSee [the missing page](missing.md).\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text((REPO / "mkdocs.yml").read_text()
                      .replace("docs_dir: docs", f"docs_dir: {docs}")
                      .replace("- scripts/mkdocs_hooks.py", f"- {REPO}/scripts/mkdocs_hooks.py")
                      .replace("paths: [.]", f"paths: [{REPO}]"))
    result = build(config, tmp_path / "site")
    assert result.returncode != 0
    assert "missing.md" in result.stderr


def test_every_python_sample_in_the_docs_parses() -> None:
    """Samples written into the pages at least parse; whole apps are included from files
    that the test suite runs (the tutorial's steps, the gallery's examples)."""
    for page in sorted((REPO / "docs").rglob("*.md")):
        text = page.read_text()
        for match in re.finditer(r"```python\n(.*?)```", text, re.S):
            line = text[:match.start()].count("\n") + 1
            try:
                ast.parse(textwrap.dedent(match.group(1)))
            except SyntaxError as exc:
                pytest.fail(f"{page.name}:{line}: {exc}")


def test_every_included_sample_file_exists_and_is_tested() -> None:
    included = {name for page in (REPO / "docs").rglob("*.md")
                for name in SNIPPET.findall(page.read_text())}
    assert included, "the tutorial and the gallery include their code from files"
    for name in included:
        path = REPO / name
        assert path.is_file(), name
        assert (path.parent / "test_app.py").is_file() or path.name == "test_app.py" \
            or "tutorial" in path.parts, f"{name} has no test_app.py beside it"


def test_the_tutorials_fragments_are_in_the_files_its_test_uses() -> None:
    """What the tutorial asks the reader to type is in the files tests/e2e/test_tutorial.py
    copies into the bootstrapped app, so the page cannot drift from the tested code."""
    text = (REPO / "docs" / "tutorial.md").read_text()
    folder = REPO / "examples" / "tutorial"
    files = "\n".join(path.read_text() for path in (folder / "app.py", folder / "test_app.py",
                                                    folder / "index.html.j2"))
    fragments = re.findall(r"^```(?:python|jinja)\n(.*?)^```", text, re.S | re.M)
    assert len(fragments) >= 5
    for fragment in fragments:
        if not fragment.startswith("--8<--"):
            assert fragment.rstrip("\n") in files, fragment
