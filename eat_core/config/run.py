"""Typed run configuration: the one source of truth for every knob, with named profiles.

A profile is a complete :class:`RunConfig`; command-line options and Prefect parameters override fields of it.
Constants cite the paper section or table they come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eat_core.config.label_map import parse_label_map
from eat_core.data.limits import DEFAULT_MAX_SENTENCE_CHARS, DEFAULT_MAX_SENTENCE_TOKENS, DEFAULT_MAX_TOKEN_CHARS
from eat_core.errors import ConfigError
from eat_core.languages import PAPER_LANGUAGES, canonical_code, is_known, unknown_languages
from eat_core.registry import unknown_line


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)



class LLMConfig(_Strict):
    """The translating LLM. ``model`` is a hub id, a local path, ``tiny:qwen2`` (built locally) or a served name."""

    backend: str = "transformers"
    model: str = "Qwen/Qwen2.5-14B-Instruct"  # EAT §4.2
    revision: str | None = None
    adapter: str | None = None
    load_in_4bit: bool = False
    dtype: str = "auto"
    device: str = "auto"
    trust_remote_code: bool = False
    batch_size: int = Field(32, ge=1)
    # openai-compatible server
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(16, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(5, ge=0)
    # decoding: greedy by default so the call cache is meaningful; sampling needs an explicit seed
    temperature: float = Field(0.0, ge=0)
    seed: int | None = None

    @model_validator(mode="after")
    def _seed_for_sampling(self):
        if self.temperature > 0 and self.seed is None:
            raise ValueError("sampling (temperature > 0) needs an explicit seed so cached calls stay reproducible")
        return self



class ExtractorConfig(_Strict):
    """The English NER extractor (EAT §3.1; Table 6). ``label_map`` overrides single entries of the spaCy
    extractor's label map (``eat_core/extractors/spacy_ner.py``): ``{"NORP": "ORG", "FAC": "O"}``, or the option's
    text ``NORP=ORG,FAC=O``; ``O`` drops a label."""

    name: str = "t5"
    model: str = "google/flan-t5-base"
    batch_size: int = Field(32, ge=1)
    max_new_tokens: int = Field(64, ge=1)
    # left out of the dump while unset, so adding the field kept every earlier run id (content-keyed reuse)
    label_map: dict[str, str] | None = Field(None, exclude_if=lambda value: value is None)

    @field_validator("label_map", mode="before")
    @classmethod
    def _parse_label_map(cls, value):
        return parse_label_map(value) or None



class EngineConfig(_Strict):
    """Dual translation with multi-round chain of thought (EAT §3.1, Table 13: 3 rounds is the paper's choice)."""

    rounds: Literal[1, 3, 5] = 3
    prompts_dir: str | None = None
    max_new_tokens_reason: int = Field(256, ge=1)
    max_new_tokens_answer: int = Field(128, ge=1)
    max_answer_chars: int = Field(400, ge=1)
    fuzzy_threshold: float = Field(0.8, ge=0, le=1)
    roundtrip: bool = True



class DataConfig(_Strict):
    source: Literal["sample", "local", "hub"] = "sample"
    data_dir: str | None = None
    split: Literal["train", "dev", "test"] = "dev"
    languages: tuple[str, ...] = PAPER_LANGUAGES
    limit: int | None = Field(None, ge=1)
    # orphan I- tags start an entity (conlleval/seqeval default) and are counted; False refuses them (--strict-tags)
    repair_tags: bool = True
    # input limits (eat_core/data/limits.py): longer tokens or sentences are refused with file and line, or cut
    # and counted with overlong="truncate"; sentence model tokens are bounded by UTF-8 bytes (no tokenizer needed)
    max_token_chars: int = Field(DEFAULT_MAX_TOKEN_CHARS, ge=1)
    max_sentence_chars: int = Field(DEFAULT_MAX_SENTENCE_CHARS, ge=1)
    max_sentence_tokens: int = Field(DEFAULT_MAX_SENTENCE_TOKENS, ge=1)
    overlong: Literal["error", "truncate"] = "error"

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages):
        unknown = [lang for lang in languages if not is_known(lang)]
        if unknown:
            raise ValueError(unknown_languages(unknown))
        if not languages:
            raise ValueError("at least one language is needed")
        return tuple(dict.fromkeys(canonical_code(lang) for lang in languages))



class MethodConfig(_Strict):
    """Which method tags the target language (``eat_core/methods``): ``eat`` (default), ``eat-ft``, ``direct``,
    ``crop``, ``fusion`` or ``model-transfer``."""

    name: str = "eat"
    demonstrations: int = Field(4, ge=0)  # direct: English in-context examples (EAT Table 7's ICL); 0 allowed
    demo_data: str | None = None  # WikiANN-format directory with en/train.tsv; default: the data dir or the sample
    crop_matcher: Literal["crop", "eat"] = "crop"  # CROP's lexical matching (its default) or the EAT aligner



class RunConfig(_Strict):
    profile: str = "custom"
    method: MethodConfig = MethodConfig()
    data: DataConfig = DataConfig()
    llm: LLMConfig = LLMConfig()
    extractor: ExtractorConfig = ExtractorConfig()
    engine: EngineConfig = EngineConfig()
    shard_size: int = Field(64, ge=1)
    token_f1_protocol: str = "eat-official"

    def with_overrides(self, **dotted: object) -> RunConfig:
        """``cfg.with_overrides(**{"llm.model": "x", "shard_size": 8})``; ``None`` values are ignored."""
        data = self.model_dump()
        for key, value in dotted.items():
            if value is None:
                continue
            target, model = data, type(self)
            *parents, leaf = key.split(".")
            for part in parents:
                if part not in target:
                    raise ConfigError(f"unknown configuration section {part!r} in {key!r}")
                target, model = target[part], model.model_fields[part].annotation
            if leaf not in model.model_fields:  # the fields, not the dump: an unset optional field is left out of it
                raise ConfigError(f"unknown configuration field {key!r}")
            target[leaf] = value
        return RunConfig.model_validate(data)



class StudentPreset(_Strict):
    """What ``eat silver`` / ``eat distill`` take from a profile when the request leaves it unset: the split the
    teacher labels, the split the student is evaluated on, and the student's training settings (CROP §4.2: 10
    epochs, batch size 32)."""

    split: Literal["train", "dev", "test"]
    eval_split: Literal["train", "dev", "test"]
    base_model: str
    epochs: float = Field(gt=0)
    max_steps: int
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)



@dataclass(frozen=True)
class Profile:
    """A named profile: the complete run configuration and the distillation defaults that go with its data."""

    run: RunConfig
    student: StudentPreset



PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        run=RunConfig(
            profile="smoke",
            data=DataConfig(source="sample", split="dev", limit=8),
            llm=LLMConfig(model="tiny:qwen2", batch_size=64, temperature=1.0, seed=0),
            extractor=ExtractorConfig(name="heuristic", model="none"),
            engine=EngineConfig(max_new_tokens_reason=12, max_new_tokens_answer=10),
            shard_size=4,
        ),
        # the bundled sample has only dev; tiny student, a few steps: proves the machinery, not accuracy
        student=StudentPreset(split="dev", eval_split="dev", base_model="tiny:bert-tc", epochs=2.0, max_steps=12,
                              batch_size=8, learning_rate=5e-4),
    ),
    "paper": Profile(
        run=RunConfig(
            profile="paper",
            data=DataConfig(source="hub", split="test"),
            llm=LLMConfig(model="Qwen/Qwen2.5-14B-Instruct", dtype="bfloat16"),
            extractor=ExtractorConfig(name="t5", model="google/flan-t5-base"),
        ),
        # tag WikiANN train (labels ignored), evaluate on test; mBERT student, CROP's 10 epochs
        student=StudentPreset(split="train", eval_split="test", base_model="bert-base-multilingual-cased",
                              epochs=10.0, max_steps=-1, batch_size=32, learning_rate=5e-5),
    ),
}
"""The one profile table: ``eat run`` / ``eat tag`` read ``.run``, ``eat silver`` / ``eat distill`` also
``.student``."""



PROFILES["paper-ft"] = Profile(
    run=PROFILES["paper"].run.with_overrides(profile="paper-ft", **{"llm.adapter": "adapters/eacl",
                                                                    "method.name": "eat-ft"}),
    student=PROFILES["paper"].student,
)



METHOD_PRESETS: dict[tuple[str, str], dict[str, object]] = {
    ("smoke", "model-transfer"): {"extractor.name": "token-classification", "extractor.model": "tiny:bert-tc"},
}
"""(profile, method) -> fields that method needs on that profile, applied before the user's overrides. The smoke
profile's tiny token classifier is built locally and cached, so model-transfer runs there with no training step;
the paper profile has none (train one with ``eat train-extractor --kind token-classification``)."""



def get_profile(name: str) -> RunConfig:
    """The run configuration of profile ``name``; an unknown name is one line with the closest one."""
    try:
        return PROFILES[name].run
    except KeyError:
        raise ConfigError(unknown_line("profile", name, PROFILES)) from None



def student_preset(name: str) -> StudentPreset:
    """The distillation defaults of profile ``name`` (the paper's for a name that is not a profile: the profile
    itself is refused, with its one line, when the teacher's configuration is resolved)."""
    return PROFILES.get(name, PROFILES["paper"]).student



def profile_for_method(name: str, method: str | None) -> RunConfig:
    """The profile ``name`` with the preset of ``method`` (default: the profile's own) applied, if it has one."""
    base = get_profile(name)
    preset = METHOD_PRESETS.get((name, method or base.method.name))
    return base.with_overrides(**preset) if preset else base



def load_config_file(path: str | Path) -> RunConfig:
    """A JSON or YAML file holding a full or partial ``RunConfig`` (fields absent keep their defaults)."""
    import json

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    method = data["method"].get("name") if isinstance(data.get("method"), dict) else None
    base = profile_for_method(data.pop("profile"), method) if "profile" in data else RunConfig()
    merged = base.model_dump()
    for section, values in data.items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section].update(values)
        else:
            merged[section] = values
    try:
        return RunConfig.model_validate(merged)
    except Exception as exc:
        raise ConfigError(f"{path}: {exc}") from None

