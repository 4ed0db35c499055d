"""Content fingerprints of model weights: a local directory's files, or the hub commit a revision resolves to."""

from __future__ import annotations

import re
from pathlib import Path

from eat_core.hashing import directory_fingerprint
from eat_core.weights.resolve import resolve_model_path

_HEX40 = re.compile(r"^[0-9a-f]{40}$")



def hub_commit(repo_id: str, revision: str | None) -> str:
    """The commit a hub id resolves to in the local Hugging Face cache, else the revision as written.

    A pinned 40-hex revision is its own commit. An unpinned id that no local cache resolved is recorded as
    ``unresolved:<revision or main>``: a new upload under the same name then goes unnoticed, so pin ``revision``
    for runs that must be reproducible.
    """
    rev = revision or "main"
    if _HEX40.match(rev):
        return rev
    try:
        from huggingface_hub import constants

        ref = Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}" / "refs" / rev
        if ref.is_file():
            return ref.read_text(encoding="utf-8").strip()
    except Exception:  # no huggingface_hub, or an unreadable cache: fall back to the revision as written
        pass
    return f"unresolved:{rev}"



def model_fingerprint(model: str, revision: str | None = None) -> tuple[str | None, str]:
    """(local path or None, fingerprint) of a model named by path, ``tiny:*`` or hub id."""

    if model in ("", "none"):
        return None, "none"
    path = resolve_model_path(model) if model.startswith("tiny:") else model
    if Path(path).is_dir():
        return str(path), directory_fingerprint(path)
    return None, f"hub:{model}@{hub_commit(model, revision)}"

