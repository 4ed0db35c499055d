"""Thin Prefect tasks over eat_core.eacl and eat_core.training.finetune."""

from __future__ import annotations

from prefect import task

from eat_core.eacl.corpus import export_sharegpt, judge_pairs, stats_table, store_pairs
from eat_core.eacl.harvest import Harvester, harvested_pairs
from eat_core.store import Store
from eat_core.training.finetune import FinetuneConfig, finetune


@task(name="harvest_eacl", retries=2, retry_delay_seconds=60)
def harvest_task(db: str, languages: list[str], entities: list[str], user_agent: str, rate_per_s: float,
                 max_age_days: float, max_seconds: float | None, endpoint: str | None) -> dict:
    """Fetch what is missing or stale; retried as a whole on failure (already-fetched pages are reused)."""
    from prefect.logging import get_run_logger

    harvester = Harvester(Store(db), languages, user_agent=user_agent, rate_per_s=rate_per_s,
                          max_age_days=max_age_days, max_seconds=max_seconds, endpoint=endpoint,
                          progress=get_run_logger().info)
    report = harvester.harvest(entities)
    return {"entities": report.entities, "fetched": report.fetched_pages, "reused": report.reused_pages,
            "statuses": dict(report.statuses), "stopped_early": report.stopped_early}


@task(name="build_eacl")
def build_task(db: str, languages: list[str], out_dir: str, seed: int, valid_ratio: float) -> str:
    store = Store(db)
    judged = judge_pairs(harvested_pairs(store, languages), "harvest")
    store_pairs(store, judged)
    for lang in sorted({j.lang for j in judged}):
        export_sharegpt([j for j in judged if j.lang == lang], out_dir, name=f"eacl_{lang}", seed=seed,
                        valid_ratio=valid_ratio)
    return stats_table(judged)


@task(name="finetune", tags=["gpu"])
def finetune_task(cfg: FinetuneConfig) -> dict:
    from prefect.logging import get_run_logger

    return finetune(cfg, progress=get_run_logger().info)
