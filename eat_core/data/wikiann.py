"""WikiANN / PAN-X: local files (XTREME ``token<TAB>tag`` or Rahimi ``xx:token<TAB>tag``) or the Hugging Face hub.

Whatever the source, the result is a list of :class:`~eat_core.types.Sentence` with IOB2 tags over PER/ORG/LOC.
"""

from __future__ import annotations

from pathlib import Path

from eat_core.bio import repair_orphan_inside
from eat_core.data.columns import ReadReport, read_column_file
from eat_core.errors import DataError
from eat_core.types import Sentence

SPLIT_ALIASES: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "dev": ("dev", "validation", "valid"),
    "test": ("test",),
}
HUB_DATASET = "unimelb-nlp/wikiann"
HUB_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
HUB_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
"""The ClassLabel order of ``ner_tags`` on the hub copy."""


def find_split_file(data_dir: str | Path, lang: str, split: str) -> Path:
    """Locate ``<lang>/<split>.{tsv,txt}`` or ``<split>-<lang>.tsv`` (the XTREME download layout)."""
    root = Path(data_dir)
    if split not in SPLIT_ALIASES:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLIT_ALIASES)}", root)
    candidates = []
    for name in SPLIT_ALIASES[split]:
        for ext in ("tsv", "txt", "conll"):
            candidates += [root / lang / f"{name}.{ext}", root / f"{name}-{lang}.{ext}"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if not root.is_dir():
        raise DataError("data directory not found", root)
    present = sorted(p.relative_to(root).as_posix() for p in root.glob(f"{lang}/*")) or sorted(
        p.name for p in root.iterdir()
    )
    raise DataError(
        f"no {split!r} split for language {lang!r}; looked for {lang}/{split}.tsv and {split}-{lang}.tsv; "
        f"found: {', '.join(present[:12]) or 'nothing'}",
        root,
    )


def read_wikiann_file(path: str | Path, lang: str, *, repair: bool = True) -> tuple[list[Sentence], ReadReport]:
    return read_column_file(path, lang, repair=repair, id_prefix=f"{lang}-{Path(path).stem}")


def load_wikiann_local(
    data_dir: str | Path, lang: str, split: str, *, repair: bool = True
) -> tuple[list[Sentence], ReadReport]:
    """Read one language's split from a local directory such as ``../shared/data/wikiann``.

    Orphan ``I-`` tags (ja dev has 501, zh dev 476) start entities and are counted in the report; ``repair=False``
    refuses them with file and line.
    """
    path = find_split_file(data_dir, lang, split)
    sentences, report = read_column_file(path, lang, repair=repair, id_prefix=f"{lang}-{split}")
    return sentences, report


def load_wikiann_hub(lang: str, split: str, *, revision: str | None = None, repair: bool = True,
                     report: ReadReport | None = None) -> list[Sentence]:
    """Read from the hub parquet copy (needs network access; ``datasets`` >= 4 has no loading scripts)."""
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a core dependency
        raise DataError("the 'datasets' package is needed to read WikiANN from the hub") from exc
    if split not in HUB_SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(HUB_SPLITS)}")
    try:
        ds = datasets.load_dataset(HUB_DATASET, lang, split=HUB_SPLITS[split], revision=revision)
    except Exception as exc:
        raise DataError(
            f"could not load {HUB_DATASET} [{lang}/{split}] from the hub ({exc.__class__.__name__}: {exc}); "
            "offline? point --data at a local WikiANN directory instead"
        ) from exc
    return sentences_from_hub_rows(ds, lang, split, repair=repair, report=report)


def sentences_from_hub_rows(rows, lang: str, split: str, *, repair: bool = True,
                            report: ReadReport | None = None) -> list[Sentence]:
    """Convert hub rows (``tokens``, integer ``ner_tags``) to sentences; ``xx:`` prefixes are stripped.

    Orphan ``I-`` tags become ``B-`` tags, counted in ``report`` when given; ``repair=False`` refuses them.
    """
    prefix = f"{lang}:"
    out = []
    for i, row in enumerate(rows):
        tokens = tuple(t[len(prefix) :] if t.startswith(prefix) else t for t in row["tokens"])
        try:
            tags = tuple(HUB_LABELS[t] for t in row["ner_tags"])
        except IndexError:
            raise DataError(f"{HUB_DATASET} [{lang}/{split}] row {i}: tag id outside 0..6") from None
        fixed, repaired = repair_orphan_inside(tags)
        if repaired and not repair:
            raise DataError(f"{HUB_DATASET} [{lang}/{split}] row {i}: tag {tags[repaired[0]]!r} at token "
                            f"{repaired[0]} does not continue an entity of its type (strict reading)")
        tags = tuple(fixed)
        if report is not None:
            report.repaired_orphan_inside += len(repaired)
            report.sentences += 1
            report.tokens += len(tokens)
        out.append(Sentence(id=f"{lang}-{split}-{i}", lang=lang, tokens=tokens, tags=tags))
    return out
