"""``eat distill``: teacher tags -> silver set -> student trained -> student evaluated, each step content-keyed.

Every step is idempotent and finds its own finished work, so a re-run after a crash resumes at the step that failed:

1. **teacher** (routes ``eat``, ``crop``): an evaluation run of the method over the unlabelled corpus
   (``eat_core.evaluation.loop.evaluate``: finished shards are skipped, every LLM call is cached);
2. **silver set**: the teacher's predictions filtered (or, route ``projection``, English labelled sentences
   translated with markers, shard by shard; route ``align``, translated without markers and projected by word
   alignment, ``eat_core/distill/alignment.py``); a finished set with the same content key is reused;
3. **student**: ``train_extractor`` on the export (its step key covers settings, base weights and the data read:
   a finished student is reused, checkpoints of the same key are resumed);
4. **evaluation**: the student as ``model-transfer`` over the target test (or dev) split, stored as a run labelled
   ``student-<route>`` (``-st<k>`` after self-training round k) beside the teacher's runs;
5. optional **self-training** (CROP §3.5 and its post-processing (iii)): the student tags the sentences the teacher
   dropped, they join the teacher's kept ones, a new student is trained and evaluated; ``self_train_rounds`` times.

Steps 1 and 2 and the whole chain are here; the student's steps 3 to 5 are in ``student.py``, the rows of the
translate-train routes in ``projected_rows.py``, the plan both sides share in ``plan.py``. The Prefect flow
``flows/distill.py`` runs the same step functions as cached tasks; :func:`distill` runs them in order without Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eat_core.config.coerce import coerce
from eat_core.distill.plan import DistillPlan, Progress, reporter, silver_dir, silver_signature
from eat_core.distill.projected_rows import align_identity, align_rows, projection_rows
from eat_core.distill.request import PROJECTION_ROUTES, DistillRequest
from eat_core.distill.silver import (
    SilverRow,
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
    teacher_candidates,
)
from eat_core.distill.student import (
    evaluate_student,
    relabel_silver,
    require_kept,
    student_eval_config,
    train_student,
)
from eat_core.errors import ConfigError, EatError
from eat_core.evaluation.checks import validate_request
from eat_core.evaluation.data import load_language
from eat_core.evaluation.identity import run_id_for
from eat_core.evaluation.lifecycle import failure_summary
from eat_core.evaluation.loop import evaluate
from eat_core.projection.aligners import DEFAULT_EMBEDDING_MODEL, NEEDS_MODEL, check_aligner
from eat_core.store import Store
from eat_core.weights.resolve import check_model


class TeacherFailed(EatError):
    """The teacher's evaluation run ended with failed shards; the same command resumes it (exit 1, as `eat run`)."""

    retryable = True


def coerce_distill(request: DistillRequest | dict | None) -> DistillRequest:
    """A :class:`DistillRequest` from itself or from flow parameters, with one-line errors naming the option."""
    return coerce(DistillRequest, request)


def plan_distill(request: DistillRequest | dict, *, student: bool = True) -> DistillPlan:
    """Check everything that can be checked before a model loads (one line each, naming the option)."""
    r = coerce_distill(request)
    out = Path(r.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} is a file; give a directory")
    if r.route in PROJECTION_ROUTES:  # the LLM and prompts read the English labelled data with `direct`
        source = validate_request(r, languages=("en",), method="direct")
        teacher = None
        if r.route == "align":
            check_aligner(r.aligner, r.aligner_model)
            if r.aligner in NEEDS_MODEL:
                check_model("--aligner-model", r.aligner_model or DEFAULT_EMBEDDING_MODEL)
    else:
        teacher = validate_request(r)
        source = None
    if student:
        check_model("--base-model", r.preset("base_model"))
        evaluation = student_eval_config(DistillPlan(r, teacher, source), "tiny:bert-tc", 0)

        load_language(evaluation, r.lang)  # the evaluation split exists and parses (file and line otherwise)
    return DistillPlan(r, teacher, source)


# -- 1. the teacher -------------------------------------------------------------------------------------------------


def teacher_key(plan: DistillPlan) -> str | None:
    return run_id_for(plan.teacher) if plan.teacher is not None else None


def tag_with_teacher(plan: DistillPlan, progress: Progress | None = None) -> str | None:
    """Run (or resume) the teacher's evaluation run over the unlabelled corpus; its run id (None for projection)."""
    if plan.teacher is None:
        return None

    result = evaluate(plan.teacher, plan.request.db, progress=reporter(progress))
    if result.failed_shards:
        raise TeacherFailed(failure_summary(result.run_id, result.failed_shards, retried=False).splitlines()[0]
                            + "; run the same command again to resume")
    return result.run_id


# -- 2. the silver set ----------------------------------------------------------------------------------------------


def silver_key(plan: DistillPlan, teacher_run: str | None) -> str:
    """The silver set's id: route, language, the teacher's run id (or the projection's input run key), filters."""
    r = plan.request
    if r.route == "projection":
        return silver_id_for(r.route, r.lang, {"source": run_id_for(plan.source), "filters": r.filter_settings()})
    if r.route == "align":
        return silver_id_for(r.route, r.lang, {"source": run_id_for(plan.source), "filters": r.filter_settings(),
                                               "align": align_identity(plan)})
    return silver_id_for(r.route, r.lang, {"teacher_run": teacher_run, "filters": r.filter_settings()})


def build_silver(plan: DistillPlan, teacher_run: str | None, out: str | Path | None = None,
                 progress: Progress | None = None) -> SilverSummary:
    """The silver set of the plan's route: reused when finished (re-exported if the export is missing or stale)."""
    say = reporter(progress)
    r = plan.request
    out = Path(out) if out is not None else silver_dir(plan)
    silver_id = silver_key(plan, teacher_run)
    store = Store(r.db)
    done = stored_summary(store, silver_id)
    if done is not None:
        if not export_is_current(out, done, r.export_formats):
            export_silver(stored_rows(store, silver_id), done, out, r.export_formats)
            say(f"{silver_id}: finished earlier; exported again to {out}")
        done.export_dir = str(out)
        return done
    signature, config = silver_signature(plan, teacher_run)
    if r.route == "projection":
        rows = projection_rows(plan, store, silver_id, signature, config, say)
    elif r.route == "align":
        rows = align_rows(plan, store, silver_id, signature, config, say)
    else:
        rows = _teacher_rows(plan, store, teacher_run)
    rows = assign_parts(rows, r.seed, r.dev_share)
    summary = summarise(silver_id, r.route, r.lang, signature, rows, export_dir=str(out), teacher_run=teacher_run)
    save_silver(store, summary, rows, config)
    export_silver(rows, summary, out, r.export_formats)
    say(summary.line())
    return summary


def _teacher_rows(plan: DistillPlan, store: Store, teacher_run: str) -> list[SilverRow]:
    r = plan.request
    order = [s.id for s in load_language(plan.teacher, r.lang)]
    candidates = teacher_candidates(store, teacher_run, r.lang, order)
    if len(candidates) < len(order):
        raise TeacherFailed(f"teacher run {teacher_run} has {len(candidates)} of {len(order)} {r.lang} sentences "
                            "tagged; run the same command again to resume it")
    return judge_candidates(candidates, r.route, r.filter_settings())


# -- the whole chain, without Prefect ------------------------------------------------------------------------------


@dataclass
class DistillResult:
    teacher_run: str | None
    silver: list[SilverSummary] = field(default_factory=list)
    students: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)


def distill(request: DistillRequest | dict, progress: Progress | None = None) -> DistillResult:
    """Teacher -> silver set -> student -> evaluation (-> self-training rounds), each step reused when finished."""
    say = reporter(progress)
    plan = plan_distill(request)
    r = plan.request
    teacher_run = tag_with_teacher(plan, say)
    base = require_kept(build_silver(plan, teacher_run, progress=say))
    result = DistillResult(teacher_run, [base])
    student = train_student(plan, base, 0, say)
    result.students.append(student)
    result.evaluations.append(evaluate_student(plan, student, 0, say))
    for k in range(1, r.self_train_rounds + 1):
        silver = relabel_silver(plan, base, student, k, say)
        result.silver.append(silver)
        student = train_student(plan, silver, k, say)
        result.students.append(student)
        result.evaluations.append(evaluate_student(plan, student, k, say))
    return result


def silver_only(request: DistillRequest | dict, out: str | Path, progress: Progress | None = None) -> SilverSummary:
    """``eat silver``: the teacher (if any) and the silver set, exported to ``<out>/<lang>/``."""
    plan = plan_distill(request, student=False)
    teacher_run = tag_with_teacher(plan, progress)
    return build_silver(plan, teacher_run, out=out, progress=progress)
