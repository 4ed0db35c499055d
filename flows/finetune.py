"""``finetune`` (deployment finetune/qlora): QLoRA on an EACL export; GPU-tagged for a concurrency limit."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from eat_core.config.labels import short_model
from eat_core.training.finetune import FinetuneConfig
from flows.naming import config_run_namer
from tasks.eacl import finetune_task

_run_name = config_run_namer("finetune", FinetuneConfig,
                             lambda cfg: f"{short_model(cfg.base_model)} {Path(cfg.train_file).stem}")


@flow(name="finetune", flow_run_name=_run_name)
def finetune_flow(cfg: FinetuneConfig) -> dict:
    """Train a LoRA adapter; returns its manifest (base identity, data hash, hyper-parameters, losses)."""
    return finetune_task(cfg)
