"""``eat tag``: tag your own corpus, sharded, cached in DuckDB and resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eat_cli.app import _error, flow_result, friendly, progress
from eat_cli.options import (
    DEFAULT_DB,
    Adapter,
    BaseUrl,
    CropMatcher,
    Db,
    Demonstrations,
    Direct,
    Extractor,
    ExtractorLabelMap,
    ExtractorModel,
    Llm,
    LlmBackend,
    Method,
    Overlong,
    Profile,
    Rounds,
    ShardSize,
)
from eat_core.config.fields import TAG


@friendly
def tag(
    input: Annotated[Path, typer.Argument(metavar="INPUT", show_default=False, help=TAG["input"])] = ...,
    lang: Annotated[str, typer.Option("--lang", help=TAG["lang"])] = ...,
    out: Annotated[Path, typer.Option("--out", help=TAG["out"])] = ...,
    fmt: Annotated[str, typer.Option("--format", help=TAG["format"])] = "auto",
    profile: Profile = "smoke",
    db: Db = DEFAULT_DB,
    method: Method = None,
    llm_backend: LlmBackend = None,
    llm: Llm = None,
    base_url: BaseUrl = None,
    adapter: Adapter = None,
    extractor: Extractor = None,
    extractor_model: ExtractorModel = None,
    extractor_label_map: ExtractorLabelMap = None,
    rounds: Rounds = None,
    shard_size: ShardSize = None,
    overlong: Overlong = None,
    demonstrations: Demonstrations = None,
    crop_matcher: CropMatcher = None,
    direct: Direct = False,
) -> None:
    """Tag your own corpus: entities with character offsets (JSONL) or IOB2 columns (CoNLL).

    \b
    INPUT (--format auto picks by suffix: .jsonl, .conll/.tsv, .txt):
      JSONL  {"id": "s1", "text": "普京访问了巴黎。"}
             {"id": "s2", "tokens": ["Путин", "посетил", "Париж"]}
      text   one sentence per line (a blank line: a record, no entities)
      CoNLL  one token per line, a blank line between sentences

    \b
    OUT.jsonl, one line per record in input order (start, end: character
    offsets into text, so the span's text is the entity's text):
      {"id": "s1", "text": "普京访问了巴黎。",
       "entities": [{"start": 0, "end": 2, "label": "PER", "text": "普京"}]}

    \b
    Example:
      eat tag news.jsonl --lang zh --out news.tags.jsonl --profile smoke

    Sharded, cached in --db and resumable: the same command after a crash or Ctrl-C tags only what is missing.
    Bad input (invalid UTF-8, a record without text, an over-long sentence) is one line naming file and line, exit 2.
    --overlong truncate tags what fits and counts the rest.
    """
    from eat_core.tagging.request import coerce_tag_request

    request = coerce_tag_request(dict(
        input=str(input), lang=lang, out=str(out), format=fmt, profile=profile, db=str(db), method=method,
        llm_backend=llm_backend, llm=llm, base_url=base_url, adapter=adapter, extractor=extractor,
        extractor_model=extractor_model,
        extractor_label_map=extractor_label_map, rounds=rounds, shard_size=shard_size, overlong=overlong,
        demonstrations=demonstrations, crop_matcher=crop_matcher))
    if direct:
        from eat_core.evaluation.lifecycle import TAG_RUN, failure_summary
        from eat_core.tagging.runner import tag_corpus

        result = tag_corpus(request, progress=progress)
        if result.failed_shards:
            _error(failure_summary(result.run_id, result.failed_shards, kind=TAG_RUN))
            raise typer.Exit(1)
        typer.echo(f"tag run {result.run_id}: {result.records} records, {result.entities} entities -> {result.out}")
        return
    from eat_core.tagging.runner import plan_tag

    plan_tag(request)  # options and every input record checked (one line, exit 2) before a Prefect server starts
    from eat_cli.prefect_server import flow_process
    from flows.tag import tag_corpus as tag_corpus_flow

    with flow_process():  # temporary server up front (or one line, exit 2); Ctrl-C/SIGTERM: run 'interrupted'
        state = tag_corpus_flow(request, return_state=True)
    done = flow_result(state)
    typer.echo(f"tag run {done['run_id']}: {done['records']} records, {done['entities']} entities -> {done['out']}")
