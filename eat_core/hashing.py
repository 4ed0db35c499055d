"""Content hashes for cache keys: canonical JSON of everything that changes an answer, nothing that does not."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_SAMPLE = 1 << 20  # bytes hashed from each end of a large weights file


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def directory_fingerprint(path: str | Path) -> str:
    """A fingerprint of a model or adapter directory (or one weights file, e.g. a GGUF) that changes when its
    weights change.

    Small files are hashed whole. Multi-GB weight files are hashed by size plus their first and last MiB, which
    catches any re-training or re-quantisation without reading 30 GB on every start.
    """
    root = Path(path)
    digest = hashlib.sha256()
    if root.is_file():  # one file: hashed under its own name, as a directory holding only it would be
        root, files = root.parent, [root]
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    for file in files:
        size = file.stat().st_size
        digest.update(f"{file.relative_to(root).as_posix()}\0{size}\0".encode())
        with file.open("rb") as handle:
            if size <= 2 * _SAMPLE:
                digest.update(handle.read())
            else:
                digest.update(handle.read(_SAMPLE))
                handle.seek(size - _SAMPLE)
                digest.update(handle.read(_SAMPLE))
    return digest.hexdigest()[:16]
