"""ipywidgets' `Output` without a kernel: `with out:` captures what the block prints.

In a notebook, `with out: print(...)` works because the kernel routes the cell's output to the
widget. Here there is no kernel, so ipywidgets would let the text go to the server's terminal.
Inside the block, this module sends the thread's `sys.stdout`/`sys.stderr` writes to the widget
instead (each session thread only its own: other threads keep printing where they did), and
`clear_output()` empties the widget. Rich displays go through `out.append_display_data(obj)`.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any, TextIO

from ipywidgets import Output

_local = threading.local()


def _stack() -> list[Output]:
    stack: list[Output] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def append_stream(out: Output, name: str, text: str) -> None:
    """Add `text` to the widget, joined to the last entry when it is the same stream (print
    writes the text and its newline separately)."""
    if not text:
        return
    outputs = list(out.outputs)
    last = outputs[-1] if outputs else None
    if last is not None and last.get("output_type") == "stream" and last.get("name") == name:
        outputs[-1] = {**last, "text": last["text"] + text}
    else:
        outputs.append({"output_type": "stream", "name": name, "text": text})
    out.outputs = tuple(outputs)


class _ThreadStream:
    """`sys.stdout` or `sys.stderr`: writes go to the thread's innermost `with out:` block,
    or to the real stream outside one."""

    def __init__(self, name: str, real: TextIO) -> None:
        self._name = name
        self._real = real

    def write(self, text: str) -> int:
        stack = _stack()
        if not stack:
            return self._real.write(text)
        append_stream(stack[-1], self._name, text)
        return len(text)

    def flush(self) -> None:
        if not _stack():
            self._real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _capture_streams() -> None:
    """Put the thread-aware streams in place, over whatever `sys.stdout` is now (a test
    runner's capture, say): done at the first `with out:`, so apps without one keep theirs."""
    if not isinstance(sys.stdout, _ThreadStream):
        sys.stdout = _ThreadStream("stdout", sys.stdout)
    if not isinstance(sys.stderr, _ThreadStream):
        sys.stderr = _ThreadStream("stderr", sys.stderr)


def _enter(self: Output) -> Output:
    _capture_streams()
    _stack().append(self)
    return self


def _exit(self: Output, etype: type[BaseException] | None, evalue: BaseException | None,
          tb: TracebackType | None) -> None:
    stack = _stack()
    if stack and stack[-1] is self:
        stack.pop()


def _clear_output(self: Output, *_: Any, **__: Any) -> None:
    self.outputs = ()


def install() -> None:
    """Capture `with out:` blocks on every thread (idempotent; the page routes call it)."""
    if Output.__enter__ is _enter:
        return
    Output.__enter__ = _enter
    Output.__exit__ = _exit
    Output.clear_output = _clear_output
