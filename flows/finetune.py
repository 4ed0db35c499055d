"""``finetune`` (deployment finetune/qlora): QLoRA on an EACL export; GPU-tagged for a concurrency limit."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from eat_core.config.labels import short_model
from eat_core.training.finetune import FinetuneConfig
from tasks.eacl import finetune_task


def _run_name() -> str:
    from prefect.runtime import flow_run

    try:
        cfg = FinetuneConfig.model_validate(flow_run.parameters.get("cfg"))
    except Exception:  # noqa: BLE001 - a name never fails a run; Prefect's own validation reports the cause
        return "finetune (invalid parameters)"
    return f"finetune {short_model(cfg.base_model)} {Path(cfg.train_file).stem}"


@flow(name="finetune", flow_run_name=_run_name)
def finetune_flow(cfg: FinetuneConfig) -> dict:
    """Train a LoRA adapter; returns its manifest (base identity, data hash, hyper-parameters, losses)."""
    return finetune_task(cfg)
