"""The ``eat`` command for tests: in this process (fast) or in a child process (when a real process is needed).

Both return an object with ``returncode``, ``stdout`` and ``stderr``, so :func:`assert_user_error` checks either.
Use the child process for what only a process shows: signals, another process's file locks, ``python -m eat_cli``
start-up, environment read at import time, the Prefect path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

from typer.testing import CliRunner

from support.paths import REPO


@dataclass(frozen=True)
class CliResult:
    """What the command did, named as :class:`subprocess.CompletedProcess` names it."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """``eat ARGS`` in this process, through the app's own entry (its one-line usage errors and exit codes)."""
    from eat_cli.main import app

    runner = CliRunner()
    code = 0
    with runner.isolation(env=env) as (out, err, _):
        try:
            app(list(args), prog_name="eat")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return CliResult(code, stdout, stderr)


def run_cli_process(*args: str, env: dict[str, str] | None = None,
                    timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m eat_cli ARGS`` in a child process at the repository root, this environment plus ``env``."""
    return subprocess.run([sys.executable, "-m", "eat_cli", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def assert_user_error(result: CliResult | subprocess.CompletedProcess, *fragments: str, lines: int = 1) -> None:
    """A user error as the CLI promises it: exit 2, ``lines`` line(s) on stderr naming each fragment, no traceback,
    and refused before any model loads."""
    err = result.stderr
    assert result.returncode == 2, err
    assert len(err.strip().splitlines()) == lines, err
    assert "Traceback" not in err and "loading LLM" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
