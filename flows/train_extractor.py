"""``train_extractor`` (deployment eat/train-extractor): the same training function as ``eat train-extractor``."""

from __future__ import annotations

from prefect import flow

from eat_core.training.extractor import ExtractorTrainConfig
from tasks.training import train_extractor_task


@flow(name="eat", flow_run_name="train-extractor-{cfg.kind}")
def train_extractor_flow(cfg: ExtractorTrainConfig) -> dict:
    """Train an English NER extractor and return its manifest (metrics, data hash, hyper-parameters)."""
    return train_extractor_task(cfg)
