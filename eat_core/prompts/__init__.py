"""Prompt templates as data: one text file per round, overridable from a user directory.

Structure follows EAT Figures 5 and 7 (our own wording): a translator persona naming the entity types; forward
rounds that first ask for the entities and their meaning, then the translation, then the result alone (the paper's
"filter" prompt); backward rounds that translate the English phrase and find it in the sentence, check that every
word appears there, then give the result alone. Placeholders: ``{language}``, ``{sentence}``, ``{phrase}``,
``{english}``; the competing methods (``eat_core/methods``) add ``{demonstrations}`` (direct prompting's English
examples) and ``{annotated}`` (fusion's English sentence with its entities marked).
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path

from eat_core.errors import ConfigError

DEFAULT_DIR = Path(__file__).parent / "default"

ROUND_PLANS: dict[str, dict[int, tuple[str, ...]]] = {
    "forward": {
        1: ("forward_single",),
        3: ("forward_entities", "forward_translate", "forward_final"),
        5: ("forward_entities", "forward_translate", "forward_review", "forward_refine", "forward_final"),
    },
    "backward": {
        1: ("backward_single",),
        3: ("backward_translate", "backward_check", "backward_final"),
        5: ("backward_translate", "backward_check", "backward_boundary", "backward_check", "backward_final"),
    },
    "roundtrip": {1: ("roundtrip_single",), 3: ("roundtrip_single",), 5: ("roundtrip_single",)},
}
SYSTEM = {"forward": "forward_system", "backward": "backward_system", "roundtrip": "forward_system"}
ALLOWED_FIELDS = {"language", "sentence", "phrase", "english", "demonstrations", "annotated"}


@dataclass(frozen=True)
class PromptSet:
    """The templates of one run. ``fingerprint`` changes whenever any template text changes."""

    templates: dict[str, str]

    @classmethod
    def load(cls, override_dir: str | Path | None = None) -> PromptSet:
        templates = {p.stem: p.read_text(encoding="utf-8").strip() for p in sorted(DEFAULT_DIR.glob("*.txt"))}
        if override_dir:
            directory = Path(override_dir)
            if not directory.is_dir():
                raise ConfigError(f"prompts directory {directory} not found")
            for path in sorted(directory.glob("*.txt")):
                if path.stem not in templates:
                    raise ConfigError(
                        f"{path}: unknown template name {path.stem!r}; known: {', '.join(sorted(templates))}"
                    )
                templates[path.stem] = path.read_text(encoding="utf-8").strip()
        for name, text in templates.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            if fields - ALLOWED_FIELDS:
                raise ConfigError(
                    f"template {name!r} uses unknown placeholder(s) {', '.join(sorted(fields - ALLOWED_FIELDS))}; "
                    f"allowed: {', '.join(sorted(ALLOWED_FIELDS))}"
                )
        return cls(templates)

    def plan(self, direction: str, rounds: int) -> tuple[str, ...]:
        return ROUND_PLANS[direction][rounds]

    def render(self, name: str, **fields: str) -> str:
        return self.templates[name].format_map(_Defaults(fields))

    def system(self, direction: str, **fields: str) -> str:
        return self.render(SYSTEM[direction], **fields)

    @property
    def fingerprint(self) -> str:
        blob = "\n\0".join(f"{k}\n{v}" for k, v in sorted(self.templates.items()))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""
