"""``train_extractor`` (deployment train-extractor/english): the same training function as ``eat train-extractor``."""

from __future__ import annotations

from prefect import flow

from eat_core.config.labels import short_model
from eat_core.training.extractor import ExtractorTrainConfig
from flows.naming import config_run_namer
from tasks.training import train_extractor_task

_run_name = config_run_namer("train-extractor", ExtractorTrainConfig,
                             lambda cfg: f"{cfg.kind} {short_model(cfg.base_model)} {cfg.lang}")


@flow(name="train-extractor", flow_run_name=_run_name)
def train_extractor_flow(cfg: ExtractorTrainConfig) -> dict:
    """Train an English NER extractor and return its manifest (metrics, data hash, hyper-parameters)."""
    return train_extractor_task(cfg)
