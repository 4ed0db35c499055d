"""Files written from results: the ``eat results --format`` exports, the ``eat report`` and ``eat compare`` pairs
(Markdown + PNG), and the names they get: made safe on every filesystem and never outside the folder asked for."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from eat_core.errors import ConfigError
from eat_core.results.compare import Comparison, compare_runs
from eat_core.results.plots import plot_comparison, plot_report
from eat_core.results.render import comparison_markdown, markdown_report, results_table
from eat_core.results.tables import latest_completed_run, method_and_model, resolve_run, results_frame
from eat_core.store import Store


def safe_file_stem(name: str) -> str:
    """Map any stored name (runs made before names were checked) onto a safe file stem."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".").replace("..", "_")
    return stem[:128] or "run"


def inside(out: Path, *paths: Path) -> None:
    """Refuse (``ConfigError`` naming ``--out``) any of ``paths`` that would not be a file directly in ``out``."""
    for path in paths:
        if path.resolve().parent != out.resolve():
            raise ConfigError(f"--out: refusing to write {path} outside {out}")


RESULT_FORMATS = ("table", "csv", "json", "parquet")



def export_results(db: str | Path, run_id: str | None, fmt: str, out: str | Path | None = None) -> str:
    """``eat results --format``: the run's table (``table``) or its ``results_frame`` as CSV, JSON records or
    Parquet (written by DuckDB; needs ``out``). Returns the text to print: the export itself, or ``wrote FILE``."""
    if fmt not in RESULT_FORMATS:
        raise ConfigError(f"--format: unknown format {fmt!r}; use {', '.join(RESULT_FORMATS)}")
    path = Path(out) if out is not None else None
    if path is not None and path.is_dir():
        raise ConfigError(f"--out: {path} is a directory; give a file name")
    if fmt == "parquet" and path is None:
        raise ConfigError("--format parquet: give --out FILE (Parquet is binary, not for a terminal)")
    run = resolve_run(Store(db), run_id)
    if fmt == "table":
        text = results_table(db, run) + "\n"
    else:
        frame = results_frame(db, run)
        if fmt == "parquet":
            import duckdb

            path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect()  # in memory: the workspace file is only read
            try:
                con.from_df(frame).write_parquet(str(path))
            finally:
                con.close()
            return f"wrote {path} ({len(frame)} rows)"
        text = frame.to_csv(index=False) if fmt == "csv" else frame.to_json(orient="records", force_ascii=False,
                                                                             indent=1) + "\n"
    if path is None:
        return text.rstrip("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return f"wrote {path}"


def write_report(db: str | Path, run_id: str | None, out_dir: str | Path) -> tuple[Path, Path]:
    """``OUT/<run>.md`` (``markdown_report``) and ``OUT/<run>.png`` (``plot_report``); ``run_id`` None: the latest
    completed run (:func:`report_run` says which). The names are made safe and never leave ``out_dir``."""
    run = report_run(db, run_id)[0]
    text, rows = markdown_report(db, run)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_file_stem(run)  # a stored run id never becomes a path outside ``out_dir``
    png, md = out / f"{stem}.png", out / f"{stem}.md"
    inside(out, png, md)
    method = method_and_model(Store(db).run_config(run))[0]
    plot_report(rows, png, f"{method}: run {run}")
    md.write_text(text + f"\n![F1, BLEU and L_e per language]({png.name})\n", encoding="utf-8")
    return md, png


def report_run(db: str | Path, run_id: str | None) -> tuple[str, str | None]:
    """The run ``eat report`` shows and the line that says why when it was not named: ``run_id`` checked, or the
    latest completed run (a failed or running one has nothing, or only part, to draw)."""
    store = Store(db)
    if run_id:
        return store.require_run(run_id), None
    run = latest_completed_run(store)
    latest = store.latest_run()
    note = f"run {run}: the latest completed run in {db}"
    if latest != run:
        note += f" (the latest run, {latest}, is {(store.run_status(latest) or ('?',))[0]}: eat report {latest})"
    return run, note


def _stem(run_ids: Sequence[str] | None) -> str:
    if not run_ids:
        return "compare"
    joined = "compare-" + "-".join(dict.fromkeys(run_ids))
    if len(joined) <= 100:
        return safe_file_stem(joined)
    digest = hashlib.sha256("\n".join(run_ids).encode("utf-8")).hexdigest()[:10]
    return safe_file_stem(f"compare-{len(run_ids)}-runs-{digest}")


def write_comparison(db: str | Path, run_ids: Sequence[str] | None, out_dir: str | Path,
                     cmp: Comparison | None = None) -> tuple[Path, Path]:
    """``OUT/compare[-RUNS].md`` and ``.png``; names are made safe and never leave ``out_dir``."""
    cmp = cmp or compare_runs(db, run_ids)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} is a file; give a directory")
    out.mkdir(parents=True, exist_ok=True)
    stem = _stem(run_ids)
    md, png = out / f"{stem}.md", out / f"{stem}.png"
    inside(out, md, png)
    plot_comparison(cmp, png)
    md.write_text(comparison_markdown(cmp, png=png.name), encoding="utf-8")
    return md, png
