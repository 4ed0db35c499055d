"""Flow-run names and tags in Prefect's runs list: method, model and languages (``eat_core/config/labels.py``).

The name comes from ``flow_run_name`` (set when the run starts, a bad request included: ``full-eval (invalid
request)``); the tags are added once the request has validated, beside the deployment's own (``eat``,
``evaluation``), so the runs list filters by ``method:crop`` or ``lang:zh``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from eat_core.config.labels import labels_for
from eat_core.config.requests import BaseRequest


def flow_run_namer(kind: str, model: type[BaseRequest],
                   detail: Callable[[Any], str] | None = None) -> Callable[[], str]:
    """A ``flow_run_name`` callable: :func:`~eat_core.config.labels.labels_for` of this run's ``request``."""

    def name() -> str:
        from prefect.runtime import flow_run

        return labels_for(kind, model, flow_run.parameters.get("request"), detail).name

    name.__name__ = f"{kind.replace('-', '_')}_run_name"
    return name


def config_run_namer(kind: str, model: type, describe: Callable[[Any], str]) -> Callable[[], str]:
    """A ``flow_run_name`` callable for a flow whose one parameter ``cfg`` is a pydantic ``model``:
    ``"<kind> <describe(cfg)>"``, or ``"<kind> (invalid parameters)"`` (Prefect's own validation reports why)."""

    def name() -> str:
        from prefect.runtime import flow_run

        try:
            cfg = model.model_validate(flow_run.parameters.get("cfg"))
        except Exception:  # noqa: BLE001 - a name never fails a run
            return f"{kind} (invalid parameters)"
        return f"{kind} {describe(cfg)}"

    name.__name__ = f"{kind.replace('-', '_')}_run_name"
    return name


def add_run_tags(tags: Iterable[str]) -> None:
    """Add ``tags`` to the current flow run, keeping the ones it has; a failure to label never fails the run."""
    from prefect import get_client, get_run_logger
    from prefect.runtime import flow_run

    tags = list(tags)
    if not tags or not flow_run.id:
        return
    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(flow_run.id)
            client.update_flow_run(flow_run.id, tags=list(dict.fromkeys([*run.tags, *tags])))
    except Exception as exc:  # noqa: BLE001 - tags are a convenience of the runs list
        get_run_logger().debug("could not tag the flow run: %s", exc)
