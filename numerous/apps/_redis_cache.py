"""The Redis backend of `@cache`: results shared by every instance of an app.

Values are pickled (so data frames, arrays and figures work as they are), which means that
whoever can write to the Redis database can make the app run code: use a Redis that only the
app's instances can reach. A result that cannot be pickled is refused at the call with a
`TypeError` naming the function.

Single-flight holds across instances too: the instance that computes a missing key holds a
lock key in Redis (with a lease, `lock_timeout`), and the others wait for the value to appear
or for the lock to go, checking at intervals that grow from 5 to 100 ms.

Each function keeps a sorted set of its keys, scored by last use, so that `maxsize` and
`clear()` work across instances: storing and trimming happen in one Lua script, atomically.
"""

from __future__ import annotations

import hashlib
import pickle
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._cache import MISSING, Key

try:
    import redis
except ImportError:  # pragma: no cover - exercised without the extra installed
    redis = None  # type: ignore[assignment]

_STORE = """
local ttl, now, maxsize = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl / 1000)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], now, KEYS[1])
if maxsize > 0 then
  local extra = redis.call('ZCARD', KEYS[2]) - maxsize
  if extra > 0 then
    local old = redis.call('ZRANGE', KEYS[2], 0, extra - 1)
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
    redis.call('DEL', unpack(old))
  end
end
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""

_CLEAR = """
local keys = redis.call('ZRANGE', KEYS[1], 0, -1)
for i = 1, #keys, 500 do
  redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('DEL', KEYS[1])
"""


class RedisBackend:
    """`@cache(backend=RedisBackend("redis://host:6379/0"))`: results in Redis.

    `url` or `client` (a `redis.Redis` you configured); `prefix` starts every key, so several
    apps can share one database. Argument values make the key through their `repr`, so they
    must be plain values (strings, numbers, tuples, None, ...) whose `repr` is the same in
    every process. `lock_timeout`: seconds another instance waits for one computing a key
    before it computes the key itself (for a computation that died with its process).
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, client: Any = None,
                 prefix: str = "numerous:cache:", lock_timeout: float = 60.0) -> None:
        if client is None:
            if redis is None:
                raise ImportError("the Redis cache backend needs redis-py: "
                                  "pip install 'numerous-apps[redis]'")
            client = redis.Redis.from_url(url)
        self.client = client
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self._store = client.register_script(_STORE)
        self._release = client.register_script(_RELEASE)
        self._clear = client.register_script(_CLEAR)

    def _names(self, name: str, key: Key) -> tuple[str, str]:
        text = repr(key)
        if " at 0x" in text:
            raise TypeError(f"cached function {name}: an argument has no stable repr for a "
                            f"Redis key ({text[:80]}); pass plain values")
        digest = hashlib.sha256(text.encode()).hexdigest()
        return f"{self.prefix}{name}:{digest}", self._index(name)

    def _index(self, name: str) -> str:
        return f"{self.prefix}{name}:@keys"

    def get(self, name: str, key: Key) -> Any:
        data_key, index = self._names(name, key)
        pipe = self.client.pipeline(transaction=False)
        pipe.get(data_key)
        pipe.zadd(index, {data_key: time.time()}, xx=True)  # last use, for maxsize
        raw, _ = pipe.execute()
        return MISSING if raw is None else pickle.loads(raw)  # noqa: S301 - see module doc

    def set(self, name: str, key: Key, value: Any, ttl: float | None,
            maxsize: int | None) -> None:
        data_key, index = self._names(name, key)
        try:
            raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise TypeError(f"cached function {name} returned a {type(value).__name__} that "
                            f"cannot be pickled for the Redis cache: {exc}") from exc
        ttl_ms = max(1, int(ttl * 1000)) if ttl is not None else 0
        self._store(keys=[data_key, index], args=[raw, ttl_ms, time.time(), maxsize or 0])

    def delete(self, name: str, key: Key) -> None:
        data_key, index = self._names(name, key)
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(data_key)
        pipe.zrem(index, data_key)
        pipe.execute()

    def clear(self, name: str) -> None:
        self._clear(keys=[self._index(name)])

    @contextmanager
    def lock(self, name: str, key: Key) -> Iterator[None]:
        """Held while this instance computes `key`; returns early, without the lock, when
        another instance stored the value meanwhile (the caller looks it up again)."""
        data_key, _ = self._names(name, key)
        lock_key, token = f"{data_key}:@lock", secrets.token_hex(8)
        held = self._acquire(lock_key, data_key, token)
        try:
            yield
        finally:
            if held:
                self._release(keys=[lock_key], args=[token])

    def _acquire(self, lock_key: str, data_key: str, token: str) -> bool:
        lease, pause = max(1, int(self.lock_timeout * 1000)), 0.005
        while not self.client.set(lock_key, token, nx=True, px=lease):
            if self.client.exists(data_key):
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        return True

    def size(self, name: str) -> int:
        """Keys of `name` still held in Redis."""
        keys = self.client.zrange(self._index(name), 0, -1)
        return sum(1 for k in keys if self.client.exists(k))
