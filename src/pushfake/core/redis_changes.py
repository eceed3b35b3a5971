"""Change wake-ups across processes, over Redis pub/sub.

Processes that share one world in Redis each keep their own long-pollers (the control plane's
waits, the inbox's event stream, the scheduler). When a process changes something it calls
`notify()`, which publishes on `{namespace}:changes:<name>`; one subscriber thread per
`ChangeChannels` (so one per process) hears every process's messages, its own too, and wakes
the local waiters of that name, exactly as `core.changes.Changes` does in one process. So a
waiter is woken once per message that reaches it, whichever process changed the world.

Pub/sub drops what is published while a subscriber is away. The thread never dies of that: a
lost connection (Redis restarted, a network cut) is logged and retried with a growing back-off,
and once subscribed again it wakes every waiter, since it cannot know what it missed (a waiter
woken for nothing looks again and waits again). A process whose publish fails wakes its own
waiters at least.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import redis

from pushfake.core.changes import Changes
from pushfake.core.replica import escape

log = logging.getLogger("pushfake")

POLL = 0.1  # how long the thread waits for a message before looking whether it should stop
FIRST_RETRY = 0.05  # seconds before the first reconnect; doubled on each failure
LAST_RETRY = 5.0  # the longest wait between reconnects
SUBSCRIBE_TIMEOUT = 5.0  # how long a (re)subscription waits for Redis to confirm it
STOP_TIMEOUT = 10.0  # how long `close` waits for a thread caught in redis-py's own reconnects


def channel_part(name: tuple[str, ...]) -> str:
    """A name as one segment of a channel: its parts escaped as in the store's keys, joined by `/`."""
    return "/".join(map(escape, name))


class PublishedChanges(Changes):
    """One name's waiters in this process; `notify` publishes, and the subscriber thread wakes
    them (and every other process's) when the message arrives."""

    def __init__(self, channels: ChangeChannels, channel: str) -> None:
        super().__init__()
        self._channels = channels
        self.channel = channel  # what a backend that publishes in its commit script names

    def notify(self) -> None:
        self._channels.deliver(self)


class ChangeChannels:
    """Every change channel of one namespace, for one process: `changes(*name)` hands out the
    `Changes` of a name, and one daemon thread (started here, stopped by `close`) wakes them.

    `url_or_client` is a `redis://` URL (a client is made and closed here) or a redis-py client
    (left open). The constructor subscribes before it returns, so a change notified right after
    wakes this process too; it raises redis' `ConnectionError` if Redis cannot be reached.
    """

    def __init__(self, url_or_client: str | redis.Redis, namespace: str = "pushfake") -> None:
        if isinstance(url_or_client, str):
            self._client = redis.Redis.from_url(url_or_client)
            self._own_client = True
        else:
            self._client, self._own_client = url_or_client, False
        self.namespace = namespace
        # How a notify reaches Redis: published at once here; a `RedisStore` publishes it in the
        # commit that writes the change, so it is heard only when every process can read it.
        self.deliver: Callable[[PublishedChanges], None] = self.publish
        self._prefix = f"{namespace}:changes:"
        self._pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self._prefix) + "*"
        self._by_channel: dict[str, PublishedChanges] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pubsub = self._subscribe()
        self._thread = threading.Thread(target=self._listen, name=f"pushfake-changes-{namespace}", daemon=True)
        self._thread.start()

    def changes(self, *name: str) -> PublishedChanges:
        channel = self._prefix + channel_part(name)
        changes = self._by_channel.get(channel)
        if changes is None:
            with self._lock:
                changes = self._by_channel.setdefault(channel, PublishedChanges(self, channel))
        return changes

    def publish(self, changes: PublishedChanges) -> None:
        """Tell every process (this one included, through its thread) that `changes` changed."""
        try:
            self._client.publish(changes.channel, b"")
        except redis.RedisError as exc:
            log.warning("pushfake could not publish a change on %s (%s); only this process's "
                        "waiters are woken", changes.channel, exc)
            changes.wake()

    @property
    def listening(self) -> bool:
        """Whether the subscriber thread is running (it stops only at `close`)."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop the subscriber thread and wait for it; close the client if it was made here."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():  # a daemon: it ends with the process, having nothing to do
                log.warning("pushfake's change channels (%s) did not stop within %.0f s", self.namespace, STOP_TIMEOUT)
        if self._own_client:
            self._client.close()

    def __enter__(self) -> ChangeChannels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _subscribe(self) -> Any:
        """A pub/sub connection on every channel of the namespace, once Redis confirmed it."""
        pubsub = self._client.pubsub()
        try:
            pubsub.psubscribe(self._pattern)
            for _ in range(int(SUBSCRIBE_TIMEOUT / POLL)):
                message = pubsub.get_message(timeout=POLL)
                if message is not None and message["type"] == "psubscribe":
                    return pubsub
            raise redis.TimeoutError(f"Redis did not confirm the subscription to {self._pattern} "
                                     f"within {SUBSCRIBE_TIMEOUT:.0f} s")
        except BaseException:
            pubsub.close()
            raise

    def _listen(self) -> None:
        """The thread: wake the waiters of each message's channel until `close`; reconnect after
        any failure, however long it takes."""
        pubsub: Any = self._pubsub
        retry = FIRST_RETRY
        while not self._stop.is_set():
            try:
                if pubsub is None:
                    pubsub = self._subscribe()
                    log.warning("pushfake's change channels (%s) are subscribed again", self.namespace)
                    self._wake_all()  # what was published meanwhile is lost: everyone looks again
                    retry = FIRST_RETRY
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL)
                if message is not None and message["type"] == "pmessage":
                    self._wake(message["channel"])
            except Exception as exc:  # noqa: BLE001 - any failure: log it, the thread goes on
                log.warning("pushfake's change channels (%s) lost Redis (%s: %s); retrying in %.2f s",
                            self.namespace, type(exc).__name__, exc, retry)
                if pubsub is not None:
                    _close_quietly(pubsub)
                pubsub = None
                self._stop.wait(retry)
                retry = min(retry * 2, LAST_RETRY)
        if pubsub is not None:
            _close_quietly(pubsub)

    def _wake(self, channel: bytes | str) -> None:
        key = channel.decode() if isinstance(channel, bytes) else channel
        changes = self._by_channel.get(key)
        if changes is not None:
            changes.wake()

    def _wake_all(self) -> None:
        for changes in list(self._by_channel.values()):
            changes.wake()


def _close_quietly(pubsub: Any) -> None:
    try:
        pubsub.close()
    except Exception:  # noqa: BLE001 - a connection already gone cannot be closed cleanly
        pass
