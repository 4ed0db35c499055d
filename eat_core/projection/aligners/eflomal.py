"""eflomal (Östling and Tiedemann, 2016): a statistical word aligner that learns from the sentence pairs it is given.

No pretrained weights: Bayesian IBM models (IBM1, HMM, fertility) fitted by Gibbs sampling on the batch, in both
directions, symmetrised with grow-diag-final-and. It needs many pairs to learn from: a silver set of thousands of
sentences aligns far better than a handful (the paper-era projection work adds large parallel corpora; we align the
route's own pairs only, and say so in the README). Tokens are case-folded, since its vocabulary is sparse.

eflomal samples with no seed we can set, so two runs over the same pairs may differ in a few links: the route caches
every alignment by content and reuses it, so a re-run gives the same silver set.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from eat_core.errors import ConfigError
from eat_core.projection.aligners.base import Pair, WordAligner
from eat_core.projection.links import SYMMETRISATIONS, Links, parse_pharaoh


class EflomalAligner(WordAligner):
    name = "eflomal"

    def __init__(self, symmetrisation: str = "grow-diag-final-and", model: int = 3, samplers: int = 3) -> None:
        super().__init__()
        if symmetrisation not in SYMMETRISATIONS:
            raise ConfigError(f"unknown symmetrisation {symmetrisation!r}; use {', '.join(SYMMETRISATIONS)}")
        self.symmetrisation = symmetrisation
        self.model = model  # 1: IBM1, 2: + HMM, 3: + fertility (eflomal's default and best)
        self.samplers = samplers

    def identity(self) -> dict:
        from importlib.metadata import version

        return {"aligner": self.name, "version": version("eflomal"), "symmetrisation": self.symmetrisation,
                "model": self.model, "samplers": self.samplers}

    @property
    def corpus_dependent(self) -> bool:
        return True

    def _align(self, pairs: Sequence[Pair]) -> list[Links]:
        try:
            import eflomal
        except ImportError:  # pragma: no cover - the align extra is not installed
            raise ConfigError("--aligner eflomal needs the eflomal package: pip install 'eat-ner[align]'") from None
        src = [" ".join(_clean(w) for w in s) for s, _ in pairs]
        tgt = [" ".join(_clean(w) for w in t) for _, t in pairs]
        aligner = eflomal.Aligner(model=self.model, n_samplers=self.samplers)
        with tempfile.TemporaryDirectory(prefix="eat-eflomal-") as tmp:
            fwd, rev = Path(tmp) / "fwd", Path(tmp) / "rev"
            aligner.align(src, tgt, links_filename_fwd=str(fwd), links_filename_rev=str(rev), quiet=True)
            forward = [parse_pharaoh(line) for line in _lines(fwd, len(pairs))]
            reverse = [parse_pharaoh(line) for line in _lines(rev, len(pairs))]
        combine = SYMMETRISATIONS[self.symmetrisation]
        return [combine(f, r) for f, r in zip(forward, reverse, strict=True)]


def _clean(word: str) -> str:
    """One eflomal token per word: case-folded, inner whitespace removed (eflomal splits on spaces)."""
    return "".join(word.casefold().split()) or "_"


def _lines(path: Path, n: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines + [""] * (n - len(lines))
