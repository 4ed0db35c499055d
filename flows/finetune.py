"""``finetune`` (deployment eat/finetune): QLoRA on an EACL export; GPU-tagged for a concurrency limit."""

from __future__ import annotations

from prefect import flow

from eat_core.training.finetune import FinetuneConfig
from tasks.eacl import finetune_task


@flow(name="eat", flow_run_name="finetune-{cfg.base_model}")
def finetune_flow(cfg: FinetuneConfig) -> dict:
    """Train a LoRA adapter; returns its manifest (base identity, data hash, hyper-parameters, losses)."""
    return finetune_task(cfg)
