"""A memo shared by every session: `@cache` runs a function once per arguments, for everyone.

Sessions are threads, so one result computed for a visitor can serve all the others. The cache
is single-flight: while one thread computes a missing key, the others asking for that key wait
for its result instead of computing it again. Where results are kept is a backend: this
process's memory by default (`MemoryBackend`), or Redis (`RedisBackend`, in `_redis_cache.py`)
when several instances of an app should share them.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

Key = tuple[Hashable, ...]
MISSING: Any = object()
"""What a backend's `get` returns for a key it does not hold (None is a value like any)."""


class Backend(Protocol):
    """Where a cached function keeps its results. Every method may be called from any thread."""

    def get(self, name: str, key: Key) -> Any:
        """The value stored for `key`, or `MISSING`."""

    def set(self, name: str, key: Key, value: Any, ttl: float | None,
            maxsize: int | None) -> None:
        """Store `value`, keeping at most `maxsize` keys of `name` (the least recently used
        go first) and forgetting it after `ttl` seconds."""

    def delete(self, name: str, key: Key) -> None: ...

    def clear(self, name: str) -> None:
        """Forget every key of the function `name`."""

    # Optional: `lock(name, key)`, a context manager held while a missing key is computed,
    # for single-flight across processes (see RedisBackend.lock).


class MemoryBackend:
    """Results in this process's memory: an LRU dict per function with expiry times.

    Values are shared by reference, not copied: a caller that mutates a result mutates it for
    every session.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[str, OrderedDict[Key, tuple[float, Any]]] = {}

    def get(self, name: str, key: Key) -> Any:
        with self._lock:
            store = self._stores.get(name)
            entry = store.get(key) if store is not None else None
            if entry is None or store is None:
                return MISSING
            if entry[0] <= time.monotonic():
                del store[key]
                return MISSING
            store.move_to_end(key)
            return entry[1]

    def set(self, name: str, key: Key, value: Any, ttl: float | None,
            maxsize: int | None) -> None:
        expires = time.monotonic() + ttl if ttl is not None else float("inf")
        with self._lock:
            store = self._stores.setdefault(name, OrderedDict())
            store[key] = (expires, value)
            store.move_to_end(key)
            while maxsize is not None and len(store) > maxsize:
                store.popitem(last=False)

    def delete(self, name: str, key: Key) -> None:
        with self._lock:
            self._stores.get(name, {}).pop(key, None)  # type: ignore[call-overload]

    def clear(self, name: str) -> None:
        with self._lock:
            self._stores.pop(name, None)

    def size(self, name: str) -> int:
        """Keys held for `name`, expired ones included until they are next looked at."""
        with self._lock:
            return len(self._stores.get(name, ()))


MEMORY = MemoryBackend()
"""The default backend: one per process, shared by every app in it."""


class _Flight:
    """One computation of a key that other threads may be waiting for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def result(self) -> Any:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class CachedFunction(Generic[P, R]):
    """A function whose results are kept by arguments; made by `@cache`."""

    def __init__(self, fn: Callable[P, R], *, ttl: float | None, maxsize: int | None,
                 backend: Backend, name: str | None) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.ttl = ttl
        self.maxsize = maxsize
        self.backend = backend
        self.name = name or f"{fn.__module__}.{fn.__qualname__}"
        self._lock = threading.Lock()
        self._flights: dict[Key, _Flight] = {}

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self.key(*args, **kwargs)
        value = self.backend.get(self.name, key)
        if value is not MISSING:
            return value  # type: ignore[no-any-return]
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            return flight.result()  # type: ignore[no-any-return]
        return self._compute(key, flight, args, kwargs)

    def _compute(self, key: Key, flight: _Flight, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> R:
        try:
            with self._exclusive(key):
                # Another thread, or another instance, may have stored the key meanwhile.
                value = self.backend.get(self.name, key)
                if value is MISSING:
                    value = self.fn(*args, **kwargs)
                    self.backend.set(self.name, key, value, self.ttl, self.maxsize)
            flight.value = value
            return value  # type: ignore[no-any-return]
        except BaseException as exc:
            flight.error = exc  # the waiters get the same error; nothing is stored
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    def _exclusive(self, key: Key) -> AbstractContextManager[object]:
        """Single-flight across processes, for a backend that offers it (Redis does)."""
        lock = getattr(self.backend, "lock", None)
        return lock(self.name, key) if lock is not None else nullcontext()

    def key(self, *args: Any, **kwargs: Any) -> Key:
        """The cache key of a call: its arguments, which must be hashable."""
        key: Key = (args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError as exc:
            raise TypeError(f"cached function {self.name}: its arguments must be hashable "
                            f"(use tuples, not lists or dicts): {exc}") from None
        return key

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Forget the result for these arguments: the next call computes it again."""
        self.backend.delete(self.name, self.key(*args, **kwargs))

    def clear(self) -> None:
        """Forget every result of this function."""
        self.backend.clear(self.name)


def cache(fn: Callable[P, R] | None = None, *, ttl: float | None = None,
          maxsize: int | None = 128, backend: Backend | None = None,
          name: str | None = None) -> Any:
    """Keep a function's results for every session, by arguments.

    ```python
    @cache(ttl=600, maxsize=32)
    def sales(region: str) -> pd.DataFrame:
        return slow_query(region)
    ```

    `ttl`: seconds a result is kept (None: until pushed out); `maxsize`: results kept at most,
    the least recently used go first (None: no bound); `backend`: `MEMORY` (the default) or a
    `RedisBackend` for several instances; `name`: the key prefix of the function (its module
    and name by default; give it when two processes must agree on it whatever the import
    path). A call that raises stores nothing. `sales.invalidate("north")` forgets one result,
    `sales.clear()` all of them.
    """
    def decorate(function: Callable[P, R]) -> CachedFunction[P, R]:
        return CachedFunction(function, ttl=ttl, maxsize=maxsize, backend=backend or MEMORY,
                              name=name)
    return decorate(fn) if fn is not None else decorate
