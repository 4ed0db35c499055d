"""Thin Prefect tasks over ``eat_core.distill.pipeline`` and ``eat_core.distill.student``: one core call each,
cached by the step's content key.

Each task takes ``key``, the content key of its step (the teacher's run id, the silver set's id, the student's key,
...), computed by ``eat_core`` before the task runs. ``StepCachePolicy`` hashes that key with the eat-ner version and
the task's source, never the flow-run id, so a new flow run with the same parameters after a crash finds every
finished step ``Cached`` and resumes at the one that failed. A step that writes files names one in ``produces``: the
cached result is used only while that file exists and still records this key (an export or a model overwritten by
another request under the same ``--out`` runs the step again; the core step then finds its own finished work).
Cache records live in the workspace's DuckDB file, beside the results they describe.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import CachePolicy

from eat_core.distill.pipeline import build_silver, plan_distill, tag_with_teacher
from eat_core.distill.request import DistillRequest
from eat_core.distill.silver import SilverSummary
from eat_core.distill.student import evaluate_student, relabel_silver, train_student
from eat_core.hashing import content_hash
from tasks.policies import code_version
from tasks.storage import DuckDBKeyStorage


@dataclass
class StepCachePolicy(CachePolicy):
    def compute_key(self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        key = inputs.get("key")
        if not key:
            return None
        produces = inputs.get("produces")
        if produces:
            path = Path(produces)
            try:
                if key not in path.read_text(encoding="utf-8"):
                    return None
            except OSError:
                return None
        try:
            source = inspect.getsource(task_ctx.task.fn)
        except (OSError, TypeError, AttributeError):
            source = ""
        return f"distill-{task_ctx.task.name}-" + content_hash({"key": key, "version": code_version(),
                                                                "source": source})


def cached(step, db: str):
    """``step`` with its cache records kept in the workspace's DuckDB file."""
    return step.with_options(cache_policy=StepCachePolicy().configure(key_storage=DuckDBKeyStorage(db_path=db)))


def _log():
    from prefect.logging import get_run_logger

    return get_run_logger().info


@task(name="tag_teacher", tags=["llm"], persist_result=True)
def tag_teacher_task(request: DistillRequest, key: str | None) -> str | None:
    """The teacher's evaluation run over the unlabelled corpus (None for the projection route)."""
    return tag_with_teacher(plan_distill(request), _log())


@task(name="build_silver", tags=["llm"], persist_result=True)
def build_silver_task(request: DistillRequest, teacher_run: str | None, key: str, produces: str) -> dict:
    """The silver set (filtered teacher predictions, or the projection), stored and exported."""
    return build_silver(plan_distill(request), teacher_run, progress=_log()).as_dict()


@task(name="train_student", tags=["gpu"], persist_result=True)
def train_student_task(request: DistillRequest, silver: dict, round: int, key: str, produces: str) -> dict:
    """The student trained on a silver set (reused or resumed by its step key)."""
    return train_student(plan_distill(request), SilverSummary.from_dict(silver), round, _log())


@task(name="evaluate_student", persist_result=True)
def evaluate_student_task(request: DistillRequest, student: dict, round: int, key: str) -> dict:
    """The student as ``model-transfer`` on the evaluation split, stored as a run labelled by route."""
    return evaluate_student(plan_distill(request), student, round, _log())


@task(name="relabel_silver", persist_result=True)
def relabel_silver_task(request: DistillRequest, base: dict, student: dict, round: int, key: str,
                        produces: str) -> dict:
    """Self-training: the teacher's dropped sentences relabelled by the student, joined to its kept ones."""
    return relabel_silver(plan_distill(request), SilverSummary.from_dict(base), student, round, _log()).as_dict()
