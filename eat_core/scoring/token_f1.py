"""Token-level F1 (EAT's headline metric) under named protocols: where labels are placed and which sentences count."""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.bio import to_io
from eat_core.errors import ConfigError
from eat_core.scoring.counts import RECOMMENDED_PROTOCOL, Counts, Signature
from eat_core.scoring.official import OFFICIAL_CHARACTER_LANGS, _add_unit_counts, official_counts
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

