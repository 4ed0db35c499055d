"""Which tagged sentences enter a silver set: each filter says keep or drop, and why (datatrove's ``BaseFilter``).

A :class:`Candidate` is one target-language sentence with the tags a teacher (EAT, CROP), a projection or a student
gave it, the number of entities the labeller meant to place, and the failure reasons it recorded. Filters run in
order; the first that drops a sentence names the reason, and the sentence's other failures are kept as details.

Contract, by example::

    judge(Candidate("zh-1", ("北", "京"), ("B-LOC", "I-LOC"), 1, ()), eat_rule(128, None))  -> (True, None)
    judge(Candidate("zh-2", ("我",), ("O",), 1, ("align_not_found",)), eat_rule(128, None))
        -> (False, "align_not_found")

The rules, and why:

* **EAT teacher** (:func:`eat_rule`): keep a sentence only when the teacher is sure of all of it: no failure reason at
  all (no suspect translation, no entity that could not be placed), at least one entity, and every English entity
  the extractor found placed on the sentence. A sentence where one entity was lost would teach the student that the
  lost entity is ``O``, which is worse than leaving the sentence out; WikiANN sentences are built around linked
  names, so a sentence with no entity at all is most likely a miss of the teacher (CROP drops them too).
* **CROP teacher** (:func:`crop_rule`): CROP's published filters: over 128 words, no entity, more than 5 entities,
  or any entity not found. "Words" are WikiANN's tokens (characters for zh/ja).
* **Projection** (:func:`projection_rule`): the marker parser's reasons, then length and entity count.
* **Self-training relabels** (:func:`relabel_rule`): length and at least one entity (CROP's ``O``-only rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eat_core.bio import spans_from_tags


@dataclass(frozen=True)
class Candidate:
    """A tagged sentence offered to the silver set. ``expected``: entities the labeller tried to place."""

    sentence_id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    expected: int
    failures: tuple[str, ...] = ()

    @property
    def entities(self) -> int:
        return len(spans_from_tags(self.tags))


Filter = Callable[[Candidate], tuple[bool, str | None]]


def max_words(limit: int) -> Filter:
    def check(c: Candidate) -> tuple[bool, str | None]:
        return (len(c.tokens) <= limit, None if len(c.tokens) <= limit else "too_long")

    check.__name__ = f"max_words_{limit}"
    return check


def no_failures(c: Candidate) -> tuple[bool, str | None]:
    """Any failure reason of the labeller (``align_not_found``, ``forward_not_english``, ...) drops the sentence."""
    return (not c.failures, c.failures[0] if c.failures else None)


def every_entity_placed(c: Candidate) -> tuple[bool, str | None]:
    """Every entity the labeller meant to place is in the tags (overlaps and losses show as fewer entities)."""
    return (c.entities >= c.expected, None if c.entities >= c.expected else "entity_not_found")


def entity_count(minimum: int, maximum: int | None) -> Filter:
    def check(c: Candidate) -> tuple[bool, str | None]:
        n = c.entities
        if n < minimum:
            return False, "no_entity"
        if maximum is not None and n > maximum:
            return False, "too_many_entities"
        return True, None

    return check


def crop_entity_not_found(c: Candidate) -> tuple[bool, str | None]:
    """CROP: a sentence where any entity was not found is dropped (its markers lost, or its phrase unmatched)."""
    lost = [f for f in c.failures if f.startswith("crop_")]
    return (not lost and c.entities >= c.expected, None if not lost and c.entities >= c.expected
            else "entity_not_found")


def eat_rule(words: int, max_entities: int | None, keep_empty: bool = False) -> list[Filter]:
    return [max_words(words), no_failures, every_entity_placed, entity_count(0 if keep_empty else 1, max_entities)]


def crop_rule(words: int, max_entities: int | None, keep_empty: bool = False) -> list[Filter]:
    return [max_words(words), crop_entity_not_found, entity_count(0 if keep_empty else 1, max_entities)]


def projection_rule(words: int, max_entities: int | None, keep_empty: bool = False) -> list[Filter]:
    return [no_failures, max_words(words), every_entity_placed, entity_count(0 if keep_empty else 1, max_entities)]


def relabel_rule(words: int, max_entities: int | None, keep_empty: bool = False) -> list[Filter]:
    return [max_words(words), entity_count(0 if keep_empty else 1, max_entities)]


RULES: dict[str, Callable[..., list[Filter]]] = {"eat": eat_rule, "crop": crop_rule, "projection": projection_rule,
                                                 "relabel": relabel_rule}


def judge(candidate: Candidate, filters: Sequence[Filter]) -> tuple[bool, str | None]:
    """(True, None) when every filter keeps the sentence, else (False, the first filter's reason)."""
    for check in filters:
        keep, reason = check(candidate)
        if not keep:
            return False, reason or getattr(check, "__name__", "dropped")
    return True, None
