"""Every metric of one language with its signature, and the protocol choices ``eat score`` offers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from eat_core.bio import repair_orphan_inside
from eat_core.errors import ConfigError
from eat_core.scoring.counts import RECOMMENDED_PROTOCOL, Counts, Score, Signature, micro, per_type
from eat_core.scoring.entity_f1 import entity_counts, entity_signature
from eat_core.scoring.token_f1 import TOKEN_F1_PROTOCOLS, token_counts, token_protocol, token_signature
from eat_core.scoring.translation import bleu_signature, corpus_bleu, entropy_loss, entropy_signature


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

