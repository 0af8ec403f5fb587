"""Pages: the paths an app serves, each a template and a builder, and what a builder is told
about the request that opened its session.

An app is one page at `/` (its `template` and `run_app`) plus any `Page`s it lists. A page's
path uses Starlette's typed parameters (`/orders/{order_id:int}`), so a value that does not
convert matches no route and gets the app's 404 page. Each page load opens a session as
before; the builder may take no argument (numerous-apps 0.6.2's `run_app()`) or one, the
`PageContext`.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._session import Builder

PageBuilder = Callable[..., dict[str, Any]]
"""`run_app()` or `run_app(context)`: returns the page's widgets by the names its template uses."""


class PageNotFound(Exception):
    """Raise it in a builder when the page's parameters name nothing (`/orders/99` without an
    order 99): the visitor gets the app's 404 page instead of an error."""


@dataclass(frozen=True)
class Page:
    """One page of an app: `create_app(..., pages=[Page("/orders/{order_id:int}", ...)])`."""

    path: str
    """The path inside the app, with Starlette path parameters: `/orders/{order_id:int}`."""
    template: str
    """The Jinja2 template, relative to the app's folder, as `create_app(template=...)`."""
    builder: PageBuilder | None = None
    """Builds this page's widgets; None: the app's own `app_generator`."""

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"a page's path starts with '/': {self.path!r}")


@dataclass(frozen=True)
class PageContext:
    """What a page load asked for, as a builder and the page's template see it."""

    path: str
    """The path inside the app, e.g. `/orders/42`."""
    path_params: Mapping[str, Any]
    """The path parameters, converted: `{"order_id": 42}`."""
    query: Mapping[str, str]
    """The query parameters (the last value of a repeated one)."""
    user: Any = None
    """The signed-in user, None without authentication."""
    base: str = ""
    """Where the app is served ("" at the root, "/app1" under combine_apps)."""
    bindings: list[Any] = field(default_factory=list, repr=False, compare=False)
    """Widget traits bound to query parameters while the page was built (see bind_query)."""

    def url(self, path: str) -> str:
        """A link to another page of this app, right under any prefix: `url("/orders/3")`."""
        return page_url(self.base, path)


def page_url(base: str, path: str) -> str:
    return f"{base}/{path.lstrip('/')}"


_current: contextvars.ContextVar[PageContext | None] = contextvars.ContextVar(
    "numerous_page", default=None)
"""The page a session was opened for: set in the session's own context (its worker's), so
every later job of that session sees it, on whichever pool thread it runs."""


def current_page() -> PageContext | None:
    """The page this session was opened for, inside run_app() or a callback; else None.

    A builder written for numerous-apps 0.6.2 (`run_app()` with no argument) can ask here
    for its path and query parameters without changing its signature.
    """
    return _current.get()


def page_builder(builder: PageBuilder, context: PageContext,
                 after: Callable[[PageContext], object] | None = None) -> Builder:
    """The session's builder: `builder` called with or without `context`, then `after`.

    Runs as the session's first job, in the session's own context variables, so the page
    context is kept there for `current_page()` in every later job.
    """
    wants_context = takes_argument(builder)

    def build() -> dict[str, Any]:
        _current.set(context)
        widgets = builder(context) if wants_context else builder()
        if after is not None:
            after(context)
        return widgets

    return build


def takes_argument(builder: Callable[..., Any]) -> bool:
    """Whether the builder has a parameter to receive the page context."""
    try:
        parameters = inspect.signature(builder).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                  inspect.Parameter.VAR_POSITIONAL)
    return any(p.kind in positional for p in parameters)


__all__ = ["Page", "PageBuilder", "PageContext", "PageNotFound", "current_page", "page_builder", "page_url",
           "takes_argument"]
