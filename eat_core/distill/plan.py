"""The distillation plan, and what every step derives from it before anything loads: where a silver set goes, how
it is signed, where progress is reported.

``pipeline.py`` (teacher, silver set, the whole chain) and ``student.py`` (student, evaluation, self-training) both
need these, so they live below both and neither of those two modules imports the other's internals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eat_core.config.run import RunConfig
from eat_core.distill.request import DistillRequest
from eat_core.distill.silver import signature_for

Progress = Callable[[str], None]
log = logging.getLogger("eat")


@dataclass(frozen=True)
class DistillPlan:
    """A validated request with the configurations it resolves to (nothing loaded yet)."""

    request: DistillRequest
    teacher: RunConfig | None  # routes eat, crop: the evaluation run over the unlabelled corpus
    source: RunConfig | None  # routes projection, align: the LLM, prompts and the English labelled data ("en")

    @property
    def out(self) -> Path:
        return Path(self.request.out)


def reporter(progress: Progress | None) -> Progress:
    """Where a step reports progress: the caller's callback, or the ``eat`` logger."""
    return progress or log.info


def silver_dir(plan: DistillPlan, round: int = 0) -> Path:
    """Where ``eat distill`` exports a silver set: ``<out>/<route>/silver`` (``silver-st<k>`` after round k)."""
    return plan.out / plan.request.route / ("silver" if round == 0 else f"silver-st{round}")


def silver_signature(plan: DistillPlan, teacher_run: str | None, extra: dict | None = None) -> tuple[str, dict]:
    """A silver set's signature (what made it, readable) and the configuration stored with it."""
    r = plan.request
    cfg = plan.teacher or plan.source
    if r.route == "align":
        extra = {"align": r.align_settings(), **(extra or {})}
    fields = {"teacher": teacher_run or "none", "method": cfg.method.name if plan.teacher else r.route,
              "llm": cfg.llm.model, "extractor": f"{cfg.extractor.name}:{cfg.extractor.model}" if plan.teacher
              else "none", "rounds": cfg.engine.rounds, "split": cfg.data.split,
              "filters": r.filter_settings(), **(extra or {})}
    if plan.teacher is not None and cfg.data.split == r.preset("eval_split"):
        fields["note"] = "tagged split is the evaluation split (machinery only)"
    config = {"route": r.route, "lang": r.lang, "teacher_run": teacher_run, "filters": r.filter_settings(),
              "teacher_config": cfg.model_dump(mode="json"), **(extra or {})}
    return signature_for(r.route, r.lang, fields), config

