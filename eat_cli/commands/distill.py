"""``eat silver`` and ``eat distill``: a silver training set from a teacher, and a fast student trained on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from eat_cli.app import _error, flow_result, friendly, progress
from eat_cli.options import (
    DEFAULT_DB,
    Aligner,
    AlignerModel,
    BaseUrl,
    Db,
    DevShare,
    Direct,
    ExportFormats,
    Extractor,
    ExtractorLabelMap,
    ExtractorModel,
    KeepEmpty,
    Limit,
    Llm,
    LlmBackend,
    Matching,
    MaxEntities,
    MaxSteps,
    MaxWords,
    Profile,
    Refine,
    Rounds,
    Route,
    Seed,
    ShardSize,
)
from eat_core.config.fields import DISTILL

TeacherSplit = Annotated[str, typer.Option("--split", help=DISTILL["split"])]
TargetData = Annotated[Path, typer.Option("--data", help=DISTILL["data_dir"])]


def _distill_fields(route, lang, profile, data, db, split, limit, llm_backend, llm, base_url, extractor,
                    extractor_model, rounds, shard_size, max_words, max_entities, keep_empty, dev_share, seed,
                    extractor_label_map=None, export_formats=None, aligner="eflomal", aligner_model=None,
                    matching="optimal", refine="grow") -> dict:
    return dict(route=route, lang=lang, profile=profile, data_dir=str(data) if data else None, db=str(db),
                split=split, limit=limit, llm_backend=llm_backend, llm=llm, base_url=base_url, extractor=extractor,
                extractor_model=extractor_model, rounds=rounds, shard_size=shard_size, max_words=max_words,
                max_entities=max_entities, keep_empty=keep_empty, dev_share=dev_share, seed=seed,
                extractor_label_map=extractor_label_map, export_formats=export_formats or (), aligner=aligner,
                aligner_model=aligner_model, matching=matching, refine=refine)


def _teacher_failed(exc) -> NoReturn:
    """A teacher's or student's evaluation run with failed shards: one line, exit 1 (the same command resumes)."""
    _error(" ".join(str(exc).split()))
    raise typer.Exit(1)


def _distill_failed(message: str, raised: BaseException | None) -> NoReturn:
    """The distill flow did not complete: one line; exit 2 for a user error, 1 for a failed run (it resumes)."""
    from eat_core.distill.pipeline import TeacherFailed
    from eat_core.distill.student import StudentFailed
    from eat_core.errors import EatError

    _error(" ".join(message.split()))
    raise typer.Exit(1 if isinstance(raised, TeacherFailed | StudentFailed) or not isinstance(raised, EatError) else 2)


@friendly
def silver(
    route: Route = "eat",
    lang: Annotated[str, typer.Option(help="target language(s), comma-separated, e.g. zh or zh,ja")] = ...,
    out: Annotated[Path, typer.Option(help="export directory: OUT/<lang>/train.tsv, dev.tsv and silver.json")] = ...,
    profile: Profile = "smoke",
    data: TargetData = None,
    db: Db = DEFAULT_DB,
    split: TeacherSplit = None,
    limit: Limit = None,
    llm_backend: LlmBackend = None,
    llm: Llm = None,
    base_url: BaseUrl = None,
    extractor: Extractor = None,
    extractor_model: ExtractorModel = None,
    extractor_label_map: ExtractorLabelMap = None,
    rounds: Rounds = None,
    shard_size: ShardSize = None,
    max_words: MaxWords = 128,
    max_entities: MaxEntities = None,
    keep_empty: KeepEmpty = False,
    dev_share: DevShare = 0.1,
    export_formats: ExportFormats = None,
    seed: Seed = 42,
    aligner: Aligner = "eflomal",
    aligner_model: AlignerModel = None,
    matching: Matching = "optimal",
    refine: Refine = "grow",
) -> None:
    """Build a silver training set (teacher EAT or CROP, or label projection); print counts and drop reasons.

    The teacher labels --split of the target corpus, its tags ignored (default: train; smoke: dev); the projection
    and align routes read en/ of --data. --seed fixes the train/dev assignment.
    """
    from eat_core.config.coerce import parse_languages
    from eat_core.distill.pipeline import TeacherFailed, coerce_distill, silver_only

    fields = _distill_fields(route, lang, profile, data, db, split, limit, llm_backend, llm, base_url, extractor,
                             extractor_model, rounds, shard_size, max_words, max_entities, keep_empty, dev_share,
                             seed, extractor_label_map, export_formats, aligner, aligner_model, matching, refine)
    requests = [coerce_distill({**fields, "lang": code, "out": str(out)}) for code in parse_languages(lang, "--lang")]
    for request in requests:
        try:
            summary = silver_only(request, out, progress=progress)
        except TeacherFailed as exc:
            _teacher_failed(exc)
        typer.echo(summary.line())
        typer.echo(f"  {Path(summary.export_dir) / summary.lang / 'train.tsv'}  signature={summary.signature}")


@friendly
def distill(
    route: Route = "eat",
    lang: Annotated[str, typer.Option(help=DISTILL["lang"])] = ...,
    out: Annotated[Path, typer.Option(help=DISTILL["out"])] = ...,
    profile: Profile = "smoke",
    data: TargetData = None,
    db: Db = DEFAULT_DB,
    split: TeacherSplit = None,
    eval_split: Annotated[str, typer.Option(help=DISTILL["eval_split"])] = None,
    limit: Limit = None,
    base_model: Annotated[str, typer.Option(help=DISTILL["base_model"])] = None,
    self_train_rounds: Annotated[int, typer.Option(help=DISTILL["self_train_rounds"])] = 0,
    epochs: Annotated[float, typer.Option(help=DISTILL["epochs"])] = None,
    learning_rate: Annotated[float, typer.Option(help=DISTILL["learning_rate"])] = None,
    batch_size: Annotated[int, typer.Option(help=DISTILL["batch_size"])] = None,
    max_steps: MaxSteps = None,
    llm_backend: LlmBackend = None,
    llm: Llm = None,
    base_url: BaseUrl = None,
    extractor: Extractor = None,
    extractor_model: ExtractorModel = None,
    extractor_label_map: ExtractorLabelMap = None,
    rounds: Rounds = None,
    shard_size: ShardSize = None,
    max_words: MaxWords = 128,
    max_entities: MaxEntities = None,
    keep_empty: KeepEmpty = False,
    dev_share: DevShare = 0.1,
    export_formats: ExportFormats = None,
    seed: Seed = 42,
    aligner: Aligner = "eflomal",
    aligner_model: AlignerModel = None,
    matching: Matching = "optimal",
    refine: Refine = "grow",
    direct: Direct = False,
) -> None:
    """Distil a fast student: teacher -> silver set -> student -> evaluation run; each step resumable.

    The teacher (the --profile's LLM, --extractor and data) labels --split of the target corpus, its tags ignored
    (default: train; smoke: dev); --data is the target corpus and its evaluation split.
    """
    from eat_core.distill.pipeline import TeacherFailed, coerce_distill, plan_distill
    from eat_core.distill.student import StudentFailed
    from eat_core.results.render import results_table

    fields = _distill_fields(route, lang, profile, data, db, split, limit, llm_backend, llm, base_url, extractor,
                             extractor_model, rounds, shard_size, max_words, max_entities, keep_empty, dev_share,
                             seed, extractor_label_map, export_formats, aligner, aligner_model, matching, refine)
    request = coerce_distill({**fields, "out": str(out), "eval_split": eval_split, "base_model": base_model,
                              "self_train_rounds": self_train_rounds, "epochs": epochs,
                              "learning_rate": learning_rate, "batch_size": batch_size, "max_steps": max_steps})
    plan_distill(request)  # every option, path and data file checked before a model loads
    if direct:
        from eat_core.distill.pipeline import distill as run_distill

        try:
            result = run_distill(request, progress=progress)
        except (TeacherFailed, StudentFailed) as exc:
            _teacher_failed(exc)
        outcome = {"silver": [s.as_dict() for s in result.silver], "evaluations": result.evaluations,
                   "students": [s["model_dir"] for s in result.students]}
    else:
        from flows.distill import distill_flow

        outcome = flow_result(distill_flow(request, return_state=True), _distill_failed)
    from eat_core.distill.silver import SilverSummary

    for s in outcome["silver"]:
        typer.echo(SilverSummary.from_dict(s).line())
    for model_dir, e in zip(outcome["students"], outcome["evaluations"], strict=True):
        typer.echo(f"\n{e['label']}: student {model_dir}, run {e['run_id']}")
        typer.echo(results_table(db, e["run_id"]))
