"""``--extractor-label-map NORP=ORG,FAC=O``: single entries of an extractor's label map, checked as the run
configuration is built (the default map itself belongs to the extractor: ``eat_core/extractors/spacy_ner.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from eat_core.types import ENTITY_TYPES

DROP = "O"
"""The value that drops a label (``NORP=O``)."""


def parse_label_map(value: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"NORP=ORG,FAC=O"`` (or a mapping) -> ``{"NORP": "ORG", "FAC": "O"}``; targets must be a WikiANN type or O."""
    if value is None or value == "":
        return {}
    items = value.items() if isinstance(value, Mapping) else [_pair(part) for part in value.split(",") if part.strip()]
    out: dict[str, str] = {}
    for raw, target in items:
        source, target = str(raw).strip().upper(), str(target).strip().upper()
        if not source:
            raise ValueError("an entry has no label before '='")
        if target not in (*ENTITY_TYPES, DROP):
            raise ValueError(f"{source}={target}: the target must be one of {', '.join(ENTITY_TYPES)} or {DROP} "
                             "(drop)")
        out[source] = target
    return out


def _pair(part: str) -> tuple[str, str]:
    if "=" not in part:
        raise ValueError(f"{part.strip()!r} is not LABEL=TYPE (e.g. NORP=ORG,FAC=O)")
    source, _, target = part.partition("=")
    return source, target
