"""``distill`` (deployment distill/student): teacher -> silver set -> student -> evaluation, as cached tasks.

The request is validated first (one line as the state message on a bad parameter, nothing run). Each step is a task
keyed by its content (``tasks/distill.py``), so a new flow run with the same parameters after a crash finds the
finished steps ``Cached`` and resumes at the one that failed; the core steps are idempotent too (a finished teacher
run, silver set or student is found and reused even without Prefect's records).
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.states import Failed

from eat_core.config.coerce import named_as_typed
from eat_core.config.labels import run_labels
from eat_core.distill.pipeline import coerce_distill, plan_distill, silver_key, teacher_key
from eat_core.distill.plan import silver_dir
from eat_core.distill.request import DistillRequest
from eat_core.distill.silver import SilverSummary
from eat_core.distill.student import evaluation_key, relabel_key, student_dir, student_key
from eat_core.errors import EatError
from flows.naming import add_run_tags, flow_run_namer
from tasks.distill import (
    build_silver_task,
    cached,
    evaluate_student_task,
    relabel_silver_task,
    tag_teacher_task,
    train_student_task,
)


@flow(name="distill", flow_run_name=flow_run_namer("distill", DistillRequest), log_prints=True,
      validate_parameters=False)
def distill_flow(request: DistillRequest = DistillRequest()) -> dict:
    """Distil a student from a teacher's silver set; returns the silver sets, students and evaluation runs.

    The run is named after the route (the teacher's method), the teacher's model and the target language.

    Args:
        request: the route, the target language, the profile whose LLM, extractor and data the teacher borrows,
            the silver set's filters and the student's training settings; empty fields take the profile's preset.
    """
    logger = get_run_logger()
    try:
        with named_as_typed(request, DistillRequest):
            request = coerce_distill(request)
            plan = plan_distill(request)
    except EatError as exc:
        logger.error("%s", exc)
        return Failed(message=str(exc))
    add_run_tags(run_labels("distill", request).tags)
    db, lang = request.db, request.lang
    teacher_run = cached(tag_teacher_task, db)(request, key=teacher_key(plan))
    base = cached(build_silver_task, db)(request, teacher_run, key=silver_key(plan, teacher_run),
                                         produces=str(silver_dir(plan) / lang / "silver.json"))
    logger.info("%s", SilverSummary.from_dict(base).line())  # an empty set fails the student step with one line
    silvers, students, evaluations = [base], [], []
    silver = base
    for round in range(request.self_train_rounds + 1):
        if round:
            silver = cached(relabel_silver_task, db)(
                request, base, students[-1], round,
                key=relabel_key(plan, SilverSummary.from_dict(base), students[-1], round),
                produces=str(silver_dir(plan, round) / lang / "silver.json"))
            silvers.append(silver)
        student = cached(train_student_task, db)(
            request, silver, round, key=student_key(plan, silver["silver_id"], round),
            produces=str(student_dir(plan, round) / "final" / "eat_manifest.json"))
        students.append(student)
        evaluation = cached(evaluate_student_task, db)(request, student, round,
                                                       key=evaluation_key(student, plan, round))
        logger.info("%s (%s): token_f1=%.2f entity_f1=%.2f", evaluation["label"], evaluation["run_id"],
                    evaluation["metrics"].get("token_f1", 0.0), evaluation["metrics"].get("entity_f1", 0.0))
        evaluations.append(evaluation)
    return {"teacher_run": teacher_run, "silver": silvers, "students": [s["model_dir"] for s in students],
            "evaluations": evaluations}
