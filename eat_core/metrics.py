"""NER and translation metrics over sufficient statistics, each with a signature.

Two F1 conventions, because the field uses both:

* ``token_f1`` -- the EAT paper's number: token labels in the IO scheme, micro-averaged over PER/ORG/LOC (what
  ``sklearn.metrics.f1_score(average="micro", labels=[...])`` gives). The official EAT code also skips sentences whose
  gold tags hold no entity; that is the named protocol ``eat-official``. ``all-sentences`` keeps every sentence.
* ``entity_f1`` -- strict IOB2 entity-level F1 (seqeval ``mode="strict"``), which the rest of the field reports.

Counts first, scores second (sacrebleu's habit): shards add their :class:`Counts`, the aggregate divides once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata

from eat_core.bio import to_io
from eat_core.errors import ConfigError
from eat_core.types import ENTITY_TYPES

TOKEN_F1_PROTOCOLS: dict[str, dict[str, object]] = {
    "eat-official": {"scheme": "IO", "average": "micro", "skip_sentences_without_gold": True},
    "all-sentences": {"scheme": "IO", "average": "micro", "skip_sentences_without_gold": False},
}
"""``eat-official`` reproduces the official EAT scorer; ``all-sentences`` also counts false positives in sentences
that have no gold entity, which is stricter and what a user of the tagger experiences."""


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


# --- token level (the paper's number) -------------------------------------------------------------------------


def token_counts(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], protocol: str = "eat-official"
) -> Counts:
    """Per-token TP/FP/FN in the IO scheme under a named protocol (see ``TOKEN_F1_PROTOCOLS``)."""
    options = token_protocol(protocol)
    counts = Counts()
    for g_tags, p_tags in zip(gold, pred, strict=True):
        if len(g_tags) != len(p_tags):
            raise ValueError(f"gold has {len(g_tags)} tags, prediction {len(p_tags)}")
        g_io, p_io = to_io(g_tags), to_io(p_tags)
        if options["skip_sentences_without_gold"] and all(t == "O" for t in g_io):
            continue
        for g, p in zip(g_io, p_io, strict=True):
            if p != "O" and p == g:
                counts.tp[p] += 1
            else:
                if p != "O":
                    counts.fp[p] += 1
                if g != "O":
                    counts.fn[g] += 1
    return counts


def token_protocol(protocol: str) -> dict[str, object]:
    try:
        return TOKEN_F1_PROTOCOLS[protocol]
    except KeyError:
        raise ConfigError(
            f"unknown token-F1 protocol {protocol!r}; available: {', '.join(TOKEN_F1_PROTOCOLS)}"
        ) from None


def token_signature(protocol: str = "eat-official", types: Sequence[str] = ENTITY_TYPES) -> Signature:
    return Signature.make("token_f1", {"protocol": protocol, **token_protocol(protocol), "labels": ",".join(types)}, [])


# --- entity level (seqeval strict IOB2) -----------------------------------------------------------------------


def entity_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> Counts:
    """Strict IOB2 entities as seqeval extracts them; exact (start, end, type) matches are true positives."""
    from seqeval.scheme import IOB2, Entities

    g_entities = Entities([list(s) for s in gold], IOB2, suffix=False).entities
    p_entities = Entities([list(s) for s in pred], IOB2, suffix=False).entities
    counts = Counts()
    for g_sent, p_sent in zip(g_entities, p_entities, strict=True):
        g_set = {e.to_tuple() for e in g_sent}
        p_set = {e.to_tuple() for e in p_sent}
        for _, label, _, _ in g_set & p_set:  # seqeval tuples are (sentence, tag, start, end)
            counts.tp[label] += 1
        for _, label, _, _ in p_set - g_set:
            counts.fp[label] += 1
        for _, label, _, _ in g_set - p_set:
            counts.fn[label] += 1
    return counts


def entity_signature() -> Signature:
    return Signature.make("entity_f1", {"mode": "strict", "scheme": "IOB2", "average": "micro"}, ["seqeval"])


# --- translation quality: BLEU and bigram entropy (EAT §3.4, App. B.4) ------------------------------------------

BLEU_TOKENIZERS: dict[str, str] = {"zh": "zh", "ja": "char", "ko": "char"}
"""sacrebleu tokeniser per language. ``ja-mecab``/``ko-mecab`` need MeCab dictionaries and ``flores200`` downloads a
SentencePiece model at first use, so neither works offline; character-level BLEU is the portable choice for ja/ko.
Every other language uses ``13a``. Override with ``tokenize=``."""


def bleu_tokenizer(lang: str) -> str:
    return BLEU_TOKENIZERS.get(lang, "13a")


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], lang: str, tokenize: str | None = None) -> float:
    """Corpus BLEU of round-trip translations against the original sentences (EAT §4.2)."""
    import sacrebleu

    if not hypotheses:
        return 0.0
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize or bleu_tokenizer(lang)).score


def bleu_signature(lang: str, tokenize: str | None = None) -> Signature:
    return Signature.make("bleu", {"tokenize": tokenize or bleu_tokenizer(lang), "smooth": "exp"}, ["sacrebleu"])


def entropy_units(text: str, lang: str) -> list[str]:
    """The symbols the entropy counts: characters for zh/ja, the BLEU tokeniser's tokens elsewhere."""
    from eat_core.languages import is_character_tokenised

    if is_character_tokenised(lang):
        return [c for c in text if not c.isspace()]
    from sacrebleu.metrics.bleu import BLEU

    return BLEU(tokenize=bleu_tokenizer(lang)).tokenizer(text).split()


def bigram_entropy(texts: Iterable[Sequence[str]]) -> float:
    """Bigram conditional entropy in bits, ``sum P(a, b) * -log2 P(a | b)`` over bigram types (EAT eq. 22).

    Computed over a whole corpus: within one short sentence nearly every bigram is unique, so ``P(a | b) = 1`` and
    the entropy is 0. Each sentence starts with a boundary symbol, so single-token sentences still count.
    """
    pairs: Counter = Counter()
    seconds: Counter = Counter()
    for units in texts:
        previous = "<s>"
        for unit in units:
            pairs[(previous, unit)] += 1
            seconds[unit] += 1
            previous = unit
    total = sum(pairs.values())
    if not total:
        return 0.0
    return sum((c / total) * -math.log2(c / seconds[b]) for (_, b), c in pairs.items())


def entropy_loss(roundtrips: Sequence[str], originals: Sequence[str], lang: str) -> float:
    """``L_e = H(round trip) / H(original)`` (EAT eq. 23); NaN when the original corpus has zero entropy."""
    h_orig = bigram_entropy(entropy_units(t, lang) for t in originals)
    h_round = bigram_entropy(entropy_units(t, lang) for t in roundtrips)
    return h_round / h_orig if h_orig else math.nan


def entropy_signature(lang: str) -> Signature:
    units = "char" if lang in ("zh", "ja") else bleu_tokenizer(lang)
    return Signature.make("entropy_loss", {"units": units, "log": 2, "over": "corpus"}, ["sacrebleu"])


# --- one language's scores --------------------------------------------------------------------------------------


@dataclass
class LanguageScores:
    lang: str
    sentences: int
    token: Score
    entity: Score
    entity_per_type: dict[str, Score]
    bleu: float
    entropy_loss: float
    signatures: dict[str, str]

    def as_dict(self) -> dict:
        return asdict(self)


def score_language(
    lang: str,
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    originals: Sequence[str],
    roundtrips: Sequence[str],
    protocol: str = "eat-official",
) -> LanguageScores:
    """Every metric for one language, with signatures."""
    ecounts = entity_counts(gold, pred)
    return LanguageScores(
        lang=lang,
        sentences=len(gold),
        token=micro(token_counts(gold, pred, protocol)),
        entity=micro(ecounts),
        entity_per_type=per_type(ecounts),
        bleu=corpus_bleu(roundtrips, originals, lang),
        entropy_loss=entropy_loss(roundtrips, originals, lang),
        signatures={
            "token_f1": str(token_signature(protocol)),
            "entity_f1": str(entity_signature()),
            "bleu": str(bleu_signature(lang)),
            "entropy_loss": str(entropy_signature(lang)),
        },
    )
