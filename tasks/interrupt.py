"""Ctrl-C and SIGTERM on the flow path: one stop, never retried, never swallowed.

A ``KeyboardInterrupt`` raised while DuckDB runs a query comes back as ``RuntimeError('Query interrupted')``, which a
retried task would take for I/O trouble and run again (and the flow would go on to the next shard). So the signal
handler also records *that* a stop was asked for: ``retry_unless_permanent`` retries nothing once it is set, and the
flows call ``check()`` between shards, which raises ``KeyboardInterrupt`` where the flow marks the run
``interrupted``. No Prefect import: the CLI installs the handlers before the flow starts.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

_requested: int | None = None  # the signal that asked for the stop (SIGINT or SIGTERM), None while running
_installed = False  # stop_on_signals() is active (the CLI runs the flow)


def requested() -> int | None:
    """The signal that asked this process to stop, or None."""
    return _requested


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was asked for (an interrupt may have been turned into another error)."""
    if _requested is not None:
        raise KeyboardInterrupt


def _handler(signum: int, frame) -> None:
    global _requested
    _requested = signum
    # The CLI prints the one line; Prefect's "Crash detected" and state lines would only repeat it.
    logging.getLogger("prefect").setLevel(logging.CRITICAL)
    raise KeyboardInterrupt


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` in the main thread and are remembered (``requested()``, until
    the block ends: read it inside). Outside the main thread (signals cannot be set there) this does nothing.
    Handlers are restored on exit.
    """
    global _requested, _installed
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested = None
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    level = logging.getLogger("prefect").level
    _installed = True
    try:
        yield
    finally:
        _installed, _requested = False, None  # a later flow in this process (tests, notebooks) starts afresh
        logging.getLogger("prefect").setLevel(level)
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def reclaim_sigterm() -> Iterator[None]:
    """Inside a flow the CLI started: SIGTERM back to ``stop_on_signals``'s handler.

    Prefect's flow engine installs its own SIGTERM handler for the flow; its exception, raised inside a DuckDB query,
    becomes a retried ``RuntimeError`` and the run goes on. Under a Prefect worker (no ``stop_on_signals``) this does
    nothing: the worker's cancellation keeps Prefect's handling.
    """
    if not _installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
