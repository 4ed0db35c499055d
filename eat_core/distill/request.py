"""What ``eat silver`` and ``eat distill`` are asked for: one pydantic model, resolved against a named profile.

A ``DistillRequest`` names the route that labels the silver set (``eat``, ``crop``, ``projection`` or ``align``),
the target language, the profile whose LLM, extractor and data it borrows, the filters, the align route's aligner,
matching and refinement, and the student's training settings.
Fields left ``None`` take the profile's preset (``PROFILES[name].student`` in ``eat_core/config/run.py``, the one
profile table): the smoke profile's bundled sample has only a dev split, so there the teacher tags dev and the
student is evaluated on the same dev sentences (machinery only, said in the signature); the paper setting tags the
train split with its labels ignored and evaluates on test.

Constants cite their source: CROP's post-processing (Yang et al., 2022, §4.1 "Post-Processing"): sentences over 128
words and sentences with only ``O`` tags are deleted; the issue's CROP filters add "more than 5 entities" and "an
entity not found". CROP trains its XTREME-40 student 10 epochs with batch size 32 (§4.2).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import field_validator

from eat_core.config.fields import DISTILL, SHARED
from eat_core.config.requests import BaseRequest, described
from eat_core.config.run import student_preset
from eat_core.data.training_formats import require_spacy
from eat_core.languages import canonical_code, is_known, unknown_languages
from eat_core.projection.aligners import ALIGNERS
from eat_core.projection.matching import DEFAULT_MATCHING
from eat_core.projection.refine import DEFAULT_REFINEMENT
from eat_core.registry import unknown_line

Route = Literal["eat", "crop", "projection", "align"]
"""How the silver set is labelled: EAT as teacher, CROP as teacher, or label projection (translate-train) with
markers (``projection``) or with a word aligner (``align``, Politov et al., 2025). A new route: add it here and to
``DISTILL["route"]`` in ``eat_core/config/fields.py`` (a test checks the description names every route)."""
ROUTES: tuple[str, ...] = get_args(Route)
PROJECTION_ROUTES = frozenset({"projection", "align"})
"""Routes that translate the English labelled data instead of running a teacher over the target corpus."""

CROP_MAX_WORDS = 128  # CROP §4.1 post-processing: longer sequences are deleted
CROP_MAX_ENTITIES = 5  # the CROP filter: more than 5 entities drops the sentence

class DistillRequest(BaseRequest):
    """One silver set (``eat silver``) or one student (``eat distill``) for one target language.

    Example: ``DistillRequest(route="crop", lang="zh", profile="smoke", out="distill/")``.
    """

    route: Route = described(DISTILL, "route", "eat")
    lang: str = described(DISTILL, "lang", "zh")
    out: str = described(DISTILL, "out", "distill")
    # data: the target corpus the teacher tags (labels ignored), the English labelled source of the projection
    data_dir: str | None = described(DISTILL, "data_dir")
    split: Literal["train", "dev", "test"] | None = described(DISTILL, "split")
    eval_split: Literal["train", "dev", "test"] | None = described(DISTILL, "eval_split")
    limit: int | None = described(SHARED, "limit", ge=1)
    # the align route (eat_core/projection): word aligner, its encoder (embedding aligners), matching, refinement
    aligner: str = described(DISTILL, "aligner", "eflomal")
    aligner_model: str | None = described(DISTILL, "aligner_model")
    matching: Literal["greedy", "optimal"] = described(DISTILL, "matching", DEFAULT_MATCHING)
    refine: Literal["grow", "intersect", "union", "none"] = described(DISTILL, "refine", DEFAULT_REFINEMENT)
    # the teacher's (or the projection's) LLM and extractor come from ModelOverrides, as for `eat run`
    # filters (None: the route's default)
    max_words: int = described(DISTILL, "max_words", CROP_MAX_WORDS, ge=1)
    max_entities: int | None = described(DISTILL, "max_entities", ge=1)
    keep_empty: bool = described(DISTILL, "keep_empty", False)
    dev_share: float = described(DISTILL, "dev_share", 0.1, ge=0, lt=1)
    # the student
    base_model: str | None = described(DISTILL, "base_model")
    epochs: float | None = described(DISTILL, "epochs", gt=0)
    learning_rate: float | None = described(DISTILL, "learning_rate", gt=0)
    batch_size: int | None = described(DISTILL, "batch_size", ge=1)
    max_steps: int | None = described(DISTILL, "max_steps")
    patience: int = described(DISTILL, "patience", 3, ge=1)
    seed: int = described(DISTILL, "seed", 42)
    self_train_rounds: int = described(DISTILL, "self_train_rounds", 0, ge=0, le=10)
    # the silver set also as Hugging Face datasets (hf: save_to_disk, parquet) and spaCy DocBin (spacy) files
    export_formats: tuple[Literal["hf", "parquet", "spacy"], ...] = described(DISTILL, "export_formats", ())

    @field_validator("export_formats", mode="before")
    @classmethod
    def _formats(cls, value):
        if isinstance(value, str):
            value = [part.strip().lower() for part in value.split(",") if part.strip()]
        return tuple(dict.fromkeys(value or ()))

    def check(self) -> None:
        super().check()
        if "spacy" in self.export_formats:
            require_spacy("--export-formats")

    @field_validator("lang")
    @classmethod
    def _known_language(cls, lang: str) -> str:
        if not is_known(lang):
            raise ValueError(unknown_languages([lang]))
        code = canonical_code(lang)
        if code == "en":
            raise ValueError("the target language must not be English (the source language)")
        return code

    @field_validator("aligner")
    @classmethod
    def _known_aligner(cls, name: str) -> str:
        if name not in ALIGNERS:
            raise ValueError(unknown_line("aligner", name, ALIGNERS.names()))
        return name

    def run_fields(self) -> dict[str, Any]:
        """The teacher's run: the route as its method, on the target language and the split it labels."""
        return super().run_fields() | {"languages": (self.lang,), "split": self.preset("split"), "method": self.route}

    def preset(self, name: str):
        """A student or data setting: the request's value, else the profile's preset (paper's for other profiles)."""
        value = getattr(self, name)
        if value is not None:
            return value
        return getattr(student_preset(self.profile), name)

    @property
    def entity_cap(self) -> int | None:
        """At most this many entities per kept sentence: CROP's 5 on the crop route unless set."""
        if self.max_entities is not None:
            return self.max_entities
        return CROP_MAX_ENTITIES if self.route == "crop" else None

    def filter_settings(self) -> dict:
        """Everything that changes which sentences are kept, for the silver set's id and signature."""
        return {"max_words": self.max_words, "max_entities": self.entity_cap, "keep_empty": self.keep_empty,
                "dev_share": self.dev_share, "seed": self.seed}

    def align_settings(self) -> dict:
        """What changes the align route's labels besides the translations: aligner, its model, matching, refinement."""
        return {"aligner": self.aligner, "aligner_model": self.aligner_model, "matching": self.matching,
                "refine": self.refine}

    def student_settings(self) -> dict:
        return {name: self.preset(name) for name in ("base_model", "epochs", "learning_rate", "batch_size",
                                                     "max_steps")} | {"patience": self.patience, "seed": self.seed}
