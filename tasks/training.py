"""Thin Prefect task over the extractor trainer; tagged so a concurrency limit can keep it off a busy GPU."""

from __future__ import annotations

from prefect import task

from eat_core.training.extractor import ExtractorTrainConfig, train_extractor


@task(name="train_extractor", tags=["gpu"])
def train_extractor_task(cfg: ExtractorTrainConfig) -> dict:
    from prefect.logging import get_run_logger

    return train_extractor(cfg, progress=get_run_logger().info)
