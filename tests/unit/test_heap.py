"""The heap policy: survivors of a full collection frozen, and closed sessions' cycles
still collected when sessions close."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from numerous.apps import _heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only a collection frees it


@pytest.fixture
def frozen_heap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_heap, "FREEZE_AFTER_FULL", True)
    yield
    gc.unfreeze()  # leave the test process as it was


def test_the_survivors_of_a_full_collection_are_frozen(frozen_heap: None) -> None:
    gc.unfreeze()
    kept = Node()
    _heap._freeze_survivors("stop", {"generation": 2})  # noqa: SLF001 - what gc.callbacks calls
    assert gc.get_freeze_count() > 0
    assert gc.is_tracked(kept)
    before = gc.get_freeze_count()
    _heap._freeze_survivors("stop", {"generation": 0})  # noqa: SLF001
    assert gc.get_freeze_count() == before, "only full collections freeze"


def test_a_frozen_cycle_is_collected_by_collect_everything(frozen_heap: None) -> None:
    node = Node()
    ref = weakref.ref(node)
    gc.freeze()
    del node
    gc.collect()
    assert ref() is not None, "a plain collection skips frozen objects"
    _heap.collect_everything()
    assert ref() is None, "closing sessions collects what was frozen"
    assert gc.get_freeze_count() > 0, "and freezes the survivors again"
