"""What a failed shard leaves in the logs: one line, with the traceback at debug level.

Prefect logs a task whose retries are exhausted with its whole traceback at ERROR (about 40 lines per shard, most of
them Prefect's and asyncio's frames) and then its ``Finished in state Failed(...)`` line at ERROR, and a flow that
ends in the ``Failed`` state it returned with a second traceback ("Engine execution exited with unexpected
exception", a ``FailedRun`` that only repeats the state's message). The flow already logs one ERROR line per failed
shard (``zh shard 0 failed: ServiceUnavailable: ...``) and its Failed state names every shard and cause, so
:class:`TracebackToDebug` moves those records to DEBUG, traceback included: still there for whoever asks for debug
logs (``PREFECT_LOGGING_LEVEL=DEBUG``), out of the way of everyone else. The task's retries stay at INFO, its Failed
state stays in the UI, and a genuine crash of the flow (any other exception) keeps its traceback at ERROR.

The records are matched by the text Prefect 3.8's engines log (``prefect/task_engine.py``, ``flow_engine.py``);
should that text change, the tracebacks come back at ERROR, nothing is lost.
"""

from __future__ import annotations

import logging

TASK_FAILED = "Task run failed with"  # task_engine: "... {exc!r} - Retries are exhausted" (or no retries)
TASK_FINISHED_FAILED = "Finished in state Failed("  # task_engine, at ERROR, after the record above
ENGINE_EXITED = "Engine execution exited with unexpected exception"  # flow_engine.run_flow's error_logger

QUIETED_TASKS = frozenset({"run_shard", "tag_shard"})
"""Tasks whose failure the flow reports itself, one line per shard (evaluation and tagging)."""


class TracebackToDebug(logging.Filter):
    """Demote a shard task's final failure record, and the flow's ``FailedRun`` exit record, to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _quieted(record):
            return True
        # Prefect's handlers take every level (their loggers' level decides), so a record kept here would reach the
        # console and the API even as DEBUG: keep it only where debug logging is on
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _quieted(record: logging.LogRecord) -> bool:
    if record.levelno < logging.ERROR:
        return False
    message = str(record.msg)
    if message.startswith(TASK_FINISHED_FAILED):  # the flow's own line says the same, naming the shard
        return getattr(record, "task_name", None) in QUIETED_TASKS
    if not record.exc_info:
        return False
    if message.startswith(TASK_FAILED):
        return getattr(record, "task_name", None) in QUIETED_TASKS
    if message.startswith(ENGINE_EXITED):
        from prefect.exceptions import FailedRun

        return isinstance(record.exc_info[1], FailedRun)
    return False


def quiet_failure_tracebacks() -> None:
    """Install :class:`TracebackToDebug` on Prefect's task-run and flow-run loggers (once per process): called by
    the flow before it runs any shard."""
    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, TracebackToDebug) for f in logger.filters):
            logger.addFilter(TracebackToDebug())
