"""The ``eat`` application object's behaviour: user errors as one line (exit 2), interrupts as exit 130."""

from __future__ import annotations

import functools
import sys

import typer

from eat_core.errors import EatError


def _error(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)



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

