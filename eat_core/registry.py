"""Things chosen by name (methods, LLM backends, extractors, profiles), and the one line that refuses a wrong name.

A :class:`LazyRegistry` maps names to ``"module:attr"`` and imports the module only when that name is used, so
choosing the heuristic extractor never imports ``transformers``. Every unknown name, whatever its kind, is refused
with the same line::

    METHODS.check("--method", "crap")
    -> ConfigError("--method: unknown method 'crap'; did you mean 'crop'? (available: eat, eat-ft, direct, ...)")
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from eat_core.errors import ConfigError

_MISSING = object()


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'crop'?"`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_line(kind: str, names: str | Iterable[str], choices: Iterable[str], option: str | None = None,
                 label: str = "available") -> str:
    """``--option: unknown KIND 'x'; did you mean 'y'? (available: a, b)``: the one wording for a wrong name
    (``names`` may hold several, as for a list of language codes; the hint is for the first)."""
    names = [names] if isinstance(names, str) else list(names)
    choices = list(choices)
    prefix = f"{option}: " if option else ""
    return (f"{prefix}unknown {kind} {', '.join(map(repr, names))}{did_you_mean(names[0], choices)} "
            f"({label}: {', '.join(choices)})")


def check_choice(option: str | None, kind: str, name: str, choices: Iterable[str]) -> str:
    """``name`` itself when it is one of ``choices``; else :class:`ConfigError` with :func:`unknown_line`."""
    choices = list(choices)
    if name not in choices:
        raise ConfigError(unknown_line(kind, name, choices, option))
    return name


class LazyRegistry:
    """Names -> ``"module:attr"`` (or the object itself), imported on first :meth:`get`. Iterating gives names."""

    def __init__(self, kind: str, targets: Mapping[str, str | Any]) -> None:
        self.kind = kind
        self._targets: dict[str, str | Any] = dict(targets)

    def names(self) -> tuple[str, ...]:
        return tuple(self._targets)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __len__(self) -> int:
        return len(self._targets)

    def check(self, option: str | None, name: str) -> str:
        """``name`` when registered; else one line naming ``option``, the closest name and every choice."""
        return check_choice(option, self.kind, name, self._targets)

    def get(self, name: str, option: str | None = None) -> Any:
        """The object registered as ``name``, its module imported now if it was given as ``"module:attr"``."""
        target = self._targets[self.check(option, name)]
        if isinstance(target, str):
            module, attr = target.split(":")
            return getattr(importlib.import_module(module), attr)
        return target

    def register(self, name: str, target: str | Any) -> contextlib.AbstractContextManager[None]:
        """Add (or replace) ``name`` now. Used as ``with registry.register(...):`` the previous state comes back
        on exit, so a test's backend does not outlive the test."""
        previous = self._targets.get(name, _MISSING)
        self._targets[name] = target

        @contextlib.contextmanager
        def restore() -> Iterator[None]:
            try:
                yield
            finally:
                if previous is _MISSING:
                    self._targets.pop(name, None)
                else:
                    self._targets[name] = previous

        return restore()
