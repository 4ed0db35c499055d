"""Small run configurations for in-process tests: no weights built or read, inputs in the test's own folder."""

from __future__ import annotations

from pathlib import Path

from eat_core.config.run import RunConfig, get_profile


def served_config(root: Path, **overrides) -> RunConfig:
    """The smoke profile through a served LLM (never called) and the heuristic extractor, with its prompts
    directory and one language (zh, two tokens) of local data under ``root``: files a test may edit in place."""
    prompts = root / "prompts"
    prompts.mkdir(parents=True, exist_ok=True)
    data = root / "data" / "zh" / "dev.tsv"
    data.parent.mkdir(parents=True, exist_ok=True)
    if not data.exists():
        data.write_text("北\tB-LOC\n京\tI-LOC\n", encoding="utf-8")
    return get_profile("smoke").with_overrides(**{
        "llm.backend": "openai", "llm.base_url": "http://127.0.0.1:9/v1", "llm.model": "served-model",
        "extractor.name": "heuristic", "engine.prompts_dir": str(prompts), "data.source": "local",
        "data.data_dir": str(root / "data"), "data.languages": ("zh",), **overrides})
