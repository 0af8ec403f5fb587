"""`with out:` without a kernel: the block's prints land in the Output widget, per thread."""

from __future__ import annotations

import sys
import threading

import ipywidgets

from numerous.apps import _output

_output.install()


def texts(out: ipywidgets.Output) -> list[tuple[str, str]]:
    return [(o["name"], o["text"]) for o in out.outputs]


def test_prints_inside_the_block_go_to_the_widget_joined_per_stream() -> None:
    out = ipywidgets.Output()
    with out:
        print("one")
        print("two")
        print("oops", file=sys.stderr)
    print("after the block")  # goes where it always went
    assert texts(out) == [("stdout", "one\ntwo\n"), ("stderr", "oops\n")]


def test_nested_blocks_write_to_the_innermost_and_clear_output_empties() -> None:
    outer, inner = ipywidgets.Output(), ipywidgets.Output()
    with outer:
        print("a")
        with inner:
            print("b")
        print("c")
    assert texts(outer) == [("stdout", "a\nc\n")] and texts(inner) == [("stdout", "b\n")]
    outer.clear_output()
    assert outer.outputs == ()


def test_another_threads_prints_do_not_land_in_this_block() -> None:
    out = ipywidgets.Output()
    inside, printed = threading.Event(), threading.Event()

    def elsewhere() -> None:
        inside.wait(5)
        print("from another thread")
        printed.set()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with out:
        inside.set()
        printed.wait(5)
        print("mine")
    thread.join(5)
    assert texts(out) == [("stdout", "mine\n")]
