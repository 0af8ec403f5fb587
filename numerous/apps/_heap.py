"""The process's heap: what the garbage collector need not look at again.

A full (generation 2) collection walks every container object the process holds; a server's
imports (the framework, ipywidgets, the app's libraries) are most of them, and they live as
long as the process. Freezing them once the app has started (`gc.freeze()`) takes them out of
every later collection, so a full collection walks the sessions' objects only: with a
thousand idle counter sessions that is about half the objects, and far fewer with fewer
sessions. Frozen objects are still freed by reference counting; only a cycle among them
would stay, and start-up objects are not garbage.
"""

from __future__ import annotations

import gc

_settled = False


def settle_start_up() -> None:
    """Collect once and freeze what is left (first call in the process only: a test process
    starting many apps must still collect what each of them leaves)."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()


__all__ = ["settle_start_up"]
