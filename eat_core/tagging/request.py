"""What ``eat tag`` and the ``tag_corpus`` flow take: a corpus, a language, an output file, a profile plus overrides.

Validated before any model loads, with the same one-line errors as ``eat run`` (``eat_core/evaluation/checks.py``)::

    validate_tag_request({"input": "in.txt", "lang": "xx", "out": "o.jsonl"})
    -> ConfigError("--lang: unknown language code 'xx' (known: ar, de, ...)")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from eat_core.config.coerce import check_writable_dir, coerce, existing_parent, resolve_request
from eat_core.config.fields import SHARED, TAG
from eat_core.config.requests import BaseRequest, MethodName, described
from eat_core.config.run import RunConfig
from eat_core.errors import ConfigError
from eat_core.evaluation.checks import validate_config
from eat_core.languages import parse_languages
from eat_core.store.location import check_db
from eat_core.tagging.export import out_format
from eat_core.tagging.readers import SUFFIXES


class TagRequest(BaseRequest):
    """A corpus, its language and the output file, over the shared profile and model overrides."""

    option_names: ClassVar[dict[str, str]] = {"input": "INPUT"}

    input: str = described(TAG, "input", ...)
    lang: str = described(TAG, "lang", ...)
    out: str = described(TAG, "out", ...)
    format: Literal["auto", "jsonl", "conll", "text"] = described(TAG, "format", "auto")
    method: MethodName | None = described(SHARED, "method")
    adapter: str | None = described(SHARED, "adapter")
    overlong: Literal["error", "truncate"] | None = described(SHARED, "overlong")
    demonstrations: int | None = described(SHARED, "demonstrations", ge=0)

    @classmethod
    def normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        if isinstance(data.get("lang"), str):
            langs = parse_languages(data["lang"], "--lang")
            if len(langs) != 1:
                raise ConfigError(f"--lang: one language per corpus (got {', '.join(langs)})")
            data["lang"] = langs[0]
        return data

    def run_fields(self) -> dict[str, Any]:
        """The model settings; the corpus's language is the run's one language (its data section is unused)."""
        return super().run_fields() | {"languages": (self.lang,)}


def coerce_tag_request(request: TagRequest | Mapping) -> TagRequest:
    return coerce(TagRequest, request)


def validate_tag_request(request: TagRequest | Mapping) -> tuple[TagRequest, RunConfig]:
    """The request and its resolved ``RunConfig``; every check that needs no model (names, paths, options)."""
    req = coerce_tag_request(request)
    path = Path(req.input)
    if not path.exists():
        raise ConfigError(f"INPUT: {req.input}: no such file")
    if not path.is_file():
        raise ConfigError(f"INPUT: {req.input} is not a file")
    check_input_format(req)
    fmt = out_format(req.out)
    if Path(req.out).is_dir() and fmt != "hf":  # OUT.hf is a datasets directory, replaced when the run completes
        raise ConfigError(f"--out: {req.out} is a directory; give a file ending in .jsonl, .conll, .parquet or "
                          ".spacy, or a directory name ending in .hf")
    if Path(req.out).is_file() and fmt == "hf":
        raise ConfigError(f"--out: {req.out} is a file; .hf names a datasets directory (save_to_disk)")
    if Path(req.out).resolve() == path.resolve():
        raise ConfigError(f"--out: {req.out} is the input file; write the tags elsewhere")
    out_dir = existing_parent(Path(req.out), "--out", "for the output file")
    check_writable_dir(out_dir, "--out", f"the output file and its partial copy .{Path(req.out).name}.partial")
    check_db(req.db)
    cfg = resolve_request(req)
    validate_config(cfg, data=False)  # the same model checks as ``eat run``; the corpus is checked as it is scanned
    return req, cfg


def check_input_format(req: TagRequest) -> None:
    """``--format`` names the INPUT's format; one that contradicts the input's own suffix is refused, since the
    file would be read as something it is not (a JSONL line as a CoNLL token) and tagged without a word. ``.txt``
    is generic (CoNLL files are often named so) and takes any ``--format``. The output's format always follows
    ``--out``'s suffix."""
    suffix = Path(req.input).suffix.lower()
    named = SUFFIXES.get(suffix)
    if req.format != "auto" and named is not None and named != req.format and suffix not in (".txt", ".text"):
        raise ConfigError(f"--format {req.format}: INPUT {req.input} is named as {named}; --format is the input's "
                          f"format (the output's follows --out: {Path(req.out).name} is written as "
                          f"{out_format(req.out)}); drop --format or rename the input")
