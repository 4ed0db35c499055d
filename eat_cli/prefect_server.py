"""The temporary Prefect server of a flow-path command: started once, up front, and never outliving the command.

Without ``PREFECT_API_URL`` Prefect starts a temporary ("ephemeral") server the first time a client needs one, in
whatever thread asks, and waits ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` for it; on a busy machine the
wait ran out in the middle of a run, as a traceback. Here ``flow_process()`` starts it before any shard:

* a server that does not answer in time is one line (``ServerStartError``, exit 2) naming the setting to raise,
  ``prefect server start`` with ``PREFECT_API_URL``, and ``--direct``; nothing has run;
* the server runs in its own session, so Ctrl-C at the terminal (SIGINT to the whole process group) reaches only
  ``eat``, which marks the run ``interrupted`` and then stops the server itself;
* on Linux the server gets SIGKILL from the kernel when ``eat`` dies (``PR_SET_PDEATHSIG``), even by ``kill -9``.

Prefect's own lazy start still finds this server: it is the instance ``SubprocessASGIServer()`` returns. Python code
that runs flows without the CLI calls ``set_prefect_defaults()`` before importing Prefect and ``start_server()`` once
(``benchmarks/scale_out.py``, ``tests/conftest.py``). Nothing here imports Prefect at module import.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator

from eat_core.errors import EatError

STARTUP_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
_shared: list[str] = []  # the PREFECT_API_URL this module exported for child processes (removed when it stops)
_started: list = []  # the server start_server() launched in this process (stop_server() stops only that one)


class ServerStartError(EatError):
    """The temporary Prefect server did not answer in time (or exited); running again as is would likely repeat it."""

    retryable = False


def set_prefect_defaults() -> None:
    """Defaults for Prefect when ``eat`` starts it; a user's own settings win. Call before Prefect is imported.

    No telemetry (machines without internet log an error per attempt); enough time for a temporary server's first
    start on an empty PREFECT_HOME (migrations take over 20 s, more on a loaded machine). An empty PREFECT_API_URL
    means "none": Prefect's event worker would otherwise take '' for a server address and log an error per event.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault(STARTUP_SETTING, "120")
    if os.environ.get("PREFECT_API_URL", None) == "":
        del os.environ["PREFECT_API_URL"]


@contextlib.contextmanager
def _quiet_prefect() -> Iterator[None]:
    """Prefect's own "Starting/Stopping temporary server" lines are replaced by ours (or by the one error line)."""
    logger = logging.getLogger("prefect")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@functools.cache
def _guarded_server_class():
    from prefect.server.api.server import SubprocessASGIServer

    class GuardedServer(SubprocessASGIServer):
        """Prefect's temporary server, launched in its own session and killed by the kernel when its parent dies."""

        def _run_uvicorn_command(self):  # Prefect 3.8's command, plus the session and the parent-death signal
            import subprocess

            import prefect
            from prefect.settings import get_current_settings

            return subprocess.Popen(
                args=[sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
                      "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
                      "--log-level", "error", "--lifespan", "on"],
                env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                     "PREFECT__SERVER_FINAL": "1",
                     **get_current_settings().to_environment_variables(exclude_unset=True)},
                start_new_session=True, preexec_fn=_die_with_parent(),
            )

    return GuardedServer


def _die_with_parent():
    """A ``preexec_fn`` that asks Linux to SIGKILL the child when this process dies (None elsewhere).

    libc is loaded here, before the fork; if the parent died before the request took effect, the child exits.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def guard() -> None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)

    return guard


def start_server() -> str | None:
    """Start the temporary server once per process (no-op with PREFECT_API_URL set); returns its API URL.

    Raises ``ServerStartError`` (one line, what to do) if it does not answer within the startup setting; the
    half-started server is stopped first.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    if PREFECT_API_URL.value():
        return None
    guarded = _guarded_server_class()
    current = SubprocessASGIServer._instances.get(None)
    if current is not None and current.running:
        return _share(current.api_url)  # already started in this process (by us or by Prefect)
    SubprocessASGIServer._instances.pop(None, None)
    server = guarded()
    _started.append(server)
    timeout = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    t0 = time.monotonic()
    try:
        with _quiet_prefect():
            server.start(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - Prefect raises RuntimeError (timeout) or an HTTP error
        process = server.server_process
        code = process.poll() if process is not None else None
        stop_server()
        why = (f"exited with code {code}" if code is not None
               else "did not answer" if isinstance(exc, RuntimeError) else f"failed: {type(exc).__name__}: {exc}")
        raise ServerStartError(
            f"the temporary Prefect server {why} within {timeout} s ({STARTUP_SETTING}={timeout}); raise it, start "
            "a server with 'prefect server start' and set PREFECT_API_URL, or use --direct") from None
    logging.getLogger("prefect").info("temporary Prefect server on %s (ready in %.0f s; it stops with this command)",
                                      server.address, time.monotonic() - t0)
    return _share(server.api_url)


def _share(api_url: str) -> str:
    """Child processes (local Dask workers running shard tasks, subprocesses) use this server: without
    PREFECT_API_URL each would start a temporary server of its own, which outlives a worker the nanny kills."""
    if "PREFECT_API_URL" not in os.environ:
        os.environ["PREFECT_API_URL"] = api_url
        _shared.append(api_url)
    return api_url


def _unshare() -> None:
    while _shared:
        if os.environ.get("PREFECT_API_URL") == _shared.pop():
            del os.environ["PREFECT_API_URL"]


def drain_prefect(timeout_s: float = 30) -> None:
    """Send what Prefect's log and event workers still hold, while their server runs (at exit they would find it
    stopped and print '--- Error logging to API ---')."""
    services = sys.modules.get("prefect._internal.concurrency.services")
    if services is not None:
        services._QueueServiceBase.drain_all(timeout=timeout_s)


def stop_server() -> None:
    """Stop the temporary server ``start_server()`` launched, if any (logs and events sent first), quietly."""
    if _started:
        drain_prefect()
    while _started:
        with _quiet_prefect():
            _started.pop().stop()
    _unshare()


def stop_all_servers() -> None:
    """Stop every temporary server of this process, ours or Prefect's, quietly (a test session's end: Prefect's own
    atexit stop would log to a stream pytest has closed by then)."""
    server_module = sys.modules.get("prefect.server.api.server")
    _started.clear()
    _unshare()
    if server_module is None:
        return
    drain_prefect()
    for server in list(server_module.SubprocessASGIServer._instances.values()):
        with _quiet_prefect():
            server.stop()


@contextlib.contextmanager
def flow_process() -> Iterator[None]:
    """Around a flow run from the CLI: the server started first, Ctrl-C/SIGTERM turned into a marked interrupt,
    the server stopped after. SIGTERM ends with exit 143 and one line; Ctrl-C's exit 130 is the CLI's."""
    import typer

    from tasks import interrupt

    try:
        start_server()  # inside the try: Ctrl-C while it starts still stops it
        with interrupt.stop_on_signals():
            try:
                yield
            except KeyboardInterrupt:
                if interrupt.requested() == signal.SIGTERM:
                    typer.secho("error: terminated (SIGTERM); the run is marked 'interrupted' and the same command "
                                "resumes it", fg=typer.colors.RED, err=True)
                    raise typer.Exit(143) from None
                raise
    finally:
        stop_server()
