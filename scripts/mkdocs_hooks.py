"""MkDocs hooks for the documentation site (mkdocs.yml).

The Markdown pages in docs/ are read on GitHub too, where they link to files elsewhere in the
repository (`../examples/orders/app.py`, `../bench/plots/peers.png`). On the site those files
are published under `repo/` and the links rewritten to them, so that both readings work and
the strict build still checks every link: a `../` link to a file that does not exist is left
as it is, and MkDocs reports it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"\]\(\.\./([^)#\s]+)")


def _targets(docs: Path) -> set[str]:
    found: set[str] = set()
    for page in docs.glob("*.md"):  # the top-level pages, whose `../` is the repository
        for target in OUTSIDE.findall(page.read_text(encoding="utf-8")):
            if (ROOT / target).is_file():
                found.add(target)
    return found


def on_files(files: Files, config: Any) -> Files:
    for target in sorted(_targets(Path(config["docs_dir"]))):
        files.append(File.generated(config, f"repo/{target}", abs_src_path=str(ROOT / target)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if "/" in page.file.src_uri:
        return markdown

    def rewrite(match: re.Match[str]) -> str:
        target = match.group(1)
        if not (ROOT / target).is_file():
            return match.group(0)
        return f"](repo/{target}"

    return OUTSIDE.sub(rewrite, markdown)
