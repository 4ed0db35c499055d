"""A run's results as artifacts on its flow run, so the Prefect UI shows them without a terminal.

``eat_core.results.artifacts.run_artifacts`` builds four artifacts (results, table, comparison, plots; their keys
name the method and the headline F1, e.g. ``crop-f1-12-50-smoke-1a2b``). They are created here in the flow's
own context, not inside a task: Prefect attaches an artifact made inside a task to that task run, and the flow run's
Artifacts tab then says "None".
"""

from __future__ import annotations

import logging

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from eat_core.errors import one_line
from eat_core.results.artifacts import run_artifacts


def publish_results(db: str, run_id: str, logger: logging.Logger | logging.LoggerAdapter) -> dict[str, str]:
    """Publish the run's artifacts on the current flow run; returns ``{name: key}``. Call it from the flow body.
    Never fails the run: an error (the API unreachable, ...) is logged as one warning line and nothing is
    returned."""
    try:
        built = run_artifacts(db, run_id)
        for artifact in built.values():
            if "table" in artifact:
                create_table_artifact(artifact["table"], key=artifact["key"], description=artifact["description"])
            else:
                create_markdown_artifact(artifact["markdown"], key=artifact["key"],
                                         description=artifact["description"])
    except Exception as exc:  # noqa: BLE001 - the results are in DuckDB whatever happens here
        logger.warning("results of run %s not published as artifacts: %s", run_id, one_line(exc))
        return {}
    keys = {name: artifact["key"] for name, artifact in built.items()}
    logger.info("artifacts of run %s: %s", run_id, ", ".join(keys.values()))
    return keys
