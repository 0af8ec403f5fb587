"""Pages: typed paths, the page context, the 404 page, links under a prefix, auth per page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import pytest
import traitlets

from numerous.apps import (
    Page,
    PageContext,
    PageNotFound,
    combine_apps,
    create_app,
    current_page,
)
from numerous.apps._pages import takes_argument

from ._support import config_of, ws_hello, ws_message
from ._auth_support import PAGE, env_provider, login


class Label(anywidget.AnyWidget):
    _esm = "export default { render({ model, el }) { el.textContent = model.get('text'); } }"
    text = traitlets.Unicode("").tag(sync=True)


def run_home() -> dict[str, Any]:
    page = current_page()  # a 0.6.2-style builder can still ask for its query
    return {"label": Label(text=f"home q={page.query.get('q') if page else None}")}


def run_order(context: PageContext) -> dict[str, Any]:
    order_id = context.path_params["order_id"]
    assert isinstance(order_id, int)
    if order_id > 1000:
        raise PageNotFound
    return {"label": Label(text=f"order {order_id + 1} tab={context.query.get('tab')}")}


def make_pages_app(tmp_path: Path, **kwargs: Any) -> Any:
    (tmp_path / "index.html.j2").write_text(
        "<main>{{ label }}<a id='to-order' href=\"{{ page_url('/orders/7') }}\">7</a></main>")
    (tmp_path / "order.html.j2").write_text(
        "<main>Order {{ page.path_params.order_id }} {{ label }}"
        "<a id='home' href=\"{{ base }}/\">home</a></main>")
    return create_app(template="index.html.j2", base_dir=tmp_path, app_generator=run_home,
                      pages=[Page("/orders/{order_id:int}", "order.html.j2", run_order)],
                      **kwargs)


def label_of(app: Any, config: dict[str, Any]) -> str:
    session = next(s for s in app.numerous.sessions if s.id == config["session"])
    return str(session.widgets["label"].text)


def test_a_page_gets_its_converted_path_and_query_parameters(tmp_path: Path, served: Any) -> None:
    app = make_pages_app(tmp_path)
    client = served(app)
    response = client.get("/orders/41?tab=items")
    assert response.status_code == 200
    assert "Order 41" in response.text and 'href="/"' in response.text
    assert label_of(app, config_of(response.text)) == "order 42 tab=items"


def test_a_builder_without_argument_runs_as_before_and_can_ask_for_the_page(
        tmp_path: Path, served: Any) -> None:
    app = make_pages_app(tmp_path)
    client = served(app)
    response = client.get("/?q=plums")
    assert label_of(app, config_of(response.text)) == "home q=plums"
    assert 'href="/orders/7"' in response.text


@pytest.mark.parametrize("path", ["/orders/abc", "/orders/", "/nowhere", "/orders/1/more"])
def test_unknown_pages_and_unconverted_parameters_get_the_404_page(
        tmp_path: Path, served: Any, path: str) -> None:
    app = make_pages_app(tmp_path)
    client = served(app)
    response = client.get(path, headers=PAGE)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text and "Traceback" not in response.text
    assert len(app.numerous.sessions) == 0, "no session for a page that does not exist"
    assert client.get(path).json() == {"detail": "Not Found"}, "non-browsers still get JSON"


def test_a_builder_says_its_record_does_not_exist_with_the_404_page(
        tmp_path: Path, served: Any, caplog: pytest.LogCaptureFixture) -> None:
    app = make_pages_app(tmp_path)
    response = served(app).get("/orders/1001", headers=PAGE)
    assert response.status_code == 404 and "Page not found" in response.text
    assert len(app.numerous.sessions) == 0
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_the_404_page_is_the_apps_own_error_template(tmp_path: Path, served: Any) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "error.html.j2").write_text(
        "<h1>Our own {{ status_code }}: {{ title }}</h1>")
    client = served(make_pages_app(tmp_path))
    response = client.get("/orders/abc", headers=PAGE)
    assert response.status_code == 404
    assert "Our own 404: Page not found" in response.text


def test_links_and_pages_work_under_combine_apps(tmp_path: Path, served: Any) -> None:
    app = make_pages_app(tmp_path, path_prefix="/shop")
    client = served(combine_apps({"/shop": app}))
    home = client.get("/shop/")
    assert 'href="/shop/orders/7"' in home.text
    order = client.get("/shop/orders/7")
    assert order.status_code == 200 and 'href="/shop/"' in order.text
    assert label_of(app, config_of(order.text)) == "order 8 tab=None"
    missing = client.get("/shop/orders/x", headers=PAGE)
    assert missing.status_code == 404 and 'href="/shop/numerous/base.css"' in missing.text


def test_public_and_protected_patterns_apply_per_page(tmp_path: Path, served: Any) -> None:
    app = make_pages_app(tmp_path, auth_provider=env_provider(), public_routes=["/orders/*"])
    client = served(app)
    public = client.get("/orders/3", headers=PAGE)
    assert public.status_code == 200
    with client.websocket_connect("/numerous/ws") as ws:  # signed out, on the public page
        ws_hello(ws, config_of(public.text)["session"])
        assert ws_message(ws)["type"] == "open"
    assert client.get("/", headers=PAGE).status_code in (302, 303, 307, 401)
    assert login(client, "ann").status_code == 200
    assert client.get("/", headers=PAGE).status_code == 200


def test_pages_need_paths_of_their_own(tmp_path: Path) -> None:
    (tmp_path / "index.html.j2").write_text("{{ label }}")
    with pytest.raises(ValueError, match="/a"):
        create_app(template="index.html.j2", base_dir=tmp_path, app_generator=run_home,
                   pages=[Page("/a", "index.html.j2"), Page("/a", "index.html.j2")])
    with pytest.raises(ValueError, match="start"):
        Page("orders", "index.html.j2")


def test_a_builder_takes_the_context_when_it_has_a_parameter_for_it() -> None:
    assert not takes_argument(lambda: {})
    assert takes_argument(lambda context: {})
    assert takes_argument(run_order)
    assert not takes_argument(run_home)
