"""`pushfake serve --watch`: reload the fixtures file when it changes, keeping the journal.

The file is polled, not watched through inotify: a stat every `interval` (0.5 s by default)
costs microseconds, needs no dependency and works on every filesystem, including the network
and container mounts where change notifications never arrive. A changed signature (mtime,
size, inode) makes the watcher read the file and compare its SHA-256 with what was loaded, so
a `touch` or an editor's save of the same bytes reloads nothing. A file modified within the
last `RACY_SECONDS` is read on every poll whatever its signature says: a second write in the
same timestamp tick (coarse on some filesystems) with the same size would otherwise go unseen.

The new world is loaded with `Fake.load_fixtures`, the control plane's path: it is read and
checked (in a thread, so a large file never stalls the event loop) before anything changes, so a
broken file is reported in the fixture error's own words, once, and the running world stays.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from pushfake.core.fixtures import FixtureError, read_fixtures
from pushfake.fake import Fake

RACY_SECONDS = 2.0
UNREADABLE = b"unreadable"  # no SHA-256 digest is this short

Signature = tuple[int, int, int]


class FixturesWatch:
    """Watches `path`; `report` gets one line per reload or refusal.

    Build it before the fake reads the file: what it first sees is then no newer than what the
    fake loaded, and a change in between is caught by the first poll.
    """

    def __init__(self, path: str | Path, report: Callable[[str], None]) -> None:
        self.path = Path(path)
        self.report = report
        self.signature, self.digest = self._read(None)

    async def run(self, fake: Fake, interval: float) -> None:
        """Poll until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.poll(fake)
            except Exception as exc:  # a bug, not a broken file: recorded as the fake's failure, and watching goes on
                fake.failures.record(f"reloading {self.path}", exc, fake.clock.now())
                self.report(f"pushfake: reloading {self.path} failed inside pushfake: {type(exc).__name__}: {exc}")

    async def poll(self, fake: Fake) -> None:
        """Load the file into `fake` if its content changed since it was last seen."""
        signature, digest = await asyncio.to_thread(self._read, self.signature)
        self.signature = signature
        if digest is None or digest == self.digest:
            return
        self.digest = digest
        try:
            label, document = await asyncio.to_thread(read_fixtures, self.path)
            fake.load_fixtures(document, label=label, keep_journal=True)
        except FixtureError as exc:
            self.report(f"pushfake: {self.path} changed but was not loaded; the running world stays: {exc}")
            return
        self.report(f"pushfake: reloaded {self.path}: {_census(fake)}; the journal is kept")

    def _read(self, known: Signature | None) -> tuple[Signature | None, bytes | None]:
        """(signature, digest of the content); the digest is None when the signature says
        nothing changed. A file that cannot be read has no signature and its own digest
        (`UNREADABLE`): a change, which `read_fixtures` then reports in its words."""
        try:
            stat = os.stat(self.path)
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if signature == known and time.time_ns() - stat.st_mtime_ns > RACY_SECONDS * 1e9:
                return signature, None
            return signature, hashlib.sha256(self.path.read_bytes()).digest()
        except OSError:
            return None, UNREADABLE


def _census(fake: Fake) -> str:
    apps = len(list(fake.leanplum.state.apps()))
    accounts = len(list(fake.dengage.state.accounts()))
    return f"{apps} Leanplum app{'s' * (apps != 1)}, {accounts} D·engage account{'s' * (accounts != 1)}"
