"""Word aligners behind one interface (:class:`~eat_core.projection.aligners.base.WordAligner`), chosen by name.

* ``eflomal``: a Bayesian IBM-style statistical aligner (Östling and Tiedemann, 2016) that needs no pretrained
  weights and learns from the sentence pairs it is given; both directions, symmetrised with grow-diag-final-and;
* ``embedding``: SimAlign (Jalili Sabet et al., 2020) "Argmax": mutual nearest neighbours of word vectors from a
  middle layer of any multilingual encoder (Hugging Face id or local path, ``--aligner-model``);
* ``embedding-itermax``: the same with SimAlign's "IterMax" (argmax repeated over words left unaligned).

Modules import their libraries (eflomal, torch, transformers) only when their aligner is built.
"""

from __future__ import annotations

from eat_core.errors import ConfigError
from eat_core.projection.aligners.base import WordAligner
from eat_core.registry import LazyRegistry

ALIGNERS = LazyRegistry("aligner", {
    "eflomal": "eat_core.projection.aligners.eflomal:EflomalAligner",
    "embedding": "eat_core.projection.aligners.embedding:EmbeddingAligner",
    "embedding-itermax": "eat_core.projection.aligners.embedding:IterMaxAligner",
})

NEEDS_MODEL = frozenset({"embedding", "embedding-itermax"})
DEFAULT_EMBEDDING_MODEL = "xlm-roberta-base"
"""SimAlign's recommended multilingual encoders are mBERT and XLM-R base; our default is XLM-R base."""


def check_aligner(name: str, model: str | None, option: str = "--aligner") -> None:
    """One line for an unknown aligner name, or a model given to an aligner that takes none."""
    ALIGNERS.check(option, name)
    if model and name not in NEEDS_MODEL:
        choices = " or ".join(sorted(NEEDS_MODEL))
        raise ConfigError(f"--aligner-model: the {name} aligner learns from the sentence pairs and takes no model; "
                          f"a model is for --aligner {choices}")


def build_aligner(name: str, model: str | None = None, option: str = "--aligner") -> WordAligner:
    """The aligner registered as ``name`` (nothing loaded until it first aligns)."""
    check_aligner(name, model, option)
    cls = ALIGNERS.get(name, option)
    return cls(model or DEFAULT_EMBEDDING_MODEL) if name in NEEDS_MODEL else cls()


__all__ = ["ALIGNERS", "NEEDS_MODEL", "WordAligner", "build_aligner", "check_aligner"]
