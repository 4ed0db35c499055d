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

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata

from eat_core.bio import to_io
from eat_core.errors import ConfigError
from eat_core.types import ENTITY_TYPES

TOKEN_F1_PROTOCOLS: dict[str, dict[str, object]] = {
    "eat-official": {"scheme": "IO", "average": "micro", "skip_sentences_without_gold": True,
                     "placement": "string-search"},
    "token": {"scheme": "IO", "average": "micro", "skip_sentences_without_gold": True, "placement": "true-position"},
    "all-sentences": {"scheme": "IO", "average": "micro", "skip_sentences_without_gold": False,
                      "placement": "true-position"},
}
"""``eat-official`` is the official EAT scorer (matches the paper's tables); ``token`` scores the same labels at their
true positions (recommended); ``all-sentences`` also counts false positives in sentences without gold entities,
which is stricter and what a user of the tagger experiences."""

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


# --- token level (the paper's number) -------------------------------------------------------------------------


def token_counts(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    protocol: str = RECOMMENDED_PROTOCOL,
    *,
    tokens: Sequence[Sequence[str]] | None = None,
    lang: str | None = None,
) -> Counts:
    """Per-unit TP/FP/FN in the IO scheme under a named protocol (see ``TOKEN_F1_PROTOCOLS``).

    ``eat-official`` rebuilds entities as strings, so it needs the sentences' ``tokens`` and ``lang``; the
    true-position protocols ignore both.
    """
    options = token_protocol(protocol)
    if options["placement"] == "string-search":
        if tokens is None or lang is None:
            raise ConfigError(f"token-F1 protocol {protocol!r} rebuilds entities as strings: pass tokens= and lang=")
        return official_counts(tokens, gold, pred, lang)
    counts = Counts()
    for g_tags, p_tags in zip(gold, pred, strict=True):
        if len(g_tags) != len(p_tags):
            raise ValueError(f"gold has {len(g_tags)} tags, prediction {len(p_tags)}")
        g_io, p_io = to_io(g_tags), to_io(p_tags)
        if options["skip_sentences_without_gold"] and all(t == "O" for t in g_io):
            continue
        _add_unit_counts(counts, g_io, p_io)
    return counts


def token_protocol(protocol: str) -> dict[str, object]:
    try:
        return TOKEN_F1_PROTOCOLS[protocol]
    except KeyError:
        raise ConfigError(
            f"unknown token-F1 protocol {protocol!r}; available: {', '.join(TOKEN_F1_PROTOCOLS)}"
        ) from None


def token_signature(protocol: str = "eat-official", types: Sequence[str] = ENTITY_TYPES,
                    lang: str | None = None) -> Signature:
    """``lang`` adds the unit eat-official counts in (characters for zh/ja, tokens elsewhere)."""
    options: dict[str, object] = {"protocol": protocol, **token_protocol(protocol), "labels": ",".join(types)}
    if options["placement"] == "string-search" and lang is not None:
        options["units"] = "char" if lang in OFFICIAL_CHARACTER_LANGS else "token"
    return Signature.make("token_f1", options, [])


# --- the official EAT scorer (protocol eat-official) -------------------------------------------------------------

OFFICIAL_CHARACTER_LANGS = ("zh", "ja")
"""Languages the official code handles with its ``zh`` flag: text and entities concatenated, units are characters."""
OFFICIAL_STOP_WORDS = frozenset({"REDIRECCIÓN", "WEITERLEITUNG", "'", "''", "``", "`", '"', '""'})
"""Words (upper-cased) the official scorer removes from *predicted* entity strings before searching them."""
_NUMBER_SUFFIX = re.compile(r"\( \d+ \)")


def official_entities(tokens: Sequence[str], tags: Sequence[str], lang: str) -> list[tuple[str, str]]:
    """``(string, label)`` of every entity as the official scorer builds it, left to right.

    An entity starts at any ``B-`` or ``I-`` tag and runs over the ``I-`` tags after it, whatever their type; its
    label is the first tag's type. Its string is its tokens joined by a space, or for zh/ja concatenated with every
    ``#`` made a space. ``(["前", "鎮", "#", "區"], ["B-LOC", "I-LOC", "I-LOC", "I-LOC"], "zh")`` ->
    ``[("前鎮 區", "LOC")]``.
    """
    chars = lang in OFFICIAL_CHARACTER_LANGS
    found: list[tuple[str, str]] = []
    start = None
    for i, tag in enumerate([*tags, "O"]):
        if start is not None and not tag.startswith("I-"):
            words = tokens[start:i]
            found.append(("".join(words).replace("#", " ") if chars else " ".join(words), tags[start][2:]))
            start = None
        if start is None and tag[:2] in ("B-", "I-"):
            start = i
    return found


def official_units(tokens: Sequence[str], lang: str) -> list[str]:
    """The units the official scorer labels: characters of the zh/ja text (``'''`` collapsed to ``'``), else tokens."""
    if lang in OFFICIAL_CHARACTER_LANGS:
        text = "".join(tokens).replace("#", " ").replace("'''", "'")
        return list(text.replace(" ", "#"))
    return " ".join(tokens).split(" ")


def without_stop_words(entity: str) -> str:
    """A predicted entity string without the official stop words (``"'' Berlin ''"`` -> ``"Berlin"``)."""
    return " ".join(w for w in entity.split(" ") if w.upper() not in OFFICIAL_STOP_WORDS)


def official_labels(units: Sequence[str], entities: Sequence[tuple[str, str]], lang: str) -> list[str]:
    """Label ``units`` by placing each entity string at its first occurrence whose first unit is still ``O``.

    zh/ja: the string is a literal searched over the characters, occurrences taken left to right without overlap
    (``re.finditer``); it never matches when it holds a space, i.e. a ``#`` token. Elsewhere: the string, with
    ``( 51 )``-style suffixes removed and stripped, split on a space, must equal a run of tokens (any start). A string
    not found labels nothing.
    """
    labels = ["O"] * len(units)
    if lang in OFFICIAL_CHARACTER_LANGS:
        text = "".join(units)
        for string, label in entities:
            if not string:
                continue  # the official loop labels no unit for an empty string
            at = text.find(string)
            while at >= 0 and labels[at] != "O":
                at = text.find(string, at + len(string))
            if at >= 0:
                labels[at : at + len(string)] = [label] * len(string)
        return labels
    units = list(units)
    for string, label in entities:
        words = _NUMBER_SUFFIX.sub("", string).strip().split(" ")
        n = len(words)
        for at in range(len(units) - n + 1):
            if labels[at] == "O" and units[at : at + n] == words:
                labels[at : at + n] = [label] * n
                break
    return labels


def official_counts(
    tokens: Sequence[Sequence[str]], gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], lang: str
) -> Counts:
    """Unit TP/FP/FN exactly as the official EAT scorer counts them (protocol ``eat-official``).

    Per sentence with at least one gold entity: build the text units (:func:`official_units`) and the entity
    strings (:func:`official_entities`; predicted ones through :func:`without_stop_words`), place gold and predicted
    strings separately (:func:`official_labels`), and compare the two label sequences unit by unit. Tags are read as
    written: hand raw tags to reproduce the official scorer on a file (an ``I-X`` after ``B-Y`` continues ``Y``).
    """
    counts = Counts()
    for toks, g_tags, p_tags in zip(tokens, gold, pred, strict=True):
        if not len(toks) == len(g_tags) == len(p_tags):
            raise ValueError(f"{len(toks)} tokens, {len(g_tags)} gold tags, {len(p_tags)} predicted tags")
        g_entities = official_entities(toks, g_tags, lang)
        if not g_entities:
            continue
        p_entities = [(without_stop_words(s), label) for s, label in official_entities(toks, p_tags, lang)]
        units = official_units(toks, lang)
        _add_unit_counts(counts, official_labels(units, g_entities, lang), official_labels(units, p_entities, lang))
    return counts


def _add_unit_counts(counts: Counts, gold: Sequence[str], pred: Sequence[str]) -> None:
    for g, p in zip(gold, pred, strict=True):
        if p != "O" and p == g:
            counts.tp[p] += 1
        else:
            if p != "O":
                counts.fp[p] += 1
            if g != "O":
                counts.fn[g] += 1


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
    token_true: Score | None = None
    """Token F1 at true positions (protocol ``token``), beside ``token`` under the configured protocol."""

    def as_dict(self) -> dict:
        return asdict(self)


def score_language(
    lang: str,
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    originals: Sequence[str],
    roundtrips: Sequence[str],
    protocol: str = "eat-official",
    *,
    tokens: Sequence[Sequence[str]] | None = None,
) -> LanguageScores:
    """Every metric for one language, with signatures. ``tokens`` are needed by ``eat-official`` (the default)."""
    ecounts = entity_counts(gold, pred)
    return LanguageScores(
        lang=lang,
        sentences=len(gold),
        token=micro(token_counts(gold, pred, protocol, tokens=tokens, lang=lang)),
        token_true=micro(token_counts(gold, pred, RECOMMENDED_PROTOCOL)),
        entity=micro(ecounts),
        entity_per_type=per_type(ecounts),
        bleu=corpus_bleu(roundtrips, originals, lang),
        entropy_loss=entropy_loss(roundtrips, originals, lang),
        signatures={
            "token_f1": str(token_signature(protocol, lang=lang)),
            "token_f1_true": str(token_signature(RECOMMENDED_PROTOCOL)),
            "entity_f1": str(entity_signature()),
            "bleu": str(bleu_signature(lang)),
            "entropy_loss": str(entropy_signature(lang)),
        },
    )


# --- several protocols at once (``eat score``) ------------------------------------------------------------------

SCORE_PROTOCOLS = ("eat-official", "token", "entity")
"""What ``eat score --protocol all`` reports; ``all-sentences`` is available by name."""


def protocol_names(choice: str) -> tuple[str, ...]:
    """``"all"`` -> every protocol of :data:`SCORE_PROTOCOLS`; one known name -> itself."""
    known = (*TOKEN_F1_PROTOCOLS, "entity")
    if choice == "all":
        return SCORE_PROTOCOLS
    if choice not in known:
        raise ConfigError(f"unknown protocol {choice!r}; available: {', '.join(known)}, all")
    return (choice,)


def protocol_counts(
    tokens: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    lang: str,
    protocols: Sequence[str] = SCORE_PROTOCOLS,
) -> dict[str, tuple[Counts, Signature]]:
    """Counts and signature per protocol for tags as written in files.

    ``eat-official`` sees the tags as written (the official scorer reads raw files); the other protocols see them
    with every orphan ``I-X`` turned into ``B-X`` (conlleval's and seqeval's default reading).
    """
    from eat_core.bio import repair_orphan_inside

    fixed_gold = [repair_orphan_inside(t)[0] for t in gold]
    fixed_pred = [repair_orphan_inside(t)[0] for t in pred]
    out: dict[str, tuple[Counts, Signature]] = {}
    for name in protocols:
        if name == "entity":
            out[name] = (entity_counts(fixed_gold, fixed_pred), entity_signature())
        elif token_protocol(name)["placement"] == "string-search":
            out[name] = (token_counts(gold, pred, name, tokens=tokens, lang=lang), token_signature(name, lang=lang))
        else:
            out[name] = (token_counts(fixed_gold, fixed_pred, name), token_signature(name))
    return out
