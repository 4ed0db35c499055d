"""Options several ``eat`` commands share, each declared once with one help text.

A command uses the alias and gives its own default: ``db: Db = DEFAULT_DB``. An option whose meaning differs by
command (``--out``, ``--format``, ``--lang``, a trainer's ``--epochs``) is declared in that command instead;
``tests/integration/test_cli_options.py`` checks that every other option name has one help text across the whole CLI.
An option that sets a request field reads its help from that field's description (``eat_core/config/fields.py``,
plain strings), so ``eat run --help`` and Prefect's run form say the same thing. Only typer and those strings are
imported here, so ``eat --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eat_core.config.fields import DISTILL, SHARED

DEFAULT_DB = Path("eat.duckdb")

# Where and what
Db = Annotated[Path, typer.Option(help=SHARED["db"])]
Profile = Annotated[str, typer.Option(help=SHARED["profile"])]
Languages = Annotated[str, typer.Option(help=SHARED["languages"])]
Data = Annotated[Path, typer.Option(help=SHARED["data_dir"])]
Split = Annotated[str, typer.Option(help=SHARED["split"])]
Limit = Annotated[int, typer.Option(help=SHARED["limit"])]
Seed = Annotated[int, typer.Option(help=DISTILL["seed"])]
Official = Annotated[Path, typer.Option(help="directory of official EACL corpus_<lang>.json files (harvest: their "
                                             "English entities; build: their pairs instead of the harvest)")]

# The method and its models
Method = Annotated[str, typer.Option(help=SHARED["method"])]
LlmBackend = Annotated[str, typer.Option("--llm-backend", help=SHARED["llm_backend"])]
Llm = Annotated[str, typer.Option("--llm", help=SHARED["llm"])]
BaseUrl = Annotated[str, typer.Option(help=SHARED["base_url"])]
Adapter = Annotated[str, typer.Option(help=SHARED["adapter"])]
Extractor = Annotated[str, typer.Option(help=SHARED["extractor"])]
ExtractorModel = Annotated[str, typer.Option(help=SHARED["extractor_model"])]
ExtractorLabelMap = Annotated[str, typer.Option(help=SHARED["extractor_label_map"])]
Rounds = Annotated[int, typer.Option(help=SHARED["rounds"])]
Demonstrations = Annotated[int, typer.Option(help=SHARED["demonstrations"])]
CropMatcher = Annotated[str, typer.Option(help=SHARED["crop_matcher"])]

# How it runs
ShardSize = Annotated[int, typer.Option(help=SHARED["shard_size"])]
Overlong = Annotated[str, typer.Option(help=SHARED["overlong"])]
Direct = Annotated[bool, typer.Option("--direct", help="run the plain eat_core steps in this process instead of "
                                                        "the Prefect flow")]
RepairTags = Annotated[bool, typer.Option("--repair-tags", hidden=True,
                                          help="no-op, kept for old scripts: orphan I- tags are repaired by default")]
StrictTags = Annotated[bool, typer.Option("--strict-tags", help="refuse orphan I- tags instead of reading them as "
                                                                "entity starts (the default, counted in the summary)")]
MaxSteps = Annotated[int, typer.Option(help=DISTILL["max_steps"])]

# Silver sets (eat silver, eat distill)
Route = Annotated[str, typer.Option(help=DISTILL["route"])]
Aligner = Annotated[str, typer.Option(help=DISTILL["aligner"])]
AlignerModel = Annotated[str, typer.Option(help=DISTILL["aligner_model"])]
Matching = Annotated[str, typer.Option(help=DISTILL["matching"])]
Refine = Annotated[str, typer.Option(help=DISTILL["refine"])]
MaxWords = Annotated[int, typer.Option(help=DISTILL["max_words"])]
MaxEntities = Annotated[int, typer.Option(help=DISTILL["max_entities"])]
KeepEmpty = Annotated[bool, typer.Option("--keep-empty", help=DISTILL["keep_empty"])]
ExportFormats = Annotated[str, typer.Option(help=DISTILL["export_formats"])]
DevShare = Annotated[float, typer.Option(help=DISTILL["dev_share"])]
