"""Options several ``eat`` commands share, each declared once with one help text.

A command uses the alias and gives its own default: ``db: Db = DEFAULT_DB``. An option whose meaning differs by
command (``--out``, ``--format``, ``--lang``, a trainer's ``--epochs``) is declared in that command instead;
``tests/integration/test_cli_options.py`` checks that every other option name has one help text across the whole CLI.
Only typer is imported here, so ``eat --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DB = Path("eat.duckdb")

# Where and what
Db = Annotated[Path, typer.Option(help="DuckDB workspace file")]
Profile = Annotated[str, typer.Option(help="named profile: smoke, paper, paper-ft")]
Languages = Annotated[str, typer.Option(help="comma-separated language codes, e.g. zh,ja,ar")]
Data = Annotated[Path, typer.Option(help="local WikiANN-format directory: <lang>/<split>.tsv files (data source "
                                         "'local')")]
Split = Annotated[str, typer.Option(help="train, dev or test")]
Limit = Annotated[int, typer.Option(help="at most this many sentences per language")]
Seed = Annotated[int, typer.Option(help="random seed (data splits, sampling and training)")]
Official = Annotated[Path, typer.Option(help="directory of official EACL corpus_<lang>.json files (harvest: their "
                                             "English entities; build: their pairs instead of the harvest)")]

# The method and its models
Method = Annotated[str, typer.Option(help="eat (default), eat-ft, direct, crop, fusion or model-transfer "
                                          "(README: Methods)")]
LlmBackend = Annotated[str, typer.Option("--llm-backend", help="transformers or openai")]
Llm = Annotated[str, typer.Option("--llm", help="LLM model id, local path or served name")]
BaseUrl = Annotated[str, typer.Option(help="OpenAI-compatible endpoint(s) for --llm-backend openai; several, "
                                           "comma-separated, share the load and fail over")]
Adapter = Annotated[str, typer.Option(help="PEFT LoRA adapter directory (EAT w/ FT); with --llm-backend openai "
                                           "the served adapter: NAME=PATH (served name, its files: the cache is "
                                           "keyed by their contents) or NAME (the server is asked for its files)")]
Extractor = Annotated[str, typer.Option(help="English NER extractor: t5, token-classification, heuristic")]
ExtractorModel = Annotated[str, typer.Option(help="extractor (or model-transfer tagger) checkpoint (id or path)")]
Rounds = Annotated[int, typer.Option(help="MrCoT rounds: 1, 3 or 5")]
Demonstrations = Annotated[int, typer.Option(help="direct: English in-context examples (default 4; 0 allowed)")]
CropMatcher = Annotated[str, typer.Option(help="crop: 'crop' (CROP's lexical rule, default) or 'eat' (our aligner)")]

# How it runs
ShardSize = Annotated[int, typer.Option(help="sentences (records) per shard (default: the profile's)")]
Overlong = Annotated[str, typer.Option(help="a token or sentence over the input limits: error (default: refused "
                                            "with file and line) or truncate (cut and counted)")]
Direct = Annotated[bool, typer.Option("--direct", help="run the plain eat_core steps in this process instead of "
                                                        "the Prefect flow")]
RepairTags = Annotated[bool, typer.Option("--repair-tags", hidden=True,
                                          help="no-op, kept for old scripts: orphan I- tags are repaired by default")]
StrictTags = Annotated[bool, typer.Option("--strict-tags", help="refuse orphan I- tags instead of reading them as "
                                                                "entity starts (the default, counted in the summary)")]
MaxSteps = Annotated[int, typer.Option(help="stop training after this many optimiser steps (overrides epochs)")]

# Silver sets (eat silver, eat distill)
Route = Annotated[str, typer.Option(help="eat (EAT as teacher), crop (CROP as teacher) or projection "
                                         "(translate-train label projection)")]
MaxWords = Annotated[int, typer.Option(help="leave out sentences longer than this many tokens (CROP: 128)")]
MaxEntities = Annotated[int, typer.Option(help="leave out sentences with more entities (default: crop 5, else none)")]
KeepEmpty = Annotated[bool, typer.Option("--keep-empty", help="keep sentences the labeller found no entity in")]
DevShare = Annotated[float, typer.Option(help="share of kept sentences held out as the silver dev split")]
