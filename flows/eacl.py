"""``eacl_refresh`` (deployment eacl/refresh, on a cron): harvest what is missing or stale, then rebuild the corpus.

The harvest is incremental (pages live in DuckDB with their fetch time), so a scheduled refresh costs only the new
or aged pages, and a run cut short by its time budget continues where it stopped next time.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.states import Failed

from eat_core.eacl.harvest import check_user_agent
from eat_core.errors import EatError
from tasks.eacl import build_task, harvest_task


def _entities(entities_file: str | None, official_dir: str | None, conll_file: str | None) -> list[str]:
    found: list[str] = []
    if entities_file:
        found += [x.strip() for x in Path(entities_file).read_text(encoding="utf-8").splitlines() if x.strip()]
    if official_dir:
        from eat_core.data.eacl_files import read_eacl_dir

        found += [p.eng_entity for pairs in read_eacl_dir(official_dir).values() for p in pairs]
    if conll_file:
        from eat_core.data.conll2003 import entity_strings, read_conll2003

        found += entity_strings(read_conll2003(conll_file)[0])
    return list(dict.fromkeys(found))


@flow(name="eacl", flow_run_name="refresh-{db}")
def eacl_refresh(db: str = "eat.duckdb", languages: list[str] = ["ar", "hi", "hy", "ja", "ka", "ko", "ru", "zh"],  # noqa: B006
                 user_agent: str = "eat-ner/0.1 (set a contact address)", entities_file: str | None = None,
                 official_dir: str | None = None, conll_file: str | None = None, out_dir: str = "eacl",
                 rate_per_s: float = 5.0, max_age_days: float = 30.0, max_seconds: float | None = 3600,
                 endpoint: str | None = None, seed: int = 42, valid_ratio: float = 0.1) -> dict:
    try:
        check_user_agent(user_agent)  # before any request: a harvest without a contact is refused, scheduled or not
    except EatError as exc:
        get_run_logger().error("%s", exc)
        return Failed(message=str(exc))
    entities = _entities(entities_file, official_dir, conll_file)
    if not entities:
        raise ValueError("no English entities: set entities_file, official_dir or conll_file")
    report = harvest_task(db, languages, entities, user_agent, rate_per_s, max_age_days, max_seconds, endpoint)
    stats = build_task(db, languages, out_dir, seed, valid_ratio)
    get_run_logger().info("harvest: %s\n%s", report, stats)
    return {"harvest": report, "stats": stats}
