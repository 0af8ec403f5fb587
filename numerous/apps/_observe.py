"""Where the runtime reports what it does, for whoever watches it (metrics, traces).

A leaf module: the core calls `HOOKS.observer` at a few points (a session opened or closed, a
callback done, a login attempt, a task cancelled) and knows nothing of Prometheus or
OpenTelemetry. With no observer installed each point costs one attribute test.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

LoginEvent = Literal["attempt", "failure", "lockout"]


class Observer(Protocol):
    def session_opened(self, session: Any) -> None: ...

    def session_closed(self, session: Any, reason: str, code: int) -> None: ...

    def callback(self, session: Any, seconds: float, failed: bool) -> None: ...

    def login(self, event: LoginEvent) -> None: ...

    def task_cancelled(self) -> None: ...


class Hooks:
    """The one observer of this process, or None (the default: nothing is measured)."""

    __slots__ = ("observer",)

    def __init__(self) -> None:
        self.observer: Observer | None = None


HOOKS = Hooks()


def observe_login(event: LoginEvent) -> None:
    """A sign-in was tried (`attempt`), refused (`failure`) or turned away (`lockout`)."""
    if HOOKS.observer is not None:
        HOOKS.observer.login(event)


def observe_task_cancelled() -> None:
    if HOOKS.observer is not None:
        HOOKS.observer.task_cancelled()


def observe_store_failure(operation: str) -> None:
    """The session store refused or missed a `read`, `write`, `publish` or `listen`.

    Asked for by name: an observer written before the store existed simply lacks it."""
    report = getattr(HOOKS.observer, "store_failure", None)
    if report is not None:
        report(operation)
