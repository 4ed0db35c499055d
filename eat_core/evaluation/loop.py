"""Evaluate EAT over languages and shards, resumably, writing everything to the DuckDB workspace.

This is the plain-Python loop (no Prefect): a shard whose status is ``done`` is skipped, a failed shard is recorded
with its error and the others go on, and every LLM call goes through the DuckDB cache, so a re-run recomputes only
what is missing and a half-done shard reuses its cached calls. The Prefect flow ``full_eval`` composes the same
pieces (``run_shard``, ``score_run``) as tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.config.run import RunConfig
from eat_core.errors import DiskFullError, one_line
from eat_core.evaluation.checks import validate_config
from eat_core.evaluation.data import input_notes
from eat_core.evaluation.identity import run_id_for
from eat_core.evaluation.lifecycle import end_run, failure_summary, finish_run, start_run
from eat_core.evaluation.progress import ProgressTracker
from eat_core.evaluation.shards import plan_shards, run_shard
from eat_core.store import Store

Progress = Callable[[str], None]

log = logging.getLogger("eat")




@dataclass
class EvalResult:
    run_id: str
    failed_shards: list[tuple[str, int, str]] = field(default_factory=list)
    computed_shards: int = 0
    skipped_shards: int = 0



def evaluate(cfg: RunConfig, db: str | Path, *, run_id: str | None = None,
             progress: Progress | None = None) -> EvalResult:
    """Run (or resume) an evaluation without Prefect; returns which shards were computed, skipped or failed.

    The configuration is validated first (names, paths, data and its limits: one-line errors, nothing recorded).
    A run stopped by an exception or Ctrl-C is marked ``failed`` or ``interrupted`` with the reason before the
    exception propagates; failed shards mark it ``failed``, naming them. A re-run resumes either way.
    """

    say = progress or (lambda message: None)
    validate_config(cfg)
    store = Store(db)
    run_id = run_id or run_id_for(cfg)
    for note in start_run(store, run_id, cfg):
        say(note)
    result = EvalResult(run_id)
    try:
        finished = store.done_shards(run_id)
        plan = plan_shards(cfg)
        todo = [(lang, i, n) for lang, i, n in plan if (lang, i) not in finished]
        result = EvalResult(run_id, skipped_shards=len(plan) - len(todo))
        say(f"run {run_id}: {len(plan)} shards in {len(dict.fromkeys(cfg.data.languages))} language(s); "
            f"{result.skipped_shards} already done, {len(todo)} to compute")
        for note in input_notes(cfg):
            say(note)
        store.mark_shards_reused(run_id, sorted(finished))
        tracker = ProgressTracker(sum(n for _, _, n in todo))
        for k, (lang, index, _) in enumerate(todo, start=1):
            try:
                outcome = run_shard(cfg, store.path, run_id, lang, index, say)
            except DiskFullError:
                raise  # every later shard would fail alike: stop here, keeping what finished
            except Exception as exc:  # a failed shard must not stop the others
                message = one_line(exc)
                result.failed_shards.append((lang, index, message))
                log.debug("%s shard %s failed", lang, index, exc_info=True)
                say(f"[{k}/{len(todo)}] {lang} shard {index} FAILED: {message}")
                continue
            result.computed_shards += 1
            say(f"[{k}/{len(todo)}] " + tracker.update(outcome))
        finish_run(store, run_id, cfg, failed=bool(result.failed_shards), reason=failure_summary(
            run_id, result.failed_shards, retried=False) if result.failed_shards else None)
    except KeyboardInterrupt:
        end_run(store, run_id, "interrupted", "interrupted (Ctrl-C); re-run the same command to resume")
        raise
    except DiskFullError as exc:
        marked = end_run(store, run_id, "failed", one_line(exc))
        raise disk_full_stop(exc, run_id, result.computed_shards + result.skipped_shards, marked) from exc
    except BaseException as exc:
        end_run(store, run_id, "failed", one_line(exc))
        raise
    return result



def disk_full_stop(exc: DiskFullError, run_id: str, kept: int, marked: bool) -> DiskFullError:
    """The one line a run stopped by a full disk ends with: the file, what is kept, what was marked, what to do."""
    where = Path(exc.path).parent if exc.path else "the workspace's directory"
    cause = str(exc).split("; free space there", 1)[0]
    state = ("it is marked failed" if marked else
             "it could not be marked failed (the disk is full), but a re-run resumes it anyway")
    return DiskFullError(f"{cause}; run {run_id} stopped: its {kept} finished shard(s) are kept and {state}; free "
                         f"space in {where}, then re-run the same command to resume", exc.path)

