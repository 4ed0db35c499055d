"""NER and translation metrics over sufficient statistics, each with a signature.

Two F1 conventions, because the field uses both:

* ``token_f1`` -- the EAT paper's number: labels in the IO scheme, micro-averaged over PER/ORG/LOC (what
  ``sklearn.metrics.f1_score(average="micro", labels=[...])`` gives), over sentences whose gold holds an entity.
  Three named protocols (``TOKEN_F1_PROTOCOLS``):

  - ``eat-official`` -- the official EAT scorer (ZelateCalcite/EAT_NER), the one behind the paper's tables. It does
    not score tags where they stand: it rebuilds every gold and predicted entity as a *string* and labels that
    string's first still-unlabelled occurrence in the sentence (characters for zh/ja, tokens elsewhere). A repeated
    string, a ``#`` inside a zh/ja entity, ``'''`` quotes or a ``( 51 )`` suffix therefore move or drop labels. See
    :func:`official_counts` for the rules.
  - ``token`` -- the same F1 with every tag at its true token position: what we recommend for new comparisons.
  - ``all-sentences`` -- ``token`` that also counts false positives in sentences without gold entities.
* ``entity_f1`` -- strict IOB2 entity-level F1 (seqeval ``mode="strict"``), which the rest of the field reports.

Counts first, scores second (sacrebleu's habit): shards add their :class:`Counts`, the aggregate divides once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata

from eat_core.types import ENTITY_TYPES

PAPER_PROTOCOL = "eat-official"
"""The protocol behind EAT Table 4 and every number the paper reports."""



RECOMMENDED_PROTOCOL = "token"



def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"



@dataclass(frozen=True)
class Signature:
    """Which metric, with which options, computed by which library versions; stored beside every number."""

    metric: str
    options: tuple[tuple[str, str], ...]
    versions: tuple[tuple[str, str], ...]

    @classmethod
    def make(cls, metric: str, options: dict[str, object], packages: Sequence[str]) -> Signature:
        opts = tuple(sorted((k, str(v)) for k, v in options.items()))
        versions = tuple((p, _version(p)) for p in ("eat-ner", *packages))
        return cls(metric, opts, versions)

    def __str__(self) -> str:
        parts = [self.metric, *(f"{k}:{v}" for k, v in self.options), *(f"{p}:{v}" for p, v in self.versions)]
        return "|".join(parts)



@dataclass
class Counts:
    """True positives, false positives and false negatives per entity type; adding two merges shards."""

    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"tp": dict(self.tp), "fp": dict(self.fp), "fn": dict(self.fn)}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, int]]) -> Counts:
        return cls(Counter(data.get("tp", {})), Counter(data.get("fp", {})), Counter(data.get("fn", {})))



@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    support: int



def prf(tp: int, fp: int, fn: int) -> Score:
    """Precision, recall, F1 in percent; 0 where undefined (sklearn's ``zero_division=0``)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Score(100 * p, 100 * r, 100 * f, tp + fn)



def micro(counts: Counts, types: Sequence[str] = ENTITY_TYPES) -> Score:
    return prf(sum(counts.tp[t] for t in types), sum(counts.fp[t] for t in types), sum(counts.fn[t] for t in types))



def per_type(counts: Counts, types: Sequence[str] = ENTITY_TYPES) -> dict[str, Score]:
    return {t: prf(counts.tp[t], counts.fp[t], counts.fn[t]) for t in types}

