"""The Redis backend of the session store (`create_app(store=RedisStore(...))`).

Each session's widget values are one Redis hash (`{prefix}:{app}:s:{session id}`), each field a
widget trait, with a TTL renewed on every write; a signed-in user's last values are one more
hash (`{prefix}:{app}:u:{user id}`) when the app resumes users. Shared widgets keep their
values in `{prefix}:{app}:shared` and announce each change on the channel
`{prefix}:{app}:shared:changes`: one Lua script writes the hash and publishes, so the order of
the hash's writes is the order every subscriber hears them in.

Every call has a short socket timeout and no retries of its own: the keeper (`_store.py`) calls
from its own threads, retries on its next round, and the app carries on in memory meanwhile.
Whoever can write to the Redis database can set any value a visitor could set, and no more
(values put back pass the same checks as a browser's): use a Redis only the app's instances
reach all the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

try:
    import redis
    from redis.retry import Retry
    from redis.backoff import NoBackoff
except ImportError:  # pragma: no cover - exercised without the extra installed
    redis = None  # type: ignore[assignment]

_WRITE = """
local ttl, at = tonumber(ARGV[1]), 2
for _, key in ipairs(KEYS) do
  local n = tonumber(ARGV[at])
  redis.call('HSET', key, unpack(ARGV, at + 1, at + 2 * n))
  redis.call('PEXPIRE', key, ttl)
  at = at + 1 + 2 * n
end
"""

BATCH = 200
"""Hashes written per script call: one command carries them (cheaper to build than a pipeline
of two commands each), and Redis is never busy with one call for long."""

_PUBLISH = """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('PUBLISH', KEYS[2], ARGV[1])
"""


class RedisStore:
    """Widget values of every session in Redis, so that any instance can rebuild a session.

    `url` is a redis-py URL (`redis://host:6379/0`, `rediss://` for TLS, a password in it if
    the server wants one). `ttl` is how long a session's values outlive its last change
    (seconds); `timeout` bounds every call (the app never waits longer for the store);
    `prefix` starts every key, so that several deployments can share a database.

    Example::

        app = create_app("index.html.j2", app_generator=run_app,
                         store=RedisStore("redis://127.0.0.1:6379/0"))
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, ttl: float = 24 * 3600.0,
                 timeout: float = 0.5, prefix: str = "numerous", client: Any = None) -> None:
        if client is None:
            if redis is None:
                raise ImportError("RedisStore needs redis-py: pip install 'numerous-apps[redis]'")
            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout,
                decode_responses=True, retry=Retry(NoBackoff(), 0), health_check_interval=5)
        if ttl <= 0:
            raise ValueError("ttl must be positive (seconds)")
        self.client = client
        self.ttl = ttl
        self.timeout = timeout
        self.prefix = prefix
        self._publish = client.register_script(_PUBLISH)
        self._write = client.register_script(_WRITE)

    def __repr__(self) -> str:  # never the URL: it may hold a password
        return f"RedisStore(prefix={self.prefix!r}, ttl={self.ttl})"

    def write(self, writes: dict[str, dict[str, str]], deletes: list[str]) -> None:
        """Set fields of several hashes and renew their TTL, and delete keys: one round trip
        (a script call per `BATCH` hashes, pipelined)."""
        pipe = self.client.pipeline(transaction=False)
        keys = [key for key, fields in writes.items() if fields]
        for start in range(0, len(keys), BATCH):
            batch = keys[start:start + BATCH]
            args: list[Any] = [int(self.ttl * 1000)]
            for key in batch:
                fields = writes[key]
                args.append(len(fields))
                for pair in fields.items():
                    args.extend(pair)
            self._write(keys=batch, args=args, client=pipe)
        if deletes:
            pipe.delete(*deletes)
        pipe.execute()

    def read(self, key: str) -> dict[str, str]:
        """A hash's fields ({} when it does not exist or has expired)."""
        return dict(self.client.hgetall(key))

    def publish(self, key: str, channel: str, fields: dict[str, str], message: str,
                keep: bool = False) -> None:
        """Set `fields` of `key` and publish `message` on `channel`, atomically. `keep`: no
        TTL (the state of shared widgets lives as long as the app)."""
        flat = [item for pair in fields.items() for item in pair]
        ttl_ms = 0 if keep else int(self.ttl * 1000)
        self._publish(keys=[key, channel], args=[message, ttl_ms, *flat])

    def listen(self, channel: str, on_message: Callable[[str], None],
               on_ready: Callable[[], None], stop: threading.Event) -> None:
        """Call `on_message` with every message on `channel` until `stop` is set; `on_ready`
        once subscribed. Raises when the connection fails (the caller subscribes again)."""
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(channel)
            on_ready()
            while not stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is not None and message.get("type") == "message":
                    on_message(message["data"])
        finally:
            pubsub.close()

    def close(self) -> None:
        self.client.close()
