"""What a run's results look like as Prefect artifacts (built here, without Prefect; published by
``tasks/artifacts.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from eat_core.results.compare import compare_runs
from eat_core.results.render import comparison_markdown
from eat_core.results.tables import inputs_line
from eat_core.store import Store


def run_artifacts(db: str | Path, run_id: str) -> dict:
    """What the flow publishes for one run: ``{"markdown": text, "table": rows}`` (``tasks/artifacts.py`` names
    them). The Markdown is the comparison of this run with the published rows, plus the inputs it was made from;
    the table is its ``results_frame`` (one row per language)."""
    cmp = compare_runs(db, [run_id])
    text = comparison_markdown(cmp, title=f"EAT results: run `{run_id}`",
                               preamble=[f"`{inputs_line(Store(db), run_id)}`", ""])
    records = json.loads(cmp.frame.to_json(orient="records"))  # NaN -> null, numpy -> plain JSON types
    return {"markdown": text, "table": records}
