"""The student half of ``eat distill``: train it on a silver set, evaluate it, and let it relabel the sentences the
teacher dropped (self-training).

Each step is content-keyed and idempotent like the teacher's (``pipeline.py`` runs them in order, ``flows/distill.py``
as cached tasks). It is its own module because it is the part that loads and trains models
(``eat_core.training``, ``eat_core.extractors``), while the teacher and silver-set steps only call the evaluation
loop and the LLM.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import replace
from pathlib import Path

from eat_core.config.run import RunConfig
from eat_core.distill.filters import Candidate
from eat_core.distill.plan import DistillPlan, Progress, reporter, silver_dir, silver_signature
from eat_core.distill.silver import (
    SilverSummary,
    assign_parts,
    export_is_current,
    export_silver,
    judge_candidates,
    save_silver,
    silver_id_for,
    stored_rows,
    stored_summary,
    summarise,
)
from eat_core.errors import DataError, EatError
from eat_core.evaluation.lifecycle import failure_summary
from eat_core.evaluation.loop import evaluate
from eat_core.extractors.token_classification import TokenClassificationExtractor
from eat_core.hashing import content_hash, directory_fingerprint
from eat_core.methods.model_transfer import iob2_from_labels
from eat_core.store import Store
from eat_core.training.extractor import ExtractorTrainConfig, train_extractor
from eat_core.weights.fingerprint import model_fingerprint


class StudentFailed(EatError):
    """The student's evaluation run ended with failed shards; the same command resumes it (exit 1, as `eat run`)."""

    retryable = True


def require_kept(summary: SilverSummary) -> SilverSummary:
    """A student needs sentences: an empty silver set is one line naming what dropped them."""
    if summary.kept == 0:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(summary.reasons.items(), key=lambda kv: -kv[1]))
        raise DataError(f"silver set {summary.silver_id} kept no sentence ({summary.dropped} dropped: "
                        f"{reasons or 'none offered'}); nothing to train a student on (a stronger teacher, a larger "
                        "corpus or looser filters)")
    return summary


# -- 3. the student -------------------------------------------------------------------------------------------------


def student_dir(plan: DistillPlan, round: int = 0) -> Path:
    """``<out>/<route>/student-<lang>`` (``-st<k>`` after self-training round k); the model is in ``final/``."""
    return plan.out / plan.request.route / (f"student-{plan.request.lang}" + (f"-st{round}" if round else ""))


def train_config(plan: DistillPlan, silver: SilverSummary, round: int = 0):
    s = plan.request.student_settings()
    return ExtractorTrainConfig(kind="token-classification", base_model=s["base_model"], data_dir=silver.export_dir,
                                lang=plan.request.lang, train_splits=("train",), eval_split="dev",
                                output_dir=str(student_dir(plan, round)), epochs=s["epochs"],
                                learning_rate=s["learning_rate"], batch_size=s["batch_size"],
                                max_steps=s["max_steps"], patience=s["patience"], seed=s["seed"])


def student_key(plan: DistillPlan, silver_id: str, round: int = 0) -> str:
    """What the student is made from: its silver set (a content key), the settings, the base weights."""
    settings = plan.request.student_settings()
    return content_hash({"silver": silver_id, "round": round, "settings": settings,
                         "base": model_fingerprint(settings["base_model"])[1]})[:16]


def train_student(plan: DistillPlan, silver: SilverSummary, round: int = 0,
                  progress: Progress | None = None) -> dict:
    """Train (or reuse, or resume) the student on a silver set; its manifest carries the silver signature."""
    require_kept(silver)
    cfg = train_config(plan, silver, round)
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its logs; stdout is for results
        manifest = train_extractor(cfg, progress=reporter(progress))
    final = Path(cfg.output_dir) / "final"
    silver_info = {"silver_id": silver.silver_id, "signature": silver.signature, "route": silver.route,
                   "teacher_run": silver.teacher_run, "kept": silver.kept, "dropped": silver.dropped,
                   "reasons": silver.reasons, "round": round,
                   "student_key": student_key(plan, silver.silver_id, round)}
    if manifest.get("silver") != silver_info:
        manifest["silver"] = silver_info
        (final / "eat_manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                                 encoding="utf-8")
    (final / "eat_silver.json").write_text(json.dumps(silver_info, indent=2, ensure_ascii=False), encoding="utf-8")
    r = plan.request
    Store(r.db).put_student(manifest["step_key"], silver_id=silver.silver_id, route=r.route, lang=r.lang,
                            round=round, model_dir=str(final), eval_run=None, manifest=manifest)
    return {**manifest, "model_dir": str(final)}


# -- 4. evaluation --------------------------------------------------------------------------------------------------


def run_label(route: str, round: int = 0) -> str:
    """The evaluation run's profile label: ``student-eat``, ``student-crop-st1``, ..."""
    return f"student-{route}" + (f"-st{round}" if round else "")


def student_eval_config(plan: DistillPlan, model_dir: str, round: int = 0) -> RunConfig:
    """The student as ``model-transfer`` on the target evaluation split, labelled by route (and round)."""
    r = plan.request
    return r.to_run_config(  # not the teacher's LLM, rounds or matcher: the student's run id depends on itself only
        method="model-transfer", extractor="token-classification", extractor_model=model_dir,
        split=r.preset("eval_split"), llm_backend=None, llm=None, base_url=None, rounds=None, crop_matcher=None,
        extractor_label_map=None,
    ).with_overrides(profile=run_label(r.route, round))


def evaluation_key(student: dict, plan: DistillPlan, round: int = 0) -> str:
    r = plan.request
    return content_hash({"student": student["step_key"], "silver": student.get("silver"), "round": round,
                         "eval": [r.preset("eval_split"), r.data_dir, r.limit, r.profile]})[:16]


def evaluate_student(plan: DistillPlan, student: dict, round: int = 0, progress: Progress | None = None) -> dict:
    """Evaluate (or resume evaluating) the student into a run; its run id and metrics (both F1 conventions)."""
    r = plan.request
    cfg = student_eval_config(plan, student["model_dir"], round)
    result = evaluate(cfg, r.db, progress=reporter(progress))
    if result.failed_shards:
        raise StudentFailed("the student's evaluation failed: "
                            + failure_summary(result.run_id, result.failed_shards, retried=False).splitlines()[0])
    store = Store(r.db)
    metrics = {m: value for m, (value, _) in store.metrics_by_lang(result.run_id).get(r.lang, {}).items()}
    store.put_student(student["step_key"], silver_id=student["silver"]["silver_id"], route=r.route, lang=r.lang,
                      round=round, model_dir=student["model_dir"], eval_run=result.run_id, manifest=None)
    return {"run_id": result.run_id, "label": cfg.profile, "metrics": metrics,
            "computed_shards": result.computed_shards, "skipped_shards": result.skipped_shards}


# -- 5. self-training -----------------------------------------------------------------------------------------------


def relabel_key(plan: DistillPlan, base: SilverSummary, student: dict, round: int) -> str:
    """The self-trained silver set's id: its base set, the round, the filters, the student's weights."""
    r = plan.request
    return silver_id_for(r.route, r.lang, {"base": base.silver_id, "round": round, "filters": r.filter_settings(),
                                           "student": directory_fingerprint(student["model_dir"])})


def relabel_silver(plan: DistillPlan, base: SilverSummary, student: dict, round: int,
                   progress: Progress | None = None) -> SilverSummary:
    """CROP's self-training data: the teacher's kept sentences, plus the sentences it dropped as the student tags
    them (kept when they pass the length and entity-count filters). Reused when finished."""
    say = reporter(progress)
    r = plan.request
    out = silver_dir(plan, round)
    store = Store(r.db)
    settings = r.filter_settings()
    silver_id = relabel_key(plan, base, student, round)
    done = stored_summary(store, silver_id)
    if done is not None:
        if not export_is_current(out, done, r.export_formats):
            export_silver(stored_rows(store, silver_id), done, out, r.export_formats)
        done.export_dir = str(out)
        return done
    rows = stored_rows(store, base.silver_id)
    todo = [i for i, row in enumerate(rows) if not row.kept and row.tokens]
    tags = student_tags(student["model_dir"], [rows[i].tokens for i in todo]) if todo else []

    relabelled = judge_candidates(
        [(Candidate(rows[i].sentence_id, rows[i].tokens, t, 0), rows[i].shard_index) for i, t in zip(todo, tags,
                                                                                                      strict=True)],
        "relabel", settings, source=f"student-st{round}")
    new_rows = list(rows)
    for i, row in zip(todo, relabelled, strict=True):
        why = (rows[i].reason,) + rows[i].details
        new_rows[i] = replace(row, details=tuple(dict.fromkeys(x for x in why if x)))
    new_rows = assign_parts(new_rows, r.seed, r.dev_share)
    fields = {"self_train_round": round, "base_silver": base.silver_id, "student": student["step_key"]}
    signature, config = silver_signature(plan, base.teacher_run, fields)
    summary = summarise(silver_id, r.route, r.lang, signature, new_rows, export_dir=str(out),
                        teacher_run=base.teacher_run)
    save_silver(store, summary, new_rows, config)
    export_silver(new_rows, summary, out, r.export_formats)
    say(summary.line() + f" (self-training round {round}: {sum(x.kept for x in relabelled)} of {len(todo)} "
        "dropped sentences relabelled by the student)")
    return summary


def student_tags(model_dir: str, tokens: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """IOB2 tags the student gives each tokenised sentence."""
    tagger = TokenClassificationExtractor(model_dir)
    return [iob2_from_labels(labels)[: len(t)] for labels, t in zip(tagger.word_labels([list(t) for t in tokens]),
                                                                      tokens, strict=True)]


