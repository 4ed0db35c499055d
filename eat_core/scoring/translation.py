"""Translation quality of the round trip: sacrebleu BLEU with per-language tokenisers, bigram entropy and L_e."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from eat_core.languages import writes_without_spaces
from eat_core.scoring.counts import Signature

BLEU_TOKENIZERS: dict[str, str] = {"zh": "zh", "ja": "char", "ko": "char"}
"""sacrebleu tokeniser per language. ``ja-mecab``/``ko-mecab`` need MeCab dictionaries and ``flores200`` downloads a
SentencePiece model at first use, so neither works offline; character-level BLEU is the portable choice for ja/ko.
Other languages written without spaces (th, lo, km, my) use ``char`` too, every other language ``13a``. Override with
``tokenize=``."""



def bleu_tokenizer(lang: str) -> str:
    return BLEU_TOKENIZERS.get(lang) or ("char" if writes_without_spaces(lang) else "13a")



def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], lang: str, tokenize: str | None = None) -> float:
    """Corpus BLEU of round-trip translations against the original sentences (EAT §4.2)."""
    import sacrebleu

    if not hypotheses:
        return 0.0
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize or bleu_tokenizer(lang)).score



def bleu_signature(lang: str, tokenize: str | None = None) -> Signature:
    return Signature.make("bleu", {"tokenize": tokenize or bleu_tokenizer(lang), "smooth": "exp"}, ["sacrebleu"])



def entropy_units(text: str, lang: str) -> list[str]:
    """The symbols the entropy counts: characters where words are unspaced (zh, ja, th, ...), the BLEU tokeniser's
    tokens elsewhere."""
    if writes_without_spaces(lang):
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
    units = "char" if writes_without_spaces(lang) else bleu_tokenizer(lang)
    return Signature.make("entropy_loss", {"units": units, "log": 2, "over": "corpus"}, ["sacrebleu"])

