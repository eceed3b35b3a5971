"""`pushfake serve --workers N`: N processes answering on one port, one world in a shared store.

The parent binds the listening socket once (`serve.sockets`), builds the world (so the store
holds it before any worker starts, and the banner can tell its credentials), then starts N
workers with multiprocessing's `spawn` (a fresh interpreter each: nothing of the parent's
threads or Redis connections is inherited) and hands each the socket itself. Every worker runs
its own uvicorn server on that one socket (`run_server(sockets=[sock])`): the kernel gives each
new connection to whichever worker accepts first. Each worker builds its `Fake` on the store
the options name; the store already holds this world, so the worker joins it as it is. The
banner is printed once every worker serves: its first line means the port answers.

uvicorn's own `workers=` cannot serve here: it pickles one `uvicorn.Config` for every worker,
while the fake's HTTP protocol (connection cap, deadlines, faults that cut a connection) is
built around each process's own app.

The parent only supervises. SIGINT or SIGTERM: each worker gets SIGTERM, finishes what it is
answering (uvicorn's graceful shutdown), and the command exits 0. Workers ignore SIGINT (a
Ctrl-C reaches the whole process group): their supervisor stops them, once. A worker that ends
before it served (its store unreachable, say; it said why on stderr) stops them all with exit
status 2; one that dies later (killed, out of memory) is replaced, saying so on stderr.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from pushfake.serve.options import ServeSettings

# a worker's entry: (settings, admin token, the listening socket, where it says it started)
Work = Callable[[ServeSettings, "str | None", socket.socket, Connection], None]

POLL_SECONDS = 0.2  # how often the parent looks at its workers
STOP_SECONDS = 15.0  # a worker's graceful stop (uvicorn waits 5 s for answers in progress), then SIGKILL


class _Worker:
    """One worker process and the pipe it says "started" on."""

    def __init__(self, context: Any, work: Work, chosen: ServeSettings, admin_token: str | None,
                 sock: socket.socket) -> None:
        self.started_reader, started_writer = context.Pipe(duplex=False)
        self.process = context.Process(target=work, args=(chosen, admin_token, sock, started_writer),
                                       name="pushfake-worker", daemon=False)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited across exec: workers ignore it
        try:
            self.process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        started_writer.close()
        self.started = False

    def look(self) -> None:
        if not self.started and self.started_reader.poll():
            try:
                self.started = bool(self.started_reader.recv())
            except EOFError:  # it ended before it served
                pass

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()

    def wait(self) -> None:
        self.process.join(STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.started_reader.close()


def supervise(chosen: ServeSettings, admin_token: str | None, sock: socket.socket, work: Work,
              on_ready: Callable[[], None] = lambda: None) -> int:
    """Run `chosen.workers` processes of `work` (`pushfake.serve.server.work`: a module-level
    function, which the spawned interpreter imports by name) on `sock` until SIGINT or SIGTERM:
    0; 2 if a worker could not start. `on_ready` (the banner) runs once every worker serves."""
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    workers: list[_Worker] = []
    status, ready = 0, False
    try:
        workers = [_Worker(context, work, chosen, admin_token, sock) for _ in range(chosen.workers)]
        while not stop.wait(POLL_SECONDS):
            for index, worker in enumerate(workers):
                worker.look()
                if worker.process.is_alive():
                    continue
                worker.look()  # it may have started and died between two looks
                if not worker.started:
                    if worker.process.exitcode not in (2, None):
                        print(f"pushfake: a worker did not start (exit status {worker.process.exitcode})",
                              file=sys.stderr, flush=True)
                    status = 2
                    stop.set()
                    break
                print(f"pushfake: worker {worker.process.pid} ended ({_how(worker.process.exitcode)}); "
                      f"starting another", file=sys.stderr, flush=True)
                worker.wait()
                workers[index] = _Worker(context, work, chosen, admin_token, sock)
            if not ready and not stop.is_set() and all(worker.started for worker in workers):
                ready = True
                on_ready()
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    return status


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"signal {signal.Signals(-exitcode).name}"
    return f"exit status {exitcode}"
