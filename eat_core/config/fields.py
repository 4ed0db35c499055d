"""What each request field means, in one place: the pydantic fields' descriptions (the Prefect run form) and the
``eat`` options' help (``eat run --help``) both read these strings.

Plain Python on purpose: ``eat --help`` builds every option's help from here without importing pydantic
(``tests/integration/test_cli_options.py``). Names chosen from a registry are listed here too (``*_NAMES``), so the
run form can offer them as a drop-down (``enum`` in the JSON schema) and the help can list them; the registries
themselves sit in higher layers (``eat_core/methods``, ``llm``, ``extractors``), and
``tests/unit/test_request_fields.py`` asserts that each tuple equals its registry. Adding a method, backend,
extractor or profile: add it to its registry and to its tuple here.

Wording serves both places: a field is named by its key (``base_url``) in a deployment's parameters and by its flag
(``--base-url``) on the command line, so descriptions say what a value does rather than naming other fields.
"""

from __future__ import annotations

PROFILE_NAMES: tuple[str, ...] = ("smoke", "paper", "paper-ft")
"""``eat_core.config.run.PROFILES``."""
METHOD_NAMES: tuple[str, ...] = ("eat", "eat-ft", "direct", "crop", "fusion", "model-transfer")
"""``eat_core.methods.METHODS``."""
LLM_BACKEND_NAMES: tuple[str, ...] = ("transformers", "openai")
"""``eat_core.llm.BACKENDS``."""
EXTRACTOR_NAMES: tuple[str, ...] = ("t5", "token-classification", "heuristic", "spacy")
"""``eat_core.extractors.EXTRACTORS``."""


def _or(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


SHARED: dict[str, str] = {
    # what every request takes (BaseRequest, ModelOverrides)
    "profile": f"named profile holding every default: {_or(PROFILE_NAMES)} (smoke: tiny local models and the "
               "bundled sample, proves the machinery in a minute; paper: EAT's setting)",
    "db": "DuckDB workspace file",
    "llm_backend": f"LLM backend: {_or(LLM_BACKEND_NAMES)} (transformers loads the model in this process; openai "
                   "calls an OpenAI-compatible server); default: the profile's",
    "llm": "LLM model id, local path or served name (default: the profile's)",
    "base_url": "OpenAI-compatible endpoint(s) for the openai backend; several, comma-separated, share the load and "
                "fail over",
    "extractor": f"English NER extractor: {_or(EXTRACTOR_NAMES)} (default: the profile's)",
    "extractor_model": "extractor (or model-transfer tagger) checkpoint (id or path); for spacy an installed "
                       "pipeline (en_core_web_sm) or its directory",
    "extractor_label_map": "spacy: change label-map entries, e.g. NORP=ORG,FAC=O (O drops; default PERSON=PER, "
                           "ORG=ORG, GPE/LOC/FAC=LOC, the rest dropped)",
    "rounds": "MrCoT rounds: 1, 3 or 5 (default: the profile's; EAT Table 13: 3)",
    "shard_size": "sentences (records) per shard (default: the profile's)",
    "crop_matcher": "crop: 'crop' (CROP's lexical rule, default) or 'eat' (our aligner)",
    # evaluation and tagging
    "method": f"{_or(METHOD_NAMES)} (default: the profile's, eat; README: Methods)",
    "adapter": "PEFT LoRA adapter directory (EAT w/ FT); with the openai backend the served adapter: NAME=PATH "
               "(served name, its files: the cache is keyed by their contents) or NAME (the server is asked for "
               "its files)",
    "demonstrations": "direct: English in-context examples (default 4; 0 allowed)",
    "overlong": "a token or sentence over the input limits: error (default: refused with file and line) or "
                "truncate (cut and counted)",
    "languages": "language codes, e.g. zh,ja,ar (comma-separated, or a list)",
    "data_dir": "local WikiANN-format directory: <lang>/<split>.tsv files (data source 'local')",
    "split": "train, dev or test",
    "limit": "at most this many sentences per language",
    "repair_tags": "orphan I- tags: read as entity starts and counted (unset or true, the default) or refused "
                   "(false; the command line's --strict-tags)",
    "run_id": "run id (default: derived from the configuration)",
}
"""Fields of :class:`~eat_core.config.requests.BaseRequest` and :class:`~eat_core.config.requests.EvalRequest`."""

EXECUTION: dict[str, str] = {
    "dask_address": "run shards on an existing Dask scheduler, e.g. tcp://10.0.0.5:8786",
    "dask_workers": "run shards on a local Dask cluster of N worker processes",
    "dask_threads_per_worker": "threads per local Dask worker",
    "dask_gpus_per_shard": "Dask worker resources: each shard needs GPU=N on its worker",
    "concurrency_tag": "a Prefect tag on shard tasks for a concurrency limit across runs (e.g. 'llm' with "
                       "`prefect concurrency-limit create llm 1`: one shard at a time on a shared GPU); off by default",
}
"""Fields of :class:`~eat_core.config.requests.ExecutionOptions`: where shards run, not what they compute."""

TAG: dict[str, str] = {
    "input": "corpus to tag: JSONL, CoNLL/PAN-X columns or plain text",
    "lang": "language of the corpus (ISO code: zh, ja, ar, ru, ...)",
    "out": "output, its format by its name: OUT.jsonl (entities with character offsets), OUT.conll (token and IOB2 "
           "tag columns), OUT.hf (datasets save_to_disk), OUT.parquet or OUT.spacy (spaCy DocBin)",
    "format": "input format: auto (by suffix), jsonl, conll or text",
}
"""Fields of :class:`~eat_core.tagging.request.TagRequest` whose meaning is its own."""

DISTILL: dict[str, str] = {
    "route": "how the silver set is labelled: eat (EAT as teacher), crop (CROP as teacher), projection "
             "(translate-train label projection with markers) or align (projection by word alignment, Politov et "
             "al. 2025)",
    "aligner": "align route: eflomal (statistical, learns from the sentence pairs; no weights), embedding (SimAlign "
               "argmax over an encoder) or embedding-itermax",
    "aligner_model": "align route, embedding aligners: Hugging Face id or local path of the multilingual encoder "
                     "(default xlm-roberta-base; tiny:xlmr for tests)",
    "matching": "align route: greedy or optimal assignment of entities to candidates",
    "refine": "align route: how the back-translation refines the alignment: grow, intersect, union or none",
    "lang": "target language, e.g. zh",
    "out": "directory for OUT/<route>/silver/ and the student OUT/<route>/student-<lang>/",
    "data_dir": "local WikiANN-format directory: the target corpus the teacher tags (its labels ignored) and "
                "evaluates on; the projection route also reads its en/",
    "split": "split the teacher labels (default: train; smoke: dev)",
    "eval_split": "split the student is evaluated on (default: test; smoke: dev)",
    "max_words": "leave out sentences longer than this many tokens (CROP: 128)",
    "max_entities": "leave out sentences with more entities (default: crop 5, else none)",
    "keep_empty": "keep sentences the labeller found no entity in",
    "dev_share": "share of kept sentences held out as the silver dev split",
    "export_formats": "also export the silver set as hf (datasets save_to_disk: OUT/<lang>/hf), parquet "
                      "(train/dev.parquet) and/or spacy (train/dev.spacy DocBin), comma-separated",
    "base_model": "student base: bert-base-multilingual-cased (default), xlm-roberta-base, tiny:bert-tc (smoke "
                  "default)",
    "epochs": "student epochs (default 10, CROP §4.2)",
    "learning_rate": "student learning rate (default 5e-5)",
    "batch_size": "student batch size (default 32, CROP §4.2)",
    "max_steps": "stop training after this many optimiser steps (overrides epochs)",
    "patience": "stop the student's training after this many evaluations without improvement",
    "seed": "random seed (data splits, sampling and training)",
    "self_train_rounds": "CROP self-training: the student relabels what the teacher dropped and is retrained, N "
                         "times",
}
"""Fields of :class:`~eat_core.distill.request.DistillRequest` whose meaning is its own."""
