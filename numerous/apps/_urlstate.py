"""URL state: widget traits bound to query parameters, so that a view can be shared.

`bind_query(widget, "value", "fruit")` inside run_app() does two things. When the page was
opened with `?fruit=Plums`, the session starts with that value (checked by the trait like a
value from the browser; a bad one is logged and ignored). And the page keeps the address bar
in step with the trait (numerous/js/urlstate.js): a change replaces (or pushes) the URL, and
back/forward set the trait again in the same session.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal, TypedDict

from ipywidgets import Widget

from ._pages import PageContext, current_page
from ._widgets import validated

logger = logging.getLogger("numerous.apps")

History = Literal["replace", "push"]


class QueryBinding(TypedDict):
    """One binding as the page config hands it to the client."""

    id: str
    trait: str
    param: str
    history: History


def bind_query(widget: Widget, trait: str, param: str, history: History = "replace") -> None:
    """Bind `widget.<trait>` to the query parameter `param` of the page's URL, both ways.

    Call it inside run_app() (outside a page load, e.g. for the agent API, it does
    nothing). The value from the URL is applied once run_app() returns, so
    the app's observers see it like a change made in the page. `history="push"` makes each
    change a new browser history entry (back returns to the previous value); the default
    replaces the current one.
    """
    if history not in ("replace", "push"):
        raise ValueError(f"history is 'replace' or 'push', not {history!r}")
    if trait.startswith("_") or trait not in widget.keys:
        raise ValueError(f"{type(widget).__name__} has no synced trait {trait!r}")
    page = current_page()
    if page is None:
        return  # a session without a page (the agent API): no address bar to keep in step
    binding = QueryBinding(id=widget.model_id, trait=trait, param=param, history=history)
    page.bindings.append((widget, binding))


def apply_query(page: PageContext) -> list[QueryBinding]:
    """Set each bound trait from the page's query (session thread, after run_app())."""
    for widget, binding in page.bindings:
        raw = page.query.get(binding["param"])
        if raw is not None:
            _set_from_query(widget, binding["trait"], raw, binding["param"])
    return [binding for _, binding in page.bindings]


def _set_from_query(widget: Widget, trait: str, raw: str, param: str) -> None:
    value = query_value(widget, trait, raw)
    if value is _INVALID:
        logger.warning("ignored the query parameter %s=%r: not a valid %s.%s", param, raw[:100],
                       type(widget).__name__, trait)
        return
    setattr(widget, trait, value)


_INVALID: Any = object()


def query_value(widget: Widget, trait: str, raw: str) -> Any:
    """The trait value a query string stands for, or `_INVALID`.

    A text trait takes the string as it is; others read it as JSON (`5`, `true`, `[1,2]`).
    Either way the trait validates it, as it does a value from the browser.
    """
    candidates: list[Any] = [raw]
    try:
        candidates.append(json.loads(raw))
    except ValueError:
        pass
    for candidate in candidates:
        try:
            return validated(widget, trait, candidate)
        except Exception:  # noqa: BLE001,S112 - the next reading may fit the trait
            continue
    return _INVALID


__all__ = ["History", "QueryBinding", "apply_query", "bind_query", "query_value"]
