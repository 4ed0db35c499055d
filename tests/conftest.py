"""Shared fixtures. Nothing here may reach the network: the hub is off for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EAT_SHARED_DATA", REPO.parent / "shared" / "data"))
WIKIANN = SHARED_DATA / "wikiann"
EACL = SHARED_DATA / "eacl-official"

needs_shared = pytest.mark.skipif(not WIKIANN.is_dir(), reason=f"real benchmark data not found at {SHARED_DATA}")


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_qwen(tiny_root) -> Path:
    from eat_core.tiny_models import build_tiny_qwen2

    return build_tiny_qwen2(tiny_root)


@pytest.fixture(scope="session")
def tiny_t5(tiny_root) -> Path:
    from eat_core.tiny_models import build_tiny_t5

    return build_tiny_t5(tiny_root)


@pytest.fixture(scope="session")
def tiny_token_classifier(tiny_root) -> Path:
    from eat_core.tiny_models import build_tiny_token_classifier

    return build_tiny_token_classifier(tiny_root)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Builds of ``tiny:*`` models go to a per-session temp dir, never the user's cache."""
    monkeypatch.setenv("EAT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "eat-cache"))
