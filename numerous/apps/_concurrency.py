"""Every hop between the event loop and session threads goes through here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def resolve(loop: asyncio.AbstractEventLoop, future: asyncio.Future[T],
            call: Callable[[], T]) -> None:
    """Run `call` on this (non-loop) thread and settle `future` on the loop with its outcome."""
    try:
        result = call()
    except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
        _call_soon(loop, _set_exception, future, exc)
    else:
        _call_soon(loop, _set_result, future, result)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        pass  # the loop has closed: nobody is waiting any more


def _set_result(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def notify(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """Schedule `fn(*args)` on the loop from any thread; a closed loop is ignored.

    On the loop's own thread this is `call_soon`: the loop is running, so the write that
    wakes it from another thread would be a wasted system call."""
    if asyncio._get_running_loop() is loop:  # noqa: SLF001 - a C-level lookup, no exception
        loop.call_soon(fn, *args)
    else:
        _call_soon(loop, fn, *args)
