"""The ``eat`` application object's behaviour: user errors as one line (exit 2), interrupts as exit 130."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer

from eat_core.errors import EatError


def _error(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)


def progress(message: str) -> None:
    """Progress lines go to stderr, so stdout holds only the result (a table, CSV or JSON)."""
    typer.echo(message, err=True)


def fail_line(message: str, raised: BaseException | None) -> NoReturn:
    """A flow run that did not complete: its cause as the last line; exit 2 for a user error (nothing retried would
    change it), else 1."""
    _error(message)
    raise typer.Exit(2 if isinstance(raised, EatError) and not raised.retryable else 1)


def flow_result(state: Any, fail: Callable[[str, BaseException | None], NoReturn] = fail_line) -> Any:
    """The value of a completed Prefect flow run; otherwise ``fail(message, raised)``, which prints and exits.

    ``message`` is the text of the exception the flow raised (ours, a RuntimeError or an OSError, without Prefect's
    prefix), else the state's own message; ``raised`` is that exception, if Prefect stored one.
    """
    logging.getLogger("prefect").setLevel(logging.WARNING)  # the result is the last thing printed, not the server
    if state.is_completed():
        return state.result()
    try:
        raised = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 - a failed state without a stored exception
        raised = exc
    raised = raised if isinstance(raised, BaseException) else None
    own = isinstance(raised, EatError | RuntimeError | OSError)
    fail(str(raised) if own else (state.message or state.name), raised)
    raise AssertionError("fail() must exit")  # pragma: no cover



class EatApp(typer.Typer):
    """Typer, with usage errors (an unknown option, a value of the wrong type) as one line too, exit 2."""

    def __call__(self, *args, **kwargs):
        if "standalone_mode" in kwargs:
            return super().__call__(*args, **kwargs)
        try:
            code = super().__call__(*args, standalone_mode=False, **kwargs)
        except typer.Abort:
            _error("interrupted")
            sys.exit(130)
        except typer.TyperException as exc:  # typer's click usage errors
            code = getattr(exc, "exit_code", 2)
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help text is already printed
                sys.exit(0)
            ctx = getattr(exc, "ctx", None)
            where = f"{ctx.command_path}: " if ctx is not None else ""
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            _error(f"{where}{' '.join(message.split())} (see --help)")
            sys.exit(code)
        sys.exit(code if isinstance(code, int) else 0)



def friendly(func):
    """Turn our own errors into one readable line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except EatError as exc:
            _error(" ".join(str(exc).split()))
            raise typer.Exit(exc.exit_code) from None  # 2: a user error; 1: a run that failed (a full disk)
        except KeyboardInterrupt:
            _error("interrupted; the run is marked 'interrupted' and the same command resumes it")
            raise typer.Exit(130) from None

    return wrapper

