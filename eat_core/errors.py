"""Errors a user can act on. Each names the file, line, language or parameter at fault."""

from __future__ import annotations

from pathlib import Path


class EatError(Exception):
    """Base class: the CLI prints these as one clear line instead of a traceback."""


class DataError(EatError):
    """Malformed or missing input data."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        where = ""
        if self.path:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(where + message)


class ConfigError(EatError):
    """An invalid configuration value or an unknown registry name."""


class StoreError(EatError):
    """The DuckDB store is locked, corrupt or of a newer schema."""


class BackendError(EatError):
    """An LLM backend or extractor failed in a way retries cannot fix."""
