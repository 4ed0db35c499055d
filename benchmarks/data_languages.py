"""Which languages a benchmark runs on: every language directory under ``--data`` that holds the split.

One definition for the ceiling benchmarks (``alignment_ceiling``, ``method_ceiling``, ``silver_ceiling``,
``scorer_bias``): a fixed tuple would silently skip the languages added to ``../shared/data/wikiann`` later.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eat_core.data.wikiann import find_split_file
from eat_core.errors import DataError


def _has_split(data: Path, lang: str, split: str) -> bool:
    try:
        find_split_file(data, lang, split)
    except DataError:
        return False
    return True


def data_languages(data: Path, split: str, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Sorted names of the directories of ``data`` in which the loader finds ``split`` (``<split>.tsv``, ...)."""
    if not data.is_dir():
        raise SystemExit(f"--data: {data} is not a directory")
    found = sorted(d.name for d in data.iterdir() if d.is_dir() and d.name not in exclude
                   and _has_split(data, d.name, split))
    if not found:
        raise SystemExit(f"--data: no language directory with a {split} split under {data}")
    return tuple(found)


def chosen_languages(args: argparse.Namespace, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """``--languages a,b`` when given, else every language found under ``--data`` for ``--split``."""
    if args.languages:
        return tuple(lang.strip() for lang in args.languages.split(",") if lang.strip())
    return data_languages(args.data, args.split, exclude)


def worst(rows: list[tuple[str, float]], n: int = 5) -> str:
    """``min=<f1> (<lang>); worst5: a=.., b=..``: the summary line the README quotes."""
    ranked = sorted(rows, key=lambda r: (r[1], r[0]))
    return (f"min_token_f1={ranked[0][1]:.2f} ({ranked[0][0]}); worst{min(n, len(ranked))}: "
            + ", ".join(f"{lang}={f1:.2f}" for lang, f1 in ranked[:n]) + f"; languages={len(ranked)}")
