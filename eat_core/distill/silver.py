"""Silver training sets: one format for every route, stored in DuckDB and exported as WikiANN column files.

A silver set is one target language's sentences with machine-made IOB2 tags, every dropped sentence with the reason
it was dropped, and a signature naming the route, the teacher's run and its configuration. Its id is a content key
(route, teacher run id or input fingerprints, filter settings, the code's silver version), never a path, so the same
request over the same inputs finds the finished set, and a changed input or filter makes a new one.

The export (``<out>/<lang>/train.tsv`` and ``dev.tsv``, ``token<TAB>tag``) is what the extractor trainer reads. The
``dev`` part is a held-out share of the *silver* sentences (``dev_share``, chosen by a hash of the sentence id and
the seed): early stopping must not look at gold target data in a zero-shot setting.

The teacher routes read a finished evaluation run's ``predictions`` rows: tokens, predicted tags, English entities
and failure reasons. The ``gold`` column is never selected: methods never see gold tags, and neither does this.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.data.training_formats import NerRecord, write_docbin, write_hf, write_parquet
from eat_core.distill.filters import RULES, Candidate, judge
from eat_core.errors import DataError
from eat_core.hashing import content_hash
from eat_core.scoring.counts import _version
from eat_core.store import Store

SILVER_VERSION = "1"
"""Bump when filtering or export changes what a silver set holds, so old ids are not reused for new contents."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SilverRow:
    """One sentence offered to a silver set: kept (with its ``part``, train or dev) or dropped (with ``reason``)."""

    sentence_id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None
    kept: bool
    reason: str | None = None
    part: str | None = None
    source: str = "teacher"
    details: tuple[str, ...] = ()
    shard_index: int = 0


@dataclass
class SilverSummary:
    """What a silver set holds: counts, drop reasons, its signature, where it was exported."""

    silver_id: str
    route: str
    lang: str
    signature: str
    kept: int
    dropped: int
    reasons: dict[str, int]
    export_dir: str | None = None
    teacher_run: str | None = None
    reused: bool = False
    parts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> SilverSummary:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def as_dict(self) -> dict:
        return {"silver_id": self.silver_id, "route": self.route, "lang": self.lang, "signature": self.signature,
                "kept": self.kept, "dropped": self.dropped, "reasons": dict(self.reasons),
                "export_dir": self.export_dir, "teacher_run": self.teacher_run, "reused": self.reused,
                "parts": dict(self.parts)}

    def line(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        return (f"{self.lang} {self.route}: kept {self.kept} (train {self.parts.get('train', 0)}, dev "
                f"{self.parts.get('dev', 0)}), dropped {self.dropped}" + (f" ({reasons})" if reasons else "")
                + f"  silver={self.silver_id}" + (" (reused)" if self.reused else ""))


def silver_id_for(route: str, lang: str, key: dict) -> str:
    """``silver-<route>-<lang>-<hash>``: a hash of everything that changes the set (``key``) and the code version."""
    digest = content_hash({"route": route, "lang": lang, "version": SILVER_VERSION, **key})
    return f"silver-{route}-{lang}-{digest[:10]}"


def signature_for(route: str, lang: str, fields: dict) -> str:
    """``silver|route:eat|lang:zh|teacher:smoke-1a2b|...|eat-ner:0.1.0`` (sacrebleu-style, one line)."""
    parts = [f"route:{route}", f"lang:{lang}"] + [f"{k}:{_flat(v)}" for k, v in fields.items()]
    return "|".join(["silver", *parts, f"silver-version:{SILVER_VERSION}", f"eat-ner:{_version('eat-ner')}"])


def _flat(value) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={_flat(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "+".join(_flat(v) for v in value)
    return "none" if value is None else str(value)


def dev_part(sentence_id: str, seed: int, share: float) -> bool:
    """Whether a kept sentence goes to the silver dev part: a stable hash of its id and the seed."""
    return int(content_hash([sentence_id, seed])[:8], 16) / 0xFFFFFFFF < share


def assign_parts(rows: Sequence[SilverRow], seed: int, share: float) -> list[SilverRow]:
    """Kept rows get ``part`` ``train`` or ``dev`` (a stable hash of the id and the seed, at least one of each when
    two or more are kept); with a single kept sentence, or ``share`` 0, every kept row is ``train+dev`` (the
    trainer needs an evaluation set; early stopping then watches the training sentences)."""
    from dataclasses import replace

    kept = [r for r in rows if r.kept]
    dev: set[str] = set()
    both = len(kept) == 1 or share == 0
    if not both and kept:
        ranked = sorted(kept, key=lambda r: content_hash([r.sentence_id, seed]))
        dev = {r.sentence_id for r in kept if dev_part(r.sentence_id, seed, share)} or {ranked[0].sentence_id}
        if len(dev) == len(kept):
            dev.discard(ranked[-1].sentence_id)
    out = []
    for r in rows:
        part = None if not r.kept else "train+dev" if both else "dev" if r.sentence_id in dev else "train"
        out.append(replace(r, part=part))
    return out


# -- the teacher routes: filter a finished evaluation run's predictions ---------------------------------------------


def teacher_candidates(store: Store, run_id: str, lang: str, order: Sequence[str] = ()) -> list[tuple[Candidate, int]]:
    """The teacher's tagged sentences of ``lang`` (never the gold column), in corpus order when ``order`` is given."""
    rows = store.tagged_predictions(run_id, lang)
    position = {sid: i for i, sid in enumerate(order)}
    rows.sort(key=lambda r: (position.get(r[0], len(position)), r[1], r[0]))
    return [(Candidate(sid, tuple(tokens), tuple(pred), len(entities), tuple(failures)), shard)
            for sid, shard, tokens, pred, entities, failures in rows]


def judge_candidates(candidates: Sequence[tuple[Candidate, int]], rule: str, settings: dict,
                     source: str = "teacher") -> list[SilverRow]:
    filters = RULES[rule](settings["max_words"], settings["max_entities"], settings["keep_empty"])
    rows = []
    for c, shard in candidates:
        keep, reason = judge(c, filters)
        rows.append(SilverRow(c.sentence_id, c.tokens, c.tags, keep, reason, source=source,
                              details=tuple(c.failures), shard_index=shard))
    return rows


def summarise(silver_id: str, route: str, lang: str, signature: str, rows: Sequence[SilverRow], **extra
              ) -> SilverSummary:
    reasons = Counter(r.reason or "dropped" for r in rows if not r.kept)
    parts = Counter()
    for r in rows:
        if r.kept:
            for part in (r.part or "train").split("+"):
                parts[part] += 1
    return SilverSummary(silver_id, route, lang, signature, sum(r.kept for r in rows),
                         sum(not r.kept for r in rows), dict(reasons), parts=dict(parts), **extra)


def stored_summary(store: Store, silver_id: str) -> SilverSummary | None:
    """The summary of a finished silver set, or None (not built, or its build did not finish)."""
    row = store.get_silver_set(silver_id) if store.path.exists() else None
    if not row or row["status"] != "done":
        return None
    parts = Counter()
    for part, n in store.silver_part_counts(silver_id):
        for p in (part or "train").split("+"):
            parts[p] += n
    return SilverSummary(silver_id, row["route"], row["lang"], row["signature"], row["kept"], row["dropped"],
                         dict(row["reasons"] or {}), export_dir=row["export_dir"], teacher_run=row["teacher_run"],
                         reused=True, parts=dict(parts))


def stored_rows(store: Store, silver_id: str) -> list[SilverRow]:
    return [SilverRow(r["sentence_id"], tuple(r["tokens"]), tuple(r["tags"]) if r["tags"] is not None else None,
                      r["kept"], r["reason"], r["part"], r["source"], tuple(r["details"]), r["shard_index"])
            for r in store.silver_rows(silver_id)]


# -- export ----------------------------------------------------------------------------------------------------------


def export_silver(rows: Sequence[SilverRow], summary: SilverSummary, out: str | Path,
                  formats: Sequence[str] = ()) -> Path:
    """Write ``<out>/<lang>/train.tsv``, ``dev.tsv`` and ``silver.json``; returns ``<out>``.

    ``formats`` adds the same parts in the formats NER users train from (``eat_core/data/training_formats.py``):
    ``hf`` a ``datasets.DatasetDict`` at ``<out>/<lang>/hf`` (splits ``train`` and ``validation``, as WikiANN on the
    Hub names them), ``parquet`` ``train.parquet`` and ``dev.parquet``, ``spacy`` ``train.spacy`` and ``dev.spacy``.
    A silver sentence has tokens only: its text is the tokens joined by single spaces.

    Files are written beside and renamed into place, so a crash never leaves a half-written export; an existing
    export of another silver set in the same place is replaced.
    """
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise DataError("--out is a file; give a directory", root)
    lang_dir = root / summary.lang
    lang_dir.mkdir(parents=True, exist_ok=True)
    parts: dict[str, list[SilverRow]] = {"train": [], "dev": []}
    for r in rows:
        if r.kept:
            for part in (r.part or "train").split("+"):
                parts[part].append(r)
    for part, members in parts.items():
        text = "\n".join("\n".join(f"{tok}\t{tag}" for tok, tag in zip(r.tokens, r.tags or (), strict=True)) + "\n"
                         for r in members)
        _write_atomic(lang_dir / f"{part}.tsv", text)
    _export_training_formats(parts, summary.lang, lang_dir, formats)
    meta = {**summary.as_dict(), "export_dir": str(root), "reused": None, "formats": list(formats),
            "note": "train/dev are silver (machine-labelled); dev is a held-out share of the silver sentences"}
    _write_atomic(lang_dir / "silver.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return root


def _export_training_formats(parts: dict[str, list[SilverRow]], lang: str, lang_dir: Path,
                             formats: Sequence[str]) -> None:
    def records(part: str):
        return (NerRecord.from_tokens(r.sentence_id, r.tokens, r.tags or ()) for r in parts[part])

    for stale in format_files([f for f in ("hf", "parquet", "spacy") if f not in formats]):
        _remove(lang_dir / stale)  # another set's files must not pass for this one's
    if "hf" in formats:
        write_hf({"train": records("train"), "validation": records("dev")}, lang, lang_dir / "hf")
    for part in parts:
        if "parquet" in formats:
            write_parquet(records(part), lang, lang_dir / f"{part}.parquet")
        if "spacy" in formats:
            write_docbin(records(part), lang_dir / f"{part}.spacy")


def format_files(formats: Sequence[str]) -> list[str]:
    """The files (and directory) ``formats`` add to ``<out>/<lang>/``."""
    names = {"hf": ["hf"], "parquet": ["train.parquet", "dev.parquet"], "spacy": ["train.spacy", "dev.spacy"]}
    return [name for fmt in formats for name in names[fmt]]


def export_is_current(out: str | Path, summary: SilverSummary, formats: Sequence[str] = ()) -> bool:
    meta = Path(out) / summary.lang / "silver.json"
    if not meta.is_file() or not (Path(out) / summary.lang / "train.tsv").is_file():
        return False
    if not all((Path(out) / summary.lang / name).exists() for name in format_files(formats)):
        return False
    try:
        written = json.loads(meta.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return written.get("silver_id") == summary.silver_id and set(formats) <= set(written.get("formats") or ())


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# -- storing a set ---------------------------------------------------------------------------------------------------


def save_silver(store: Store, summary: SilverSummary, rows: Sequence[SilverRow], config: dict) -> None:
    """The set's rows and its ``done`` status in one transaction (a crash leaves neither or both)."""
    store.write_silver_set(summary.silver_id, {
        "route": summary.route, "lang": summary.lang, "teacher_run": summary.teacher_run,
        "signature": summary.signature, "config": config, "kept": summary.kept, "dropped": summary.dropped,
        "reasons": summary.reasons, "export_dir": summary.export_dir}, [row_dict(r, i) for i, r in enumerate(rows)])


def row_dict(r: SilverRow, position: int) -> dict:
    return {"sentence_id": r.sentence_id, "shard_index": r.shard_index, "position": position, "part": r.part,
            "tokens": list(r.tokens), "tags": list(r.tags) if r.tags is not None else None, "kept": r.kept,
            "reason": r.reason, "source": r.source, "details": list(r.details)}
