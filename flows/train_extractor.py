"""``train_extractor`` (deployment train-extractor/english): the same training function as ``eat train-extractor``."""

from __future__ import annotations

from prefect import flow

from eat_core.config.labels import short_model
from eat_core.training.extractor import ExtractorTrainConfig
from tasks.training import train_extractor_task


def _run_name() -> str:
    from prefect.runtime import flow_run

    try:
        cfg = ExtractorTrainConfig.model_validate(flow_run.parameters.get("cfg"))
    except Exception:  # noqa: BLE001 - a name never fails a run; Prefect's own validation reports the cause
        return "train-extractor (invalid parameters)"
    return f"train-extractor {cfg.kind} {short_model(cfg.base_model)} {cfg.lang}"


@flow(name="train-extractor", flow_run_name=_run_name)
def train_extractor_flow(cfg: ExtractorTrainConfig) -> dict:
    """Train an English NER extractor and return its manifest (metrics, data hash, hyper-parameters)."""
    return train_extractor_task(cfg)
