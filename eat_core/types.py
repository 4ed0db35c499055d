"""Typed data shared by every layer.

Spans are half-open ``[start, end)`` and hashable, so precision and recall are set arithmetic
(the habit of seqeval's ``Entity`` tuple).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eat_core.languages import join_tokens

ENTITY_TYPES: tuple[str, ...] = ("PER", "ORG", "LOC")
"""WikiANN's entity types, in the fixed order every prompt and extractor uses (EAT §4.1)."""


@dataclass(frozen=True)
class Sentence:
    """One tokenised sentence of a target-language dataset.

    ``tags`` are IOB2 strings; ``None`` for unlabelled input. Chinese and Japanese WikiANN is tokenised one
    character per token and we keep it that way: the scores must be comparable with the paper's.
    """

    id: str
    lang: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.tags is not None and len(self.tags) != len(self.tokens):
            raise ValueError(f"sentence {self.id}: {len(self.tokens)} tokens but {len(self.tags)} tags")

    @property
    def text(self) -> str:
        """The sentence as a string, joined the way the language writes it."""
        return join_tokens(self.tokens, self.lang)


@dataclass(frozen=True, order=True)
class Span:
    """A labelled token span ``[start, end)`` of a sentence."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"empty or negative span [{self.start}, {self.end})")

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class EnglishEntity:
    """An entity found by an English extractor: its surface text, type and character span in the sentence."""

    text: str
    label: str
    char_start: int = -1
    char_end: int = -1


@dataclass(frozen=True)
class Placement:
    """Outcome of aligning one backward-translated entity onto the original sentence.

    Either ``span`` is set, or ``reason`` says why the entity could not be placed
    (``not_found``, ``empty_answer``, ``overlap``, ...). Nothing is silently dropped.
    """

    entity: EnglishEntity
    answer: str
    span: Span | None = None
    reason: str | None = None
    method: str | None = None


@dataclass
class Transcript:
    """Every chat turn the engine sent and received for one sentence, in order, for auditing and storage."""

    sentence_id: str
    forward: list[dict] = field(default_factory=list)
    roundtrip: list[dict] = field(default_factory=list)
    backward: dict[str, list[dict]] = field(default_factory=dict)
    tagging: list[dict] = field(default_factory=list)
    """The requests of a competing method (direct, crop, fusion) that are not EAT's rounds."""

    def as_dict(self) -> dict:
        out = {"forward": self.forward, "roundtrip": self.roundtrip, "backward": self.backward}
        return {**out, "tagging": self.tagging} if self.tagging else out


@dataclass
class Prediction:
    """The engine's result for one sentence: predicted IOB2 tags plus everything needed to explain them."""

    sentence: Sentence
    english: str
    roundtrip: str
    entities: list[EnglishEntity]
    placements: list[Placement]
    tags: tuple[str, ...]
    failures: list[str]
    transcript: Transcript


@dataclass(frozen=True)
class RunInput:
    """One input of a run: ``name`` is stable across runs (``llm``, ``data:zh``), ``fingerprint`` is its content."""

    name: str
    kind: str
    path: str | None
    fingerprint: str
