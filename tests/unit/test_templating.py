"""The app's template: mount points, missing and unused widgets, injection, overrides."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from numerous.apps._templating import (
    BUILTIN_DIR,
    FRAGMENTS,
    Templates,
    TemplateProblem,
    _MountPoint,
    export_templates,
    inject,
    json_script,
)

HEAD = '<link rel="stylesheet" href="/numerous/base.css">'
BODY = '<script type="module" src="/numerous/js/v/main.js"></script>'


def templates(tmp_path: Path, text: str, name: str = "index.html.j2") -> Templates:
    (tmp_path / name).write_text(text)
    return Templates(tmp_path, name)


def test_a_key_renders_its_mount_point(tmp_path: Path) -> None:
    html = templates(tmp_path, "<main>{{ counter }}</main>").render_page(
        ["counter"], head="", body="")
    assert ('<div id="counter" class="numerous-widget" data-numerous-widget="counter"></div>'
            in html)


def test_keys_are_escaped_in_the_mount_point() -> None:
    used: set[str] = set()
    html = _MountPoint('x"><script>alert(1)</script>', used).__html__()
    assert "<script>" not in html and "&#34;&gt;&lt;script&gt;" in html
    assert used == {'x"><script>alert(1)</script>'}


def test_context_values_are_autoescaped(tmp_path: Path) -> None:
    html = templates(tmp_path, "<h1>{{ title }}</h1>").render_page(
        [], head="", body="", context={"title": "<b>x</b>"})
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_a_template_naming_an_unknown_widget_names_the_key_and_the_keys_there_are(
        tmp_path: Path) -> None:
    page = templates(tmp_path, "{{ counter }} {{ buton }}")
    with pytest.raises(TemplateProblem) as caught:
        page.render_page(["counter", "button"], head="", body="")
    message = str(caught.value)
    assert "'buton'" in message
    assert "counter, button" in message
    assert caught.value.template == "index.html.j2"


def test_without_widgets_the_message_says_none(tmp_path: Path) -> None:
    with pytest.raises(TemplateProblem) as caught:
        templates(tmp_path, "{{ chart }}").render_page([], head="", body="")
    assert "'chart'" in str(caught.value) and "(none)" in str(caught.value)


def test_is_defined_tests_still_work_for_missing_names(tmp_path: Path) -> None:
    page = templates(tmp_path, "{% if chart is defined %}{{ chart }}{% else %}no chart"
                               "{% endif %}")
    assert "no chart" in page.render_page([], head="", body="")
    assert 'data-numerous-widget="chart"' in page.render_page(["chart"], head="", body="")


def test_a_template_syntax_error_is_a_template_problem(tmp_path: Path) -> None:
    with pytest.raises(TemplateProblem) as caught:
        templates(tmp_path, "{% if %}").render_page([], head="", body="")
    assert "index.html.j2" in str(caught.value)


def test_a_missing_template_is_a_template_problem(tmp_path: Path) -> None:
    with pytest.raises(TemplateProblem) as caught:
        Templates(tmp_path, "nope.html.j2").render_page([], head="", body="")
    assert "nope.html.j2" in str(caught.value)


def test_unused_widgets_are_logged_once(tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    page = templates(tmp_path, "{{ a }}")
    with caplog.at_level(logging.WARNING, logger="numerous.apps"):
        for _ in range(3):
            page.render_page(["a", "b", "c"], head="", body="")
    warnings = [r.getMessage() for r in caplog.records if r.name == "numerous.apps"]
    assert len(warnings) == 1
    assert "b, c" in warnings[0] and "index.html.j2" in warnings[0]


def test_a_fully_used_template_logs_nothing(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="numerous.apps"):
        templates(tmp_path, "{{ a }}{{ b }}").render_page(["a", "b"], head="", body="")
    assert caplog.records == []


def test_a_bare_fragment_is_wrapped_into_a_full_document(tmp_path: Path) -> None:
    html = templates(tmp_path, '<link href="static/x.css" rel="stylesheet">\n{{ a }}'
                     ).render_page(["a"], head=HEAD, body=BODY)
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in html
    head, body = html.split("</head>")
    assert HEAD in head
    assert 'data-numerous-widget="a"' in body and body.index("data-numerous-widget") < \
        body.index(BODY) < body.index("</body>")
    assert html.rstrip().endswith("</html>")


def test_head_and_body_go_before_the_closing_tags_of_a_full_document() -> None:
    page = ("<!DOCTYPE html>\n<html><head><title>T</title></head>\n"
            "<body><p>content</p></body>\n</html>")
    html = inject(page, head=HEAD, body=BODY)
    assert html.index("<title>T</title>") < html.index(HEAD) < html.index("</head>")
    assert html.index("<p>content</p>") < html.index(BODY) < html.index("</body>")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count(HEAD) == 1 and html.count(BODY) == 1


def test_closing_tags_are_found_in_any_case() -> None:
    html = inject("<HTML><HEAD></HEAD ><BODY>x</Body></HTML>", head=HEAD, body=BODY)
    assert html.index(HEAD) < html.index("</HEAD >")
    assert html.index(BODY) < html.index("</Body>")


def test_a_document_without_a_head_keeps_its_doctype_first() -> None:
    """Anything before <!DOCTYPE> puts the browser into quirks mode."""
    html = inject("<!DOCTYPE html>\n<html><body>x</body></html>", head=HEAD, body=BODY)
    assert html.startswith("<!DOCTYPE html>")
    assert HEAD in html and html.index(BODY) < html.index("</body>")


def test_a_document_without_a_body_end_gets_the_body_appended() -> None:
    html = inject("<html><head></head><main>x</main>", head=HEAD, body=BODY)
    assert html.index(HEAD) < html.index("</head>")
    assert html.endswith(BODY)


def test_json_script_cannot_be_broken_out_of() -> None:
    data = {"evil": "</script><script>alert(1)</script>", "also": "<!--", "amp": "&lt;"}
    element = str(json_script("numerous-config", data))
    assert element.count("</script>") == 1 and element.endswith("</script>")
    assert "<!--" not in element and "<script>alert" not in element
    inner = re.fullmatch(r'<script id="numerous-config" type="application/json">(.*)</script>',
                         element, re.S)
    assert inner is not None
    assert json.loads(inner.group(1)) == data


def test_json_script_escapes_its_id() -> None:
    element = str(json_script('x" onload="alert(1)', {}))
    assert 'onload="alert' not in element


def test_builtin_fragments_render_with_their_ids(tmp_path: Path) -> None:
    page = templates(tmp_path, "")
    html = page.fragments()
    for element_id in ("numerous-splash", "numerous-error-modal", "numerous-session-lost"):
        assert f'id="{element_id}"' in html
    for marker in ("data-numerous-error-title", "data-numerous-error-message",
                   "data-numerous-error-traceback", "data-numerous-error-close",
                   "data-numerous-reload"):
        assert marker in html


def test_a_builtin_template_is_overridden_from_the_apps_templates_folder(
        tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "splash_screen.html.j2").write_text(
        '<div id="numerous-splash">My own splash {{ 1 + 1 }}</div>')
    page = templates(tmp_path, "")
    html = page.fragments()
    assert "My own splash 2" in html
    assert "numerous-splash__spinner" not in html
    assert 'id="numerous-error-modal"' in html, "the others still come from the package"


def test_the_error_page_escapes_what_it_shows(tmp_path: Path) -> None:
    html = templates(tmp_path, "").render_builtin(
        "error.html.j2", title="App error", error_message="<img src=x onerror=alert(1)>",
        traceback="Traceback <b>", status_code=500, retry=False, base_css_url="/b.css")
    assert "<img src=x" not in html and "&lt;img" in html
    assert "Traceback &lt;b&gt;" in html


def test_builtin_templates_are_not_rendered_with_the_app_undefined(tmp_path: Path) -> None:
    html = templates(tmp_path, "").render_builtin("session_lost_banner.html.j2")
    assert "This session has ended." in html


def test_export_templates_copies_and_keeps_customised_files(tmp_path: Path) -> None:
    results = dict(export_templates(tmp_path))
    splash = tmp_path / "templates" / "splash_screen.html.j2"
    css = tmp_path / "static" / "css" / "numerous-base.css"
    assert results[splash] == "written" and results[css] == "written"
    assert splash.read_text() == (BUILTIN_DIR / "splash_screen.html.j2").read_text()
    assert {name for name in FRAGMENTS} <= {p.name for p in (tmp_path / "templates").iterdir()}

    splash.write_text("mine")
    results = dict(export_templates(tmp_path))
    assert results[splash] == "kept" and results[css] == "same"
    assert splash.read_text() == "mine"

    results = dict(export_templates(tmp_path, overwrite=True))
    assert results[splash] == "written"


def test_head_start_goes_first_in_the_head_of_every_shape_of_page() -> None:
    first = "<script>first()</script>"
    full = inject('<html><head lang="x"><link rel="stylesheet" href="a.css"></head>'
                  "<body></body></html>", head=HEAD, body=BODY, head_start=first)
    assert full.index('<head lang="x">') < full.index(first) < full.index('href="a.css"')
    headless = inject("<html><body>x</body></html>", head=HEAD, body=BODY, head_start=first)
    assert headless.index("<head>") < headless.index(first) < headless.index(HEAD)
    bare = inject('<link rel="stylesheet" href="a.css">{{ a }}', head=HEAD, body=BODY,
                  head_start=first)
    assert bare.index('<meta charset="utf-8">') < bare.index(first) < bare.index(HEAD)
