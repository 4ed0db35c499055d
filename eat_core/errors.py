"""Errors a user can act on. Each names the file, line, language or parameter at fault."""

from __future__ import annotations

from pathlib import Path


class EatError(Exception):
    """Base class: the CLI prints these as one clear line instead of a traceback.

    ``retryable`` says whether running the same work again could succeed: a locked file can, a typo cannot.
    """

    retryable = True
    exit_code = 2
    """What ``eat`` exits with: 2 for a user error found before the work starts; 1 for a run that failed."""


class DataError(EatError):
    """Malformed or missing input data."""

    retryable = False

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        where = ""
        if self.path:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(where + message)


class ConfigError(EatError):
    """An invalid configuration value or an unknown registry name."""

    retryable = False


class StoreError(EatError):
    """The DuckDB store is missing, corrupt, of a newer schema or cannot be opened: the same attempt fails again, so
    Prefect's retry policy gives up at once (a locked file is :class:`StoreLocked`)."""

    retryable = False


class StoreLocked(StoreError):
    """Another process held the DuckDB file past the lock timeout; a later attempt may find it free."""

    retryable = True


class DiskFullError(StoreError):
    """A write failed for lack of space (DuckDB's file, its ``.wal``, an output file): every later write would
    fail too, so the run stops, keeping what finished; freeing space and re-running the same command resumes it."""

    retryable = False
    exit_code = 1

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else None
        super().__init__(message)


class BackendError(EatError):
    """An LLM backend or extractor failed in a way retries cannot fix (a missing model, a refused request)."""

    retryable = False


class ServiceUnavailable(BackendError):
    """A served model stayed unreachable through the backend's own retries; a later attempt may succeed."""

    retryable = True


def is_retryable(exc: BaseException) -> bool:
    """False for errors that the same attempt would hit again (``EatError.retryable``); True for anything else."""
    return bool(getattr(exc, "retryable", True))


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``Class: first line of the message``, for the last lines of a failed run."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > limit:
        first = first[: limit - 3] + "..."
    return f"{exc.__class__.__name__}: {first}" if first else exc.__class__.__name__
