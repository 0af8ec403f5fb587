"""The process's heap: what the garbage collector need not look at again.

A full (generation 2) collection walks every container object the process holds, and with
a thousand sessions that took 0.5-1 s on a busy 2-core machine, stopping every session at
once. Two rules keep those walks short:

- Once the app has started, the lifespan collects once and freezes what is left
  (`gc.freeze()`): the framework, ipywidgets and the app's imports live as long as the
  process, and leave every later collection.
- After each full collection, what survived it is frozen too: objects that old are sessions
  and their widgets, which live until their session closes. The next full collection walks
  only what came since, so its pause stays short however many sessions are open.

Frozen objects are still freed by reference counting; a reference cycle among them is not.
So when sessions close, the session manager collects everything (`collect_everything`:
unfreeze, collect, freeze again), once per burst of closes, as it did before this policy.
"""

from __future__ import annotations

import gc
from typing import Any

FREEZE_AFTER_FULL = True
"""Freeze the survivors of each full collection (the unit tests turn it off: they check that
closed objects are collected, in a process that starts many apps)."""

_settled = False


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2 and FREEZE_AFTER_FULL:
        gc.freeze()


def settle_start_up() -> None:
    """Collect once, freeze what is left, and freeze the survivors of every later full
    collection (first call in the process only)."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    gc.callbacks.append(_freeze_survivors)


def collect_everything() -> None:
    """A full collection that frozen objects are part of (closed sessions' cycles), then
    the survivors frozen again."""
    frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    gc.collect()
    if frozen:
        gc.freeze()


__all__ = ["collect_everything", "settle_start_up"]
