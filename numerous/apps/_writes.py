"""What visitors may write into shared widgets.

With `share_widgets`, a value one visitor sets is shown to every other visitor, and to every
new one. So a shared widget's state is written by strangers, and a trait that its front end
renders as HTML (numerous-widgets' `Button.icon_svg`, a markdown or HTML widget) would let
any visitor put elements, styles or a `<meta http-equiv=refresh>` into everybody's page.

The rule: a visitor's string value that holds markup (`<`), anywhere in the value, is
refused in a shared widget unless the app allows markup in that trait. That keeps
HTML-rendering traits safe without knowing how each widget renders. An app can also say
which traits of which widgets visitors may set at all. Updates and values offered back on a
reconnect (restore_state) are checked the same way. Private widgets are not affected: what a
visitor writes there, only that visitor sees.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SharedWrites:
    """What visitors may write into shared widgets (`create_app(share_widgets=...)`).

    Widgets are named by their keys in the dict `run_app()` returns:

        create_app(..., share_widgets=SharedWrites(
            writable={"slider": ["value"], "notes": ["value"]},
            markup={"notes": ["value"]}))
    """

    writable: Mapping[str, Collection[str]] | None = None
    """The traits visitors may set, per widget; None: every public trait of every widget.
    With a mapping, other traits, other widgets and their unnamed children are refused."""
    markup: Mapping[str, Collection[str]] = field(default_factory=dict)
    """The traits whose string values may hold markup (`<`), per widget; none by default."""


def refusal(policy: SharedWrites, key: str | None, state: dict[str, Any]) -> str | None:
    """Why a visitor may not write `state` into the shared widget called `key` (None for a
    widget `run_app()` did not return), or None."""
    if policy.writable is not None:
        allowed = policy.writable.get(key, ()) if key is not None else ()
        refused = [name for name in state if name not in allowed]
        if refused:
            names = ", ".join(name[:64] for name in refused[:5])
            return f"visitors may not set these traits of a shared widget: {names}"
    allowed_markup = policy.markup.get(key, ()) if key is not None else ()
    for name, value in state.items():
        if name not in allowed_markup and _holds_markup(value):
            return f"{name[:64]}: markup is not accepted in a shared widget"
    return None


def _holds_markup(value: Any) -> bool:
    if isinstance(value, str):
        return "<" in value
    if isinstance(value, dict):
        return any(_holds_markup(k) or _holds_markup(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_markup(item) for item in value)
    return False
