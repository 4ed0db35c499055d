"""What a run is made from, by content: prompts, model weights, adapters, extractors and data.

A path names where an input lives, not what it holds: a prompt edited in place, an extractor retrained into the
same folder or a data file rewritten keeps its path. The run id, and with it every shard cache key, therefore
hashes these fingerprints, never the paths alone. Fingerprints are cheap: template text, ``directory_fingerprint``
(at most 2 MiB read per weights file), the hub commit a local cache resolved, and a hash of the sentences a run
actually evaluates. Within one process they are memoised on the files' (size, mtime), so a run computes them once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from eat_core.config.run import RunConfig
from eat_core.evaluation.data import data_path, file_stamp, load_language
from eat_core.extractors import extractor_fingerprint
from eat_core.hashing import content_hash, directory_fingerprint
from eat_core.llm.endpoints import parse_base_urls
from eat_core.llm.served import parse_served_adapter, served_adapter_fingerprint
from eat_core.methods import method_class
from eat_core.methods.direct import demonstrations_file, english_examples, render_demonstrations
from eat_core.prompts import PromptSet
from eat_core.types import RunInput
from eat_core.weights.fingerprint import model_fingerprint

_V = TypeVar("_V")


class LruCache(Generic[_V]):
    """A small thread-safe map that forgets its least recently used entry beyond ``maxsize``.

    Process-wide caches of loaded models (and of fingerprints) live as long as a Prefect or Dask worker does: a
    worker that sees many configurations would otherwise keep every model it ever loaded. An evicted entry is only
    dropped, so its memory is freed once no running shard holds it any more.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> _V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: _V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            self._evict()

    def get_or_create(self, key: Hashable, create: Callable[[], _V]) -> _V:
        """The entry for ``key``, made by ``create()`` under the lock when absent (keep ``create`` cheap: lazy)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            value = create()
            self._items[key] = value
            self._evict()
            return value

    def _evict(self) -> None:
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


FINGERPRINT_MEMO_SIZE = 64
"""Fingerprint memo entries kept per process: small values, but one per configuration and file state seen."""


@dataclass(frozen=True)
class RunInputs:
    items: tuple[RunInput, ...]
    seconds: float = 0.0

    @property
    def digest(self) -> str:
        return content_hash({i.name: i.fingerprint for i in self.items})[:16]

    def by_name(self) -> dict[str, RunInput]:
        return {i.name: i for i in self.items}


_LABELS = {"prompts": "prompt templates", "llm": "LLM weights", "adapter": "adapter weights",
           "extractor": "extractor weights", "demonstrations": "English demonstrations"}


def describe_change(old: RunInput | None, new: RunInput | None) -> str:
    """One human line: ``extractor weights changed: runs/ext abc123 -> def456``."""
    item = new or old
    assert item is not None
    label = _LABELS.get(item.name) or (f"{item.name.split(':', 1)[1]} data" if item.name.startswith("data:")
                                       else item.name)
    where = f"{item.path} " if item.path else ""
    before = old.fingerprint[:12] if old else "none"
    after = new.fingerprint[:12] if new else "none"
    return f"{label} changed: {where}{before} -> {after}"


def changes_between(old: dict[str, RunInput], new: dict[str, RunInput]) -> list[str]:
    return [describe_change(old.get(name), new.get(name)) for name in sorted(set(old) | set(new))
            if (old.get(name) and old[name].fingerprint) != (new.get(name) and new[name].fingerprint)]


def sentences_fingerprint(sentences) -> str:
    """Everything of a sentence that changes a prediction or a score: id, tokens and gold tags."""
    return content_hash([[s.id, list(s.tokens), list(s.tags) if s.tags is not None else None]
                         for s in sentences])[:16]


def uses_demonstrations(cfg) -> bool:
    """Whether the method of ``cfg`` puts English demonstrations into its prompts (``direct`` with k > 0)."""
    return cfg.method.name == "direct" and cfg.method.demonstrations > 0


def demonstrations_fingerprint(cfg) -> str:
    """The demonstrations text exactly as the prompts carry it: the examples used, not the whole file."""
    return content_hash(render_demonstrations(english_examples(cfg, cfg.method.demonstrations)))[:16]


def model_inputs(cfg: RunConfig) -> tuple[RunInput, ...]:
    """Fingerprints of what the method reads besides data: prompts and LLM (and adapter) when it uses an LLM, the
    extractor or tagger checkpoint when it uses one, the English demonstrations. ``eat run`` and ``eat tag`` both
    key their runs (and share loaded models) on these. Memoised per process on the files' (size, mtime)."""
    key = (content_hash(cfg.model_dump(mode="json")), file_stamp(*model_paths(cfg)))
    cached = _MODEL_MEMO.get(key)
    if cached is None:
        cached = _model_inputs(cfg)
        _MODEL_MEMO.put(key, cached)
    return cached


def _model_inputs(cfg: RunConfig) -> tuple[RunInput, ...]:
    method = method_class(cfg.method.name)
    items = []
    if method.needs_llm:  # a method that never calls the LLM does not depend on it (model transfer)
        items.append(RunInput("prompts", "prompts", cfg.engine.prompts_dir,
                              PromptSet.load(cfg.engine.prompts_dir).fingerprint))
        if cfg.llm.backend == "transformers":
            path, fp = model_fingerprint(cfg.llm.model, cfg.llm.revision)
        else:  # a served model: its name (and the revision the user gave) is all a client can know
            path, fp = None, f"served:{cfg.llm.model}@{cfg.llm.revision or 'unpinned'}"
        items.append(RunInput("llm", "model", path or cfg.llm.model, fp))
        if cfg.llm.adapter:
            items.append(RunInput("adapter", "adapter", str(Path(cfg.llm.adapter)), adapter_fingerprint(cfg)))
    if method.needs_extractor or cfg.method.name == "model-transfer":
        path, fp = extractor_fingerprint(cfg.extractor)
        items.append(RunInput("extractor", "model", path or cfg.extractor.model, fp))
    if uses_demonstrations(cfg):  # the English examples in every prompt: an edited file is a new run

        items.append(RunInput("demonstrations", "data", str(demonstrations_file(cfg)), demonstrations_fingerprint(cfg)))
    return tuple(items)


def adapter_fingerprint(cfg: RunConfig) -> str:
    """A local adapter directory by content. A served one (``openai`` backend) by the content of the files
    ``--adapter NAME=PATH`` names or the server reports, else by name (``served:NAME``): the same fingerprint the
    backend's cache identity carries (``eat_core.llm.served``). A local backend never gets this far without the
    directory (checks)."""
    if cfg.llm.backend == "openai":
        return served_adapter_fingerprint(cfg.llm.adapter, parse_base_urls(cfg.llm.base_url))
    adapter = Path(cfg.llm.adapter).expanduser()
    return directory_fingerprint(adapter) if adapter.is_dir() else f"served:{cfg.llm.adapter}"


def _adapter_files(cfg: RunConfig) -> str | None:
    """The local files of ``llm.adapter``: the PATH of a served ``NAME=PATH``, else the value itself."""
    if cfg.llm.adapter and cfg.llm.backend == "openai":
        return parse_served_adapter(cfg.llm.adapter)[1]
    return cfg.llm.adapter


def collect_inputs(cfg: RunConfig, load_sentences) -> RunInputs:
    """Fingerprint every input of ``cfg``: :func:`model_inputs` and each language's data, which
    ``load_sentences(cfg, lang)`` gives."""
    key = (content_hash(cfg.model_dump(mode="json")), _stamp(cfg))
    cached = _MEMO.get(key)
    if cached is not None:
        return cached
    t0 = time.perf_counter()
    items = list(model_inputs(cfg))
    for lang in dict.fromkeys(cfg.data.languages):
        items.append(RunInput(f"data:{lang}", "data", data_path(cfg, lang),
                              sentences_fingerprint(load_sentences(cfg, lang))))
    result = RunInputs(tuple(items), time.perf_counter() - t0)
    _MEMO.put(key, result)
    return result


_MEMO: LruCache[RunInputs] = LruCache(FINGERPRINT_MEMO_SIZE)
_MODEL_MEMO: LruCache[tuple[RunInput, ...]] = LruCache(FINGERPRINT_MEMO_SIZE)


def model_paths(cfg: RunConfig) -> list[Path]:
    """Every local file or directory :func:`model_inputs` reads, for the memo's staleness stamp."""
    paths = [cfg.engine.prompts_dir, _adapter_files(cfg), cfg.llm.model, cfg.extractor.model]
    if uses_demonstrations(cfg):
        paths.append(demonstrations_file(cfg))
    return [Path(p) for p in paths if p and not str(p).startswith(("tiny:", "hub:")) and Path(p).exists()]


def local_paths(cfg: RunConfig) -> list[Path]:
    """Every local file or directory an evaluation reads, for the memo's staleness stamp."""
    data = [Path(data_path(cfg, lang)) for lang in cfg.data.languages] if cfg.data.source != "hub" else []
    return model_paths(cfg) + [p for p in data if p.exists()]


def _stamp(cfg) -> tuple:
    return file_stamp(*local_paths(cfg))


def run_id_for(cfg: RunConfig, inputs: RunInputs | None = None) -> str:
    """Same configuration *and the same input contents*, same run id: an untouched re-run resumes the same run,
    while a prompt, weights or data file changed in place starts a new one (the paths alone prove nothing)."""
    inputs = inputs or inputs_of(cfg)
    return f"{cfg.profile}-{content_hash([cfg.model_dump(mode='json'), inputs.digest])[:10]}"


def inputs_of(cfg: RunConfig) -> RunInputs:
    """Fingerprints of every input of ``cfg``, computed once per process while the files stay untouched."""
    return collect_inputs(cfg, load_language)

