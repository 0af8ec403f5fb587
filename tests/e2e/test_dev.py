"""`numerous dev`: edits show in the open browser; broken code shows its traceback; fixes recover."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage, Server, free_port, spawn, wait_until_serving

HERE = Path(__file__).resolve().parent
NUMEROUS = str(Path(sys.executable).parent / "numerous")


@pytest.fixture
def dev_app(tmp_path: Path) -> Iterator[tuple[Path, Server]]:
    app_dir = tmp_path / "app"
    shutil.copytree(HERE / "counter", app_dir)
    port = free_port()
    process = spawn([NUMEROUS, "dev", "app.py", "--port", str(port)], app_dir,
                    tmp_path / "dev.log")
    server = Server(process, f"http://127.0.0.1:{port}", tmp_path / "dev.log")
    wait_until_serving(server, 20)
    yield app_dir, server
    server.stop()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new))


def test_template_edit_reloads_the_open_page(dev_app: tuple[Path, Server], page: Page) -> None:
    app_dir, server = dev_app
    app = AppPage(page).open(server)
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
    edit(app_dir / "index.html.j2", "{{ counter }}", "<h1 id='title'>Edited</h1>{{ counter }}")
    expect(page.locator("#title")).to_have_text("Edited", timeout=10_000)  # the edit's markup
    app.wait_ready()
    # The value typed into the app survives the reload.
    expect(app.input("counter")).to_have_value("1")


def test_static_edit_reloads_the_open_page(dev_app: tuple[Path, Server], page: Page) -> None:
    app_dir, server = dev_app
    AppPage(page).open(server)
    (app_dir / "static" / "css" / "styles.css").write_text("body { background: rgb(1, 2, 3); }")
    expect(page.locator("body")).to_have_css("background-color", "rgb(1, 2, 3)", timeout=10_000)


def test_app_edit_of_the_same_page_swaps_the_widgets_in_without_reloading(
        dev_app: tuple[Path, Server], page: Page) -> None:
    app_dir, server = dev_app
    app = AppPage(page).open(server)
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    # A label and a callback change; the page (template, keys, widget code) does not.
    edit(app_dir / "app.py", 'label="Click me"', 'label="Add ten"')
    edit(app_dir / "app.py", "counter.value += 1", "counter.value += 10")
    expect(app.button("button")).to_have_text("Add ten", timeout=10_000)
    expect(app.input("counter")).to_have_value("1")  # the value the browser had set
    app.button("button").click()  # the new session's callback
    expect(app.input("counter")).to_have_value("11")
    assert navigations == []  # the same document throughout
    expect(page.locator("[data-numerous-widget='button'] button")).to_have_count(1)

    # The page still reconnects and reloads as ever: a template edit reloads it.
    edit(app_dir / "index.html.j2", "{{ counter }}", "<h1 id='title'>Edited</h1>{{ counter }}")
    expect(page.locator("#title")).to_have_text("Edited", timeout=10_000)
    assert len(navigations) == 1


def test_app_edit_adds_widget_and_errors_show_then_recover(
        dev_app: tuple[Path, Server], page: Page) -> None:
    app_dir, server = dev_app
    app = AppPage(page).open(server)
    app.button("button").click()
    app.button("button").click()
    expect(app.input("counter")).to_have_value("2")

    # Add a widget in app.py and place it in the template.
    edit(app_dir / "index.html.j2", "{{ button }}", "{{ button }}\n{{ note }}")
    edit(app_dir / "app.py", '    return {"counter": counter, "button": button}',
         '    note = wi.Text(value="a new widget")\n'
         '    return {"counter": counter, "button": button, "note": note}')
    expect(app.input("note")).to_have_value("a new widget", timeout=10_000)
    app.wait_ready()
    expect(app.input("counter")).to_have_value("2")  # kept across the reload

    # Break app.py: the open page shows the traceback over the app; the server keeps running.
    good = (app_dir / "app.py").read_text()
    (app_dir / "app.py").write_text(good + "\nthis is not python(\n")
    overlay = app.dev_overlay
    expect(overlay).to_be_visible(timeout=10_000)
    expect(overlay).to_contain_text("SyntaxError")

    # Fix it: the page comes back by itself.
    time.sleep(0.1)
    (app_dir / "app.py").write_text(good)
    expect(app.input("note")).to_have_value("a new widget", timeout=10_000)
    app.wait_ready()
    expect(overlay).to_have_count(0)
    expect(app.input("counter")).to_have_value("2")


def test_page_loaded_while_broken_recovers_by_itself(dev_app: tuple[Path, Server],
                                                     page: Page) -> None:
    app_dir, server = dev_app
    good = (app_dir / "app.py").read_text()
    (app_dir / "app.py").write_text(good.replace("def run_app():", "def run_app(:"))
    time.sleep(0.5)
    app = AppPage(page).open(server, wait=False)
    expect(page.locator("body")).to_contain_text("SyntaxError", timeout=10_000)
    (app_dir / "app.py").write_text(good)
    app.wait_ready(timeout=15_000)
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
