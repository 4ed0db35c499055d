"""Thin Prefect task: a run's results as artifacts on its flow run, so the Prefect UI shows them without a terminal.

Two artifacts per run (``eat_core.results.artifacts.run_artifacts`` builds them; :func:`artifact_key` names them:
lowercase letters, digits and dashes, one key per run so a resumed run adds a new version under the same key):

* ``eat-results-<run>``: Markdown: the run beside the published rows (EAT Table 4 layout), token F1 under the
  paper's protocol and true positions, failure reasons, costs, and the inputs the run was made from;
* ``eat-results-<run>-table``: a table, one row per language with every metric and cost (``results_frame``).
"""

from __future__ import annotations

import re

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from eat_core.results.artifacts import run_artifacts


def artifact_key(run_id: str, suffix: str = "") -> str:
    """A Prefect artifact key for a run: lowercase letters, digits and dashes only (``eat-results-smoke-1a2b``)."""
    base = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"eat-results-{run_id}".lower())).strip("-")
    key = f"{base[:90]}-{suffix}" if suffix else base[:100]
    return key.strip("-")


@task(name="publish_results", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE, persist_result=False)
def publish_results_task(db: str, run_id: str) -> dict[str, str]:
    """Publish the run's results; returns ``{"markdown": key, "table": key}``. Retried: it talks to the API.
    Never cached: a resumed or retried run publishes its new results again."""
    built = run_artifacts(db, run_id)
    md_key, text = artifact_key(run_id), built["markdown"]
    table_key, rows = artifact_key(run_id, "table"), built["table"]
    create_markdown_artifact(text, key=md_key, description=f"eat-ner results of run {run_id}")
    create_table_artifact(rows, key=table_key, description=f"eat-ner results of run {run_id}, one row per language")
    return {"markdown": md_key, "table": table_key}
