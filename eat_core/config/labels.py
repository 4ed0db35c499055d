"""How a run shows in Prefect's runs list: a name and tags that carry the method, the model and the languages.

Every evaluation used to be ``eat > full-eval-smoke``, so an EAT run, a CROP run and a failed run looked alike. Now::

    run_labels("full-eval", EvalRequest(profile="paper", method="crop"))
    -> RunLabels(name="full-eval crop qwen14b 8 langs",
                 tags=("method:crop", "profile:paper", "model:qwen14b", "lang:ar", ..., "lang:zh"))

A request that cannot be resolved (a bad parameter) is named ``<kind> (invalid request)``: naming never fails a run;
the flow then fails with the one-line reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eat_core.config.coerce import coerce
from eat_core.config.requests import BaseRequest, ExecutionOptions

MAX_NAME_CHARS = 32  # a model name without a recognisable size is cut to this (a local path's last part, say)
MAX_LISTED_LANGUAGES = 3  # more languages are counted ("8 langs") rather than listed

_SIZE = re.compile(r"^\d+(\.\d+)?[bm]$")


@dataclass(frozen=True)
class RunLabels:
    """A flow run's name and the tags added to it (``method:``, ``profile:``, ``model:``, ``lang:``)."""

    name: str
    tags: tuple[str, ...] = ()


def short_model(model: str) -> str:
    """A model id as people say it: its family and size (``Qwen/Qwen2.5-14B-Instruct`` -> ``qwen14b``), else the
    last part of the id or path (``google/flan-t5-base`` -> ``flan-t5-base``, ``tiny:qwen2`` -> ``tiny-qwen2``)."""
    base = model.rstrip("/").rsplit("/", 1)[-1].replace(":", "-").lower() or model
    parts = base.split("-")
    size = next((p for p in parts[1:] if _SIZE.match(p)), None)
    family = re.match(r"[a-z]+", parts[0])
    if size and family:
        return family.group(0) + size
    return base[:MAX_NAME_CHARS]


def languages_label(languages: Sequence[str]) -> str:
    """``zh`` or ``zh,ja,ar`` for a few languages, ``8 langs`` for more."""
    if len(languages) > MAX_LISTED_LANGUAGES:
        return f"{len(languages)} langs"
    return ",".join(languages)


def run_labels(kind: str, request: BaseRequest, *extra: str) -> RunLabels:
    """``<kind> <method> <model> <languages> [extra]`` and its tags, from the request resolved on its profile.

    The model is the LLM's, except for ``model-transfer``, which uses no LLM: its tagger's checkpoint."""
    cfg = request.to_run_config()
    method = cfg.method.name
    model = short_model(cfg.extractor.model if method == "model-transfer" else cfg.llm.model)
    languages = tuple(dict.fromkeys(cfg.data.languages))
    name = " ".join([kind, method, model, languages_label(languages), *[e for e in extra if e]])
    tags = (f"method:{method}", f"profile:{request.profile}", f"model:{model}",
            *(f"lang:{lang}" for lang in languages))
    return RunLabels(name, tags)


def labels_for(kind: str, model: type[BaseRequest], parameters: BaseRequest | Mapping[str, Any] | None,
               detail: Callable[[Any], str] | None = None) -> RunLabels:
    """:func:`run_labels` of a flow's raw ``request`` parameter (a request, or a deployment's mapping), with
    ``detail(request)`` appended (the tagged file's name, say); one that does not validate is named
    ``<kind> (invalid request)``, without tags (the flow then fails with the reason)."""
    try:
        fields = parameters
        if isinstance(parameters, Mapping):  # execution options may ride in a deployment's request
            fields = {k: v for k, v in parameters.items() if k not in ExecutionOptions.model_fields}
        request = coerce(model, fields)
        return run_labels(kind, request, detail(request) if detail else "")
    except Exception:  # noqa: BLE001 - a name never fails a run; the flow's own validation reports the cause
        return RunLabels(f"{kind} (invalid request)")
