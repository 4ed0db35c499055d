"""The sentences a run evaluates: loaded once per process (memo keyed on file size and mtime), limits applied,
orphan tags repaired and counted."""

from __future__ import annotations

import functools
from pathlib import Path

from eat_core.config.run import RunConfig
from eat_core.data import SAMPLE_DIR, load_split_with_report
from eat_core.data.limits import InputLimits, apply_limits
from eat_core.data.wikiann import find_split_file
from eat_core.types import Sentence


def data_path(cfg, lang: str) -> str:
    d = cfg.data
    if d.source == "hub":
        return f"hub:wikiann/{lang}/{d.split}"
    if d.source == "sample":
        return str(SAMPLE_DIR / lang / f"{d.split}.tsv")

    try:
        return str(find_split_file(d.data_dir, lang, d.split))
    except Exception:  # the loader reports a missing file with its own clear error
        return f"{d.data_dir}/{lang}/{d.split}"



def file_stamp(*paths: str | Path | None) -> tuple:
    """(path, size, mtime_ns) of every file under ``paths``: cheap, and changes when any of them is rewritten."""
    out = []
    for p in paths:
        if not p:
            continue
        root = Path(p)
        if root.is_file():
            out.append((str(root), root.stat().st_size, root.stat().st_mtime_ns))
        elif root.is_dir():
            for f in sorted(x for x in root.rglob("*") if x.is_file()):
                st = f.stat()
                out.append((str(f), st.st_size, st.st_mtime_ns))
    return tuple(out)



@functools.lru_cache(maxsize=32)
def _load_cached(source: str, lang: str, split: str, data_dir: str | None, repair: bool,
                 limit: int | None, stamp: tuple = ()) -> tuple[tuple[Sentence, ...], int]:
    """The split's sentences and how many orphan ``I-`` tags the reader read as entity starts.

    ``stamp`` (size and mtime of the file) keys the memo, so a file rewritten in place is parsed again."""
    sentences, report = load_split_with_report(source, lang, split, data_dir, repair=repair, limit=limit)
    return tuple(sentences), report.repaired_orphan_inside



def load_language(cfg: RunConfig, lang: str) -> list[Sentence]:
    """One language's evaluation sentences (parsed once per process)."""
    d = cfg.data
    stamp = file_stamp(data_path(cfg, lang)) if d.source != "hub" else ()
    return list(_load_limited(cfg.data, lang, stamp)[0])



@functools.lru_cache(maxsize=32)
def _load_limited(d, lang: str, stamp: tuple) -> tuple[tuple[Sentence, ...], tuple[tuple[str, int], ...]]:
    """Sentences within the input limits of ``d`` (a ``DataConfig``), and what truncation cut, by reason."""
    sentences = _load_cached(d.source, lang, d.split, d.data_dir, d.repair_tags, d.limit, stamp)[0]
    path = None if d.source == "hub" else Path(data_path(RunConfig(data=d), lang))
    kept, cut = apply_limits(sentences, InputLimits.from_config(d), path=path)
    return tuple(kept), tuple(sorted(cut.items()))



def truncations(cfg: RunConfig, lang: str) -> dict[str, int]:
    """What ``data.overlong='truncate'`` cut in ``lang``, by reason (empty in the default error mode)."""
    d = cfg.data
    stamp = file_stamp(data_path(cfg, lang)) if d.source != "hub" else ()
    return dict(_load_limited(cfg.data, lang, stamp)[1])



def tag_repairs(cfg: RunConfig, lang: str) -> int:
    """Orphan ``I-`` tags of ``lang``'s split read as entity starts (conlleval's reading; ``--strict-tags`` refuses)."""
    d = cfg.data
    stamp = file_stamp(data_path(cfg, lang)) if d.source != "hub" else ()
    return _load_cached(d.source, lang, d.split, d.data_dir, d.repair_tags, d.limit, stamp)[1]



def input_notes(cfg: RunConfig) -> list[str]:
    """What the readers did to the data, per language, for the run's summary (repairs, input-limit cuts)."""
    notes = []
    for lang in dict.fromkeys(cfg.data.languages):
        repaired = tag_repairs(cfg, lang)
        if repaired:
            notes.append(f"{lang}: {repaired} orphan I- tag(s) read as entity starts (--strict-tags refuses them)")
        cut = truncations(cfg, lang)
        if cut:
            notes.append(f"{lang}: input limits: " + ", ".join(f"{reason}={n}" for reason, n in cut.items()))
    return notes

