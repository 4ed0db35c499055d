"""What a run's results look like as Prefect artifacts (built here, without Prefect; published on the flow run by
``tasks/artifacts.py``).

Four artifacts per run, each with a key a reader can tell apart in the Artifacts page (lowercase letters, digits and
dashes, as Prefect requires), built by :func:`run_artifacts`:

* **results** (Markdown, key ``<method>-f1-<avg>-<run>``, e.g. ``crop-f1-12-50-smoke-1a2b``, or
  ``crop-failed-smoke-1a2b`` when no average could be computed): the run beside the published rows (EAT
  Table 4 layout), failed shards with their causes, failure reasons, costs, inputs, and how to get the raw data;
* **table** (key ``<results key>-table``): one row per language, rounded to 2 decimals and limited to what a reader
  compares (F1 under both protocols, entity F1, BLEU, L_e, shards, failed-shard causes, cost, reuse);
* **comparison** (Markdown, key ``compare-<source>-<split>``, e.g. ``compare-sample-dev``): every run of the
  workspace on the same data and split, side by side (each new run adds a version under the same key);
* **plots** (Markdown, key ``plots-<method>-<run>``): the run's figure and the comparison's, embedded as PNG
  ``data:`` URIs. Prefect's image artifact would also show a ``data:`` URI, but prints the whole URI as a link under
  the image; a Markdown artifact shows only the image, with a caption, and needs no server to host the file (the
  Prefect 3.8 UI turns a Markdown image into ``<img src=...>`` with the URI as given, as its bundled renderer shows).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from eat_core.results.compare import Comparison, compare_runs
from eat_core.results.plots import comparison_figure, figure_png, report_figure
from eat_core.results.render import comparison_markdown, fmt
from eat_core.results.tables import inputs_line, language_rows, results_rows
from eat_core.store import Store

DECIMALS = 2


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key from ``parts``: lowercase letters, digits and dashes only, at most 100 characters
    (``artifact_key("crop", "f1", "smoke-1A2B")`` -> ``crop-f1-smoke-1a2b``)."""
    joined = "-".join(str(p) for p in parts if p not in (None, ""))
    key = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", joined.lower())).strip("-")
    return key[:100].strip("-") or "eat"


def _number(value) -> str:
    return fmt(value, f".{DECIMALS}f").replace(".", "-").replace("+", "")


def headline(cmp: Comparison, run_id: str) -> float | None:
    """The run's headline number: token F1 under the paper's protocol averaged over its languages (None when a
    language has none, e.g. its shards failed)."""
    for row in cmp.f1_rows():
        if row["run_id"] == run_id and row["lang"] == "avg":
            return row["f1_eat_official"]
    return None


def raw_data_hint(db: str | Path, run_id: str) -> list[str]:
    """Where the unrounded data is, one command away."""
    return ["Raw data (every metric, cost and signature, unrounded): "
            f"`eat results {run_id} --db {db} --format json`, or in SQL: "
            f"`SELECT * FROM metrics WHERE run_id = '{run_id}'` and "
            f"`SELECT * FROM shards WHERE run_id = '{run_id}'` (`duckdb {db}`)."]


def table_rows(db: str | Path, run_id: str) -> list[dict]:
    """The table artifact: one row per language, rounded, with the columns a reader compares."""
    out = []
    for r in language_rows(Store(db), run_id):
        by_cause: dict[str, list[str]] = {}
        for index, cause in sorted(r["shard_errors"].items()):
            by_cause.setdefault(cause, []).append(str(index))
        out.append({
            "lang": r["lang"],
            "token F1 (paper)": _round(r["token_f1"]), "token F1 (true)": _round(r["token_f1_true"]),
            "entity F1": _round(r["entity_f1"]), "BLEU": _round(r["bleu"]), "L_e": _round(r["entropy_loss"]),
            "sentences": r["sentences"], "shards done": f"{r['shards_done']}/{r['shards']}",
            "failed shards": "; ".join(f"{', '.join(shards)}: {cause}" for cause, shards in by_cause.items()) or "-",
            "LLM calls": r["llm_calls"], "s/sentence": _round(r["s_per_sentence"]),
            "reused shards": r["shards_reused"],
        })
    return out


def _round(value) -> float | None:
    return None if value is None or value != value else round(float(value), DECIMALS)


def same_data_runs(db: str | Path, run_id: str) -> list[str]:
    """Every run of the workspace on the same data source and split as ``run_id`` (oldest first): the runs a
    comparison may hold against each other."""
    store = Store(db)

    def data(run: str) -> tuple:
        d = store.run_config(run).get("data") or {}
        return d.get("source"), d.get("data_dir"), d.get("split")

    mine = data(run_id)
    return [r for r in store.list_runs() if data(r) == mine]


def _dir_tag(db: str | Path, run_id: str) -> str:
    """For local data, 8 hex digits of its directory: two local datasets never share a comparison key."""
    data_dir = (Store(db).run_config(run_id).get("data") or {}).get("data_dir")
    return hashlib.sha256(str(data_dir).encode("utf-8")).hexdigest()[:8] if data_dir else ""


def png_markdown(caption: str, png: bytes) -> str:
    """A Markdown image with the PNG inline as a ``data:`` URI (no file server needed)."""
    return f"![{caption}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def run_artifacts(db: str | Path, run_id: str) -> dict:
    """What the flow publishes for one run: ``{name: {"key", "description", and "markdown" or "table"}}`` for the
    names ``results``, ``table``, ``comparison`` and ``plots`` (module docstring)."""
    cmp = compare_runs(db, [run_id])
    run = cmp.runs[0]
    f1 = headline(cmp, run_id)
    score = f"f1-{_number(f1)}" if f1 is not None else ("failed" if run["status"] == "failed" else "f1-na")
    base = artifact_key(run["method"], score, run_id)
    data = f"{run['source']}/{run['split']}"
    langs = ", ".join(cmp.languages)
    failed = sum(len(r["shards"]) for r in cmp.failed_shard_rows())
    summary = (f"{run['method']} ({run['model']}) on {data} ({langs}): token F1 "
               f"{fmt(f1)} (eat-official, avg.), {run['status']}"
               + (f", {failed} shard(s) failed" if failed else ""))
    text = comparison_markdown(cmp, title=f"EAT results: {run['method']}, run `{run_id}`",
                               preamble=[summary + ".", "", f"`{inputs_line(Store(db), run_id)}`", "",
                                         *raw_data_hint(db, run_id), ""])
    others = same_data_runs(db, run_id)
    both = compare_runs(db, others)
    compare_text = comparison_markdown(both, title=f"Runs on {data}, side by side",
                                       preamble=[f"{len(others)} run(s) of this workspace on data `{run['source']}` "
                                                 f"split `{run['split']}`; the newest is `{run_id}`.", "",
                                                 *raw_data_hint(db, run_id), ""])
    report = report_figure(results_rows(db, run_id)[1], f"{run['method']}: run {run_id}")
    plots = "\n\n".join([f"# Plots of run `{run_id}` ({run['method']})", summary + ".",
                         png_markdown(f"token F1, BLEU and L_e per language, run {run_id}", figure_png(report)),
                         f"## Runs on {data}, token F1 per language",
                         png_markdown(f"token F1 per language and method on {data}",
                                      figure_png(comparison_figure(both)))])
    return {
        "results": {"key": base, "description": summary, "markdown": text},
        "table": {"key": artifact_key(base, "table"), "description": f"{summary}; one row per language, rounded",
                  "table": table_rows(db, run_id)},
        "comparison": {"key": artifact_key("compare", run["source"], run["split"], _dir_tag(db, run_id)),
                       "description": f"{len(others)} run(s) on {data}, side by side", "markdown": compare_text},
        "plots": {"key": artifact_key("plots", run["method"], run_id), "description": summary,
                  "markdown": plots},
    }
