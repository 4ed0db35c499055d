"""File names derived from run ids and user input, safe on every filesystem."""

from __future__ import annotations

import re


def safe_file_stem(name: str) -> str:
    """Map any stored name (runs made before names were checked) onto a safe file stem."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".").replace("..", "_")
    return stem[:128] or "run"

