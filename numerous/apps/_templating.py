"""Pages from the app's Jinja2 template, with widget mount points and the built-in fragments.

`{{ key }}` in the app's template becomes the mount point of the widget `run_app()` returned
under that key. The built-in templates (splash screen, error page, error modal, session-lost
banner, login page) are found first in the app's `templates/` folder, then in the package, so
an app overrides one by placing a file of the same name there.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    TemplateError,
    TemplateNotFound,
    Undefined,
    select_autoescape,
)
from markupsafe import Markup, escape

logger = logging.getLogger("numerous.apps")

BUILTIN_DIR = Path(__file__).resolve().parent / "templates"
BUILTIN_STATIC_DIR = Path(__file__).resolve().parent / "static"
FRAGMENTS = ("splash_screen.html.j2", "error_modal.html.j2", "session_lost_banner.html.j2")
BUILTIN_TEMPLATES = ("login.html.j2", "error.html.j2", *FRAGMENTS)

_HEAD_START = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_HTML_START = re.compile(r"<html[\s>]", re.IGNORECASE)


class TemplateProblem(Exception):
    """The app's template cannot be rendered; the message says why in the user's terms."""

    def __init__(self, message: str, template: str = "") -> None:
        super().__init__(message)
        self.template = template


class _MissingWidget(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _WidgetUndefined(Undefined):
    """`{{ name }}` for a name that is not a widget: fail with that name, once rendered.

    Tests such as `{% if name is defined %}` still work; only printing it fails.
    """

    def __str__(self) -> str:
        raise _MissingWidget(self._undefined_name or "?")

    def __html__(self) -> str:
        return self.__str__()


class _MountPoint:
    """What `{{ key }}` prints: the element the browser renders the widget into."""

    __slots__ = ("key", "used")

    def __init__(self, key: str, used: set[str]) -> None:
        self.key = key
        self.used = used

    def __html__(self) -> str:
        self.used.add(self.key)
        key = escape(self.key)
        return f'<div id="{key}" class="numerous-widget" data-numerous-widget="{key}"></div>'

    __str__ = __html__


class Templates:
    """The app's template plus the built-in ones, with the app's overrides."""

    def __init__(self, base_dir: Path, template: str) -> None:
        self.base_dir = base_dir
        self.template = template
        self.app_env = Environment(
            loader=FileSystemLoader(str(base_dir)),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=_WidgetUndefined,
            auto_reload=True,
        )
        self.builtin_env = Environment(
            loader=ChoiceLoader([FileSystemLoader(str(base_dir / "templates")),
                                 FileSystemLoader(str(BUILTIN_DIR))]),
            autoescape=True,
            auto_reload=True,
        )
        self._reported_unused: set[frozenset[str]] = set()

    def render_page(self, keys: Iterable[str], *, head: str, body: str, head_start: str = "",
                    context: Mapping[str, Any] | None = None, template: str | None = None
                    ) -> str:
        """The app's page (or the page `template`) with mount points for `keys` and the given
        head and body additions (`head_start` first in the head, before the page's own
        stylesheets, which would hold an inline script back until they load)."""
        template = template or self.template
        keys = list(keys)
        used: set[str] = set()
        values: dict[str, Any] = dict(context or {})
        values.update({key: _MountPoint(key, used) for key in keys})
        try:
            html = self.app_env.get_template(template).render(values)
        except _MissingWidget as missing:
            available = ", ".join(keys) or "(none)"
            raise TemplateProblem(
                f"The template {template} places the widget '{missing.name}', but run_app() "
                f"returned no widget with that key. Widgets returned: {available}.",
                template) from None
        except TemplateNotFound as exc:
            raise TemplateProblem(f"Template not found: {exc.name} (looked in {self.base_dir})",
                                  template) from None
        except TemplateError as exc:
            raise TemplateProblem(f"The template {template} has an error: {exc}",
                                  template) from None
        self._report_unused(set(keys) - used, template)
        return inject(html, head=head, body=body, head_start=head_start)

    def _report_unused(self, unused: set[str], template: str) -> None:
        marker = frozenset(unused)
        if unused and marker not in self._reported_unused:
            self._reported_unused.add(marker)
            logger.warning("run_app() returned widgets the template %s never places: %s",
                           template, ", ".join(sorted(unused)))

    def render_builtin(self, name: str, **context: Any) -> str:
        return self.builtin_env.get_template(name).render(context)

    def fragments(self, **context: Any) -> str:
        return "\n".join(self.render_builtin(name, **context) for name in FRAGMENTS)


def inject(html: str, *, head: str, body: str, head_start: str = "") -> str:
    """Put `head_start` right after `<head>`, `head` before `</head>` and `body` before
    `</body>`; wrap a bare fragment."""
    if not _HTML_START.search(html) and not _HEAD_END.search(html):
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"{head_start}\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>Numerous App</title>\n{head}\n</head>\n<body>\n{html}\n{body}\n"
                "</body>\n</html>\n")
    opening = _HEAD_START.search(html)
    if _HEAD_END.search(html):
        html = _insert_before_last(html, _HEAD_END, head)
        if opening is not None:
            html = f"{html[:opening.end()]}\n{head_start}{html[opening.end():]}"
        else:
            html = _insert_before_last(html, _HEAD_END, head_start)
    else:  # a document without a head: give it one, after <html ...>, so the doctype stays first
        start = _HTML_START.search(html)
        end = html.index(">", start.start()) + 1 if start else 0
        html = f"{html[:end]}<head>{head_start}{head}</head>{html[end:]}"
    if _BODY_END.search(html):
        return _insert_before_last(html, _BODY_END, body)
    return html + body


def _insert_before_last(html: str, pattern: re.Pattern[str], text: str) -> str:
    match = None
    for match in pattern.finditer(html):
        pass
    assert match is not None
    return f"{html[: match.start()]}{text}\n{html[match.start():]}"


def json_script(element_id: str, data: Any) -> Markup:
    """A `<script type="application/json">` that no value can break out of."""
    text = json.dumps(data, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script id="{escape(element_id)}" type="application/json">{text}</script>')


def export_templates(project: Path, overwrite: bool = False) -> list[tuple[Path, str]]:
    """Copy the built-in templates to `project/templates/` and the base stylesheet to
    `project/static/css/`, for customisation. Files already there are kept unless `overwrite`.

    Returns each destination with what happened to it: "written", "kept" or "same".
    """
    pairs = [(BUILTIN_DIR / name, project / "templates" / name) for name in BUILTIN_TEMPLATES
             if (BUILTIN_DIR / name).is_file()]
    pairs.append((BUILTIN_STATIC_DIR / "numerous-base.css",
                  project / "static" / "css" / "numerous-base.css"))
    results = []
    for source, target in pairs:
        data = source.read_bytes()
        if target.exists() and target.read_bytes() == data:
            results.append((target, "same"))
        elif target.exists() and not overwrite:
            results.append((target, "kept"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            results.append((target, "written"))
    return results
