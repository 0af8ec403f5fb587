"""The session store: widget values kept outside the process, so that a session outlives it.

`create_app(store=RedisStore(...))` installs `store_extension`, whose `StoreKeeper` does three
things, none of them on a session's thread beyond noting what changed:

- **Write-through.** A session's worker reports every value a widget takes (`on_change`); the
  keeper merges it into that session's pending fields, and one writer thread per app writes
  whatever is pending every `interval` seconds (0.25 by default) in one round trip, so a
  session costs at most four writes a second however fast its values change.
- **Rebuild.** A page whose session is gone (its instance was killed, restarted or scaled
  down) reloads and names the lost session in its first hello (`resume`); the instance that
  serves it reads what the store kept for that session, checks that the same owner opened it,
  and puts the values back into the new session's widgets without callbacks, through the
  same checks as a browser's values (`Worker.offered_values`, and so the shared-writes
  policy). With `resume_users`, a signed-in user's new session (another tab, another device)
  starts from the values that user last had, keyed by the authenticated user id only.
- **Shared widgets across instances** (`_shared_sync.py`).

The store down or slow never stops an app: reads give up after `read_timeout` and the page
falls back to the browser's copy (restore_state) or to fresh values; failed writes stay pending
in memory and are written when the store answers again. Each failure is logged once per
outage and counted (`numerous_store_failures`, docs/operate.md).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from ._observe import observe_store_failure
from ._protocol import Hello
from ._runtime import AppRuntime, Extension
from ._session import Session
from ._shared_sync import SharedSync

logger = logging.getLogger("numerous.apps")

STORE_ENV = "NUMEROUS_STORE"
"""A Redis URL: `numerous run --store URL` sets it, and every app without a `store=` of its own
then keeps its sessions there."""
PREFIX_ENV = "NUMEROUS_STORE_PREFIX"
"""The prefix of every key of that store (default `numerous`): deployments sharing a Redis
database keep apart with prefixes of their own."""

Fields = dict[Any, Any]
"""Pending fields of one stored hash: (widget key, trait) -> value, and "owner" -> digest."""


class SessionStore(Protocol):
    """What the keeper needs of a store (`RedisStore` is one). Every call may raise: the
    keeper counts the failure and carries on."""

    ttl: float
    prefix: str

    def write(self, writes: dict[str, dict[str, str]], deletes: list[str]) -> None: ...

    def read(self, key: str) -> dict[str, str]: ...

    def publish(self, key: str, channel: str, fields: dict[str, str], message: str,
                keep: bool = False) -> None: ...

    def listen(self, channel: str, on_message: Callable[[str], None],
               on_ready: Callable[[], None], stop: threading.Event) -> None: ...

    def close(self) -> None: ...


class StoreKeeper:
    """One app's link to its session store: pending writes, the writer thread, rebuilds."""

    def __init__(self, store: SessionStore, *, resume_users: bool = False,
                 interval: float = 0.25, read_timeout: float = 1.0) -> None:
        self.store = store
        self.resume_users = resume_users
        self.interval = interval
        self.read_timeout = read_timeout
        self.failures = 0
        """Store operations that failed since the app started (also in the metrics)."""
        self.writes = 0
        """Rounds of writes that reached the store."""
        self.down = False
        self.shared: SharedSync | None = None
        self._pending: dict[str, Fields] = {}
        self._deletes: list[str] = []
        self._known: set[str] = set()
        """Hashes whose owner digest is in the store: later rounds write only values."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._soon = threading.Event()
        self._thread: threading.Thread | None = None

    # --- keys -------------------------------------------------------------------------------

    def key(self, base: str, kind: str, name: str) -> str:
        """`{prefix}:{app base}:{kind}:{name}`: kind `s` a session, `u` a user, `shared`."""
        return f"{self.store.prefix}:{base or '/'}:{kind}:{name}"

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="numerous-store-writer",
                                        daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Write what is pending (a last round) and end the writer and the shared sync."""
        self._stop.set()
        self._soon.set()
        if self.shared is not None:
            self.shared.stop()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._soon.wait(self.interval)
            self._soon.clear()
            self.flush()
        self.flush()

    def closed(self, key: str) -> None:
        """A session closed: write now rather than at the end of the round (its page, told
        so, will be rebuilt elsewhere in a moment, from what is written here)."""
        with self._lock:
            self._known.discard(key)
        self._soon.set()

    # --- write-through (worker threads note, the writer thread writes) -----------------------

    def opened(self, session: Session) -> None:
        """A new session's widgets exist: from now on its changes are kept (event loop)."""
        if session.worker.shared:
            if self.shared is None or self.shared.worker is not session.worker:
                if self.shared is not None:
                    self.shared.stop()
                self.shared = SharedSync(self, session.worker, session.base)
            return
        keys = {widget.model_id: key for key, widget in session.widgets.items()}
        targets: list[tuple[str, Fields]] = [
            (self.key(session.base, "s", session.id), {"owner": owner_digest(session.owner)})]
        user = user_id(session.user)
        if self.resume_users and user is not None:
            targets.append((self.key(session.base, "u", user), {}))

        def changed(model_id: str, state: dict[str, Any]) -> None:
            key = keys.get(model_id)
            if key is not None:
                self.note(targets, key, state)

        session.worker.on_change = changed
        session.on_close(lambda: self.closed(targets[0][0]))

    def note(self, targets: list[tuple[str, Fields]], key: str, state: dict[str, Any]) -> None:
        """Merge a widget's new values into the pending fields of each target hash (a dict
        update under a lock nobody holds for long: this runs on the session's thread)."""
        fields = {(key, name): value for name, value in state.items()
                  if not name.startswith("_")}
        if not fields:
            return
        with self._lock:
            for store_key, meta in targets:
                pending = self._pending.get(store_key)
                if pending is None:
                    pending = self._pending[store_key] = (
                        {} if store_key in self._known else dict(meta))
                pending.update(fields)

    def flush(self) -> bool:
        """Write everything pending in one round trip (writer thread); False if the store
        failed, and then it all stays pending, under any newer changes."""
        with self._lock:
            pending, self._pending = self._pending, {}
            deletes, self._deletes = self._deletes, []
        if not pending and not deletes:
            return True
        try:
            self.store.write({key: encode(fields) for key, fields in pending.items()}, deletes)
        except Exception as exc:  # noqa: BLE001 - any failure of the store is survived
            self.failed("write", exc)
            self._keep(pending, deletes)
            return False
        self.writes += 1
        with self._lock:
            self._known.update(key for key, fields in pending.items() if "owner" in fields)
        self.recovered()
        return True

    def _keep(self, pending: dict[str, Fields], deletes: list[str]) -> None:
        with self._lock:
            for key, fields in pending.items():
                newer = self._pending.get(key)
                if newer:
                    fields.update(newer)
                self._pending[key] = fields
            self._deletes = deletes + self._deletes

    @property
    def pending(self) -> int:
        """Hashes with changes not yet in the store."""
        return len(self._pending)

    # --- failures ---------------------------------------------------------------------------

    def failed(self, operation: str, exc: BaseException) -> None:
        self.failures += 1
        observe_store_failure(operation)
        if not self.down:
            self.down = True
            logger.warning("session store: %s failed (%s); sessions carry on in memory and "
                           "their changes are written when the store answers again",
                           operation, type(exc).__name__)

    def recovered(self) -> None:
        if self.down:
            self.down = False
            with self._lock:
                self._known.clear()  # a Redis back empty needs the owners again
            logger.warning("session store: answering again; pending changes written")

    # --- rebuild ----------------------------------------------------------------------------

    async def read(self, key: str) -> dict[str, str] | None:
        """A stored hash, or None when the store fails or takes longer than `read_timeout`."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.store.read, key),
                                          self.read_timeout)
        except Exception as exc:  # noqa: BLE001 - a missing store means a fresh session
            self.failed("read", exc)
            return None

    async def joined(self, session: Session, hello: Hello) -> bool:
        """A session's first connection: put back what the store kept for the session the
        page lost (same owner only), or for its signed-in user. True when values came back."""
        if session.worker.shared:
            return False
        values = await self._lost_session(session, hello.get("resume"))
        user = user_id(session.user)
        if values is None and self.resume_users and user is not None:
            found = await self.read(self.key(session.base, "u", user))
            values = decode(found) if found else None
        if not values:
            return False
        await session.call(lambda: _put_back(session, values))
        return True

    async def _lost_session(self, session: Session, old: str | None
                            ) -> dict[str, dict[str, Any]] | None:
        if not old or old == session.id:
            return None
        key = self.key(session.base, "s", old)
        found = await self.read(key)
        if not found or not hmac.compare_digest(found.get("owner", ""),
                                                owner_digest(session.owner)):
            return None  # another owner's session is as good as none
        with self._lock:
            self._deletes.append(key)  # the new session's hash takes over
        return decode(found)


def _put_back(session: Session, values: dict[str, dict[str, Any]]) -> None:
    """On the session's thread: the values, checked as a browser's would be, then noted for
    the new session's own hash (its values so far are these)."""
    session.offered_values(values)
    report = session.worker.on_change
    for key in values:
        widget = session.widgets.get(key)
        if widget is not None and report is not None:
            report(widget.model_id, widget.get_state([n for n in values[key]
                                                      if widget.has_trait(n)]))


# --- encoding -------------------------------------------------------------------------------


def owner_digest(owner: str) -> str:
    """What the store keeps of a session's owner: a digest, never the cookie itself."""
    return hashlib.sha256(b"numerous-session-owner\0" + owner.encode()).hexdigest()


def user_id(user: Any) -> str | None:
    """The authenticated user's id (the provider's `User.id`), or None."""
    value = getattr(user, "id", None)
    return str(value) if value not in (None, "") else None


def encode(fields: Fields) -> dict[str, str]:
    """Hash fields: a trait as JSON `[key, name]` -> its JSON value; values JSON cannot hold
    (binary ones) are not kept."""
    encoded = {}
    for field, value in fields.items():
        if isinstance(field, str):
            encoded[field] = value
            continue
        try:
            encoded[_field_name(field)] = _dumps(value)
        except (TypeError, ValueError):
            continue
    return encoded


@functools.lru_cache(maxsize=4096)
def _field_name(field: tuple[str, str]) -> str:
    """`["key", "trait"]`: the same few names every round, so made once."""
    return json.dumps(list(field))


_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def decode(found: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Stored fields back into {widget key: {trait: value}}; what does not parse is left out."""
    values: dict[str, dict[str, Any]] = {}
    for field, text in found.items():
        if not field.startswith("["):
            continue
        try:
            key, name = json.loads(field)
            values.setdefault(str(key), {})[str(name)] = json.loads(text)
        except (TypeError, ValueError):
            continue
    return values


# --- the extension --------------------------------------------------------------------------


def store_extension(runtime: AppRuntime, store: SessionStore, *, resume_users: bool = False
                    ) -> Extension:
    """The session store as an extension of `runtime`'s app (see the module docstring)."""
    keeper = StoreKeeper(store, resume_users=resume_users)

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        keeper.start()
        try:
            yield
        finally:
            await keeper.stop()

    return Extension(name="store", lifespan=lifespan, state=keeper,
                     session_opened=keeper.opened, session_joined=keeper.joined)
