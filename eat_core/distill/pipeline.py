"""``eat distill``: teacher tags -> silver set -> student trained -> student evaluated, each step content-keyed.

Every step is idempotent and finds its own finished work, so a re-run after a crash resumes at the step that failed:

1. **teacher** (routes ``eat``, ``crop``): an evaluation run of the method over the unlabelled corpus
   (``eat_core.evaluation.loop.evaluate``: finished shards are skipped, every LLM call is cached);
2. **silver set**: the teacher's predictions filtered (or, route ``projection``, English labelled sentences
   translated with markers, shard by shard; route ``align``, translated without markers and projected by word
   alignment, ``eat_core/distill/alignment.py``); a finished set with the same content key is reused;
3. **student**: ``train_extractor`` on the export (its step key covers settings, base weights and the data read:
   a finished student is reused, checkpoints of the same key are resumed);
4. **evaluation**: the student as ``model-transfer`` over the target test (or dev) split, stored as a run labelled
   ``student-<route>`` (``-st<k>`` after self-training round k) beside the teacher's runs;
5. optional **self-training** (CROP §3.5 and its post-processing (iii)): the student tags the sentences the teacher
   dropped, they join the teacher's kept ones, a new student is trained and evaluated; ``self_train_rounds`` times.

The Prefect flow ``flows/distill.py`` runs the same step functions as cached tasks; :func:`distill` runs them in
order without Prefect.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from eat_core.config.coerce import coerce
from eat_core.config.run import RunConfig
from eat_core.distill.alignment import (
    align_cached,
    aligner_for,
    cost_since,
    label,
    llm_cost,
    translate_shard,
)
from eat_core.distill.filters import Candidate
from eat_core.distill.projection import project_shard
from eat_core.distill.request import PROJECTION_ROUTES, DistillRequest
from eat_core.distill.silver import (
    SilverRow,
    SilverSummary,
    assign_parts,
    export_is_current,
    export_silver,
    judge_candidates,
    row_dict,
    save_silver,
    signature_for,
    silver_id_for,
    stored_rows,
    stored_summary,
    summarise,
    teacher_candidates,
)
from eat_core.errors import ConfigError, DataError, EatError
from eat_core.evaluation.checks import validate_request
from eat_core.evaluation.data import load_language
from eat_core.evaluation.identity import run_id_for
from eat_core.evaluation.lifecycle import failure_summary
from eat_core.evaluation.loop import evaluate
from eat_core.evaluation.session import session_for
from eat_core.evaluation.shards import shards_of
from eat_core.extractors.token_classification import TokenClassificationExtractor
from eat_core.hashing import content_hash, directory_fingerprint
from eat_core.methods.model_transfer import iob2_from_labels
from eat_core.projection.aligners import DEFAULT_EMBEDDING_MODEL, NEEDS_MODEL, check_aligner
from eat_core.store import Store
from eat_core.training.extractor import ExtractorTrainConfig, train_extractor
from eat_core.weights.fingerprint import model_fingerprint
from eat_core.weights.resolve import check_model

Progress = Callable[[str], None]
log = logging.getLogger("eat")


class TeacherFailed(EatError):
    """The teacher's evaluation run ended with failed shards; the same command resumes it (exit 1, as `eat run`)."""

    retryable = True


class StudentFailed(EatError):
    """The student's evaluation run ended with failed shards; the same command resumes it (exit 1, as `eat run`)."""

    retryable = True


@dataclass(frozen=True)
class DistillPlan:
    """A validated request with the configurations it resolves to (nothing loaded yet)."""

    request: DistillRequest
    teacher: RunConfig | None  # routes eat, crop: the evaluation run over the unlabelled corpus
    source: RunConfig | None  # routes projection, align: the LLM, prompts and the English labelled data ("en")

    @property
    def out(self) -> Path:
        return Path(self.request.out)


def _say(progress: Progress | None) -> Progress:
    return progress or log.info


def coerce_distill(request: DistillRequest | dict | None) -> DistillRequest:
    """A :class:`DistillRequest` from itself or from flow parameters, with one-line errors naming the option."""
    return coerce(DistillRequest, request)


def plan_distill(request: DistillRequest | dict, *, student: bool = True) -> DistillPlan:
    """Check everything that can be checked before a model loads (one line each, naming the option)."""
    r = coerce_distill(request)
    out = Path(r.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} is a file; give a directory")
    if r.route in PROJECTION_ROUTES:  # the LLM and prompts read the English labelled data with `direct`
        source = validate_request(r, languages=("en",), method="direct")
        teacher = None
        if r.route == "align":
            check_aligner(r.aligner, r.aligner_model)
            if r.aligner in NEEDS_MODEL:
                check_model("--aligner-model", r.aligner_model or DEFAULT_EMBEDDING_MODEL)
    else:
        teacher = validate_request(r)
        source = None
    if student:
        check_model("--base-model", r.preset("base_model"))
        evaluation = student_eval_config(DistillPlan(r, teacher, source), "tiny:bert-tc", 0)

        load_language(evaluation, r.lang)  # the evaluation split exists and parses (file and line otherwise)
    return DistillPlan(r, teacher, source)


# -- 1. the teacher -------------------------------------------------------------------------------------------------


def teacher_key(plan: DistillPlan) -> str | None:
    return run_id_for(plan.teacher) if plan.teacher is not None else None


def tag_with_teacher(plan: DistillPlan, progress: Progress | None = None) -> str | None:
    """Run (or resume) the teacher's evaluation run over the unlabelled corpus; its run id (None for projection)."""
    if plan.teacher is None:
        return None

    result = evaluate(plan.teacher, plan.request.db, progress=_say(progress))
    if result.failed_shards:
        raise TeacherFailed(failure_summary(result.run_id, result.failed_shards, retried=False).splitlines()[0]
                            + "; run the same command again to resume")
    return result.run_id


# -- 2. the silver set ----------------------------------------------------------------------------------------------


def silver_dir(plan: DistillPlan, round: int = 0) -> Path:
    """Where ``eat distill`` exports a silver set: ``<out>/<route>/silver`` (``silver-st<k>`` after round k)."""
    return plan.out / plan.request.route / ("silver" if round == 0 else f"silver-st{round}")


def silver_key(plan: DistillPlan, teacher_run: str | None) -> str:
    """The silver set's id: route, language, the teacher's run id (or the projection's input run key), filters."""
    r = plan.request
    if r.route == "projection":
        return silver_id_for(r.route, r.lang, {"source": run_id_for(plan.source), "filters": r.filter_settings()})
    if r.route == "align":
        return silver_id_for(r.route, r.lang, {"source": run_id_for(plan.source), "filters": r.filter_settings(),
                                               "align": align_identity(plan)})
    return silver_id_for(r.route, r.lang, {"teacher_run": teacher_run, "filters": r.filter_settings()})


def align_identity(plan: DistillPlan) -> dict:
    """The align route's settings with the aligner's identity (its version, or its encoder's weights fingerprint)."""
    settings = plan.request.align_settings()
    return {**settings, "aligner_identity": aligner_for(settings).identity()}


def _signature(plan: DistillPlan, teacher_run: str | None, extra: dict | None = None) -> tuple[str, dict]:
    r = plan.request
    cfg = plan.teacher or plan.source
    if r.route == "align":
        extra = {"align": r.align_settings(), **(extra or {})}
    fields = {"teacher": teacher_run or "none", "method": cfg.method.name if plan.teacher else r.route,
              "llm": cfg.llm.model, "extractor": f"{cfg.extractor.name}:{cfg.extractor.model}" if plan.teacher
              else "none", "rounds": cfg.engine.rounds, "split": cfg.data.split,
              "filters": r.filter_settings(), **(extra or {})}
    if plan.teacher is not None and cfg.data.split == r.preset("eval_split"):
        fields["note"] = "tagged split is the evaluation split (machinery only)"
    config = {"route": r.route, "lang": r.lang, "teacher_run": teacher_run, "filters": r.filter_settings(),
              "teacher_config": cfg.model_dump(mode="json"), **(extra or {})}
    return signature_for(r.route, r.lang, fields), config


def build_silver(plan: DistillPlan, teacher_run: str | None, out: str | Path | None = None,
                 progress: Progress | None = None) -> SilverSummary:
    """The silver set of the plan's route: reused when finished (re-exported if the export is missing or stale)."""
    say = _say(progress)
    r = plan.request
    out = Path(out) if out is not None else silver_dir(plan)
    silver_id = silver_key(plan, teacher_run)
    store = Store(r.db)
    done = stored_summary(store, silver_id)
    if done is not None:
        if not export_is_current(out, done, r.export_formats):
            export_silver(stored_rows(store, silver_id), done, out, r.export_formats)
            say(f"{silver_id}: finished earlier; exported again to {out}")
        done.export_dir = str(out)
        return done
    signature, config = _signature(plan, teacher_run)
    if r.route == "projection":
        rows = _projection_rows(plan, store, silver_id, signature, config, say)
    elif r.route == "align":
        rows = _align_rows(plan, store, silver_id, signature, config, say)
    else:
        rows = _teacher_rows(plan, store, teacher_run)
    rows = assign_parts(rows, r.seed, r.dev_share)
    summary = summarise(silver_id, r.route, r.lang, signature, rows, export_dir=str(out), teacher_run=teacher_run)
    save_silver(store, summary, rows, config)
    export_silver(rows, summary, out, r.export_formats)
    say(summary.line())
    return summary


def _teacher_rows(plan: DistillPlan, store: Store, teacher_run: str) -> list[SilverRow]:
    r = plan.request
    order = [s.id for s in load_language(plan.teacher, r.lang)]
    candidates = teacher_candidates(store, teacher_run, r.lang, order)
    if len(candidates) < len(order):
        raise TeacherFailed(f"teacher run {teacher_run} has {len(candidates)} of {len(order)} {r.lang} sentences "
                            "tagged; run the same command again to resume it")
    return judge_candidates(candidates, r.route, r.filter_settings())


def _projection_rows(plan: DistillPlan, store: Store, silver_id: str, signature: str, config: dict,
                     say: Progress) -> list[SilverRow]:
    r = plan.request
    english = load_language(plan.source, "en")
    shards = shards_of(english, plan.source.shard_size)
    store.start_silver_set(silver_id, {"route": r.route, "lang": r.lang, "teacher_run": None,
                                       "signature": signature, "config": config})
    finished = store.silver_shards_done(silver_id)
    translator = None
    settings = r.filter_settings()
    for index, shard in enumerate(shards):
        if index in finished:
            continue
        translator = translator or _projection_translator(plan, store)
        before = llm_cost(translator)
        candidates = []
        for sentence, projection, expected in project_shard(translator, shard, r.lang):
            c = Candidate(f"{r.lang}-from-{sentence.id}", projection.tokens, projection.tags or
                          ("O",) * len(projection.tokens), expected, projection.failures)
            candidates.append((c, index))
        rows = judge_candidates(candidates, "projection", settings, source="projection")
        base = sum(len(s) for s in shards[:index])

        store.write_silver_shard(silver_id, index, [row_dict(row, base + k) for k, row in enumerate(rows)],
                                 cost_since(translator, before))
        say(f"{silver_id}: shard {index + 1}/{len(shards)} projected ({sum(x.kept for x in rows)}/{len(rows)} kept)")
    if finished:
        say(f"{silver_id}: {len(finished)} of {len(shards)} shard(s) reused")
    return stored_rows(store, silver_id)


def _align_rows(plan: DistillPlan, store: Store, silver_id: str, signature: str, config: dict,
                say: Progress) -> list[SilverRow]:
    """The align route (``eat_core/distill/alignment.py``): every shard still to do is translated and
    back-translated (cached LLM calls), its pairs aligned in one batch (cached alignments), then labelled and
    written shard by shard with its cost. Finished shards are reused."""
    r = plan.request
    english = load_language(plan.source, "en")
    shards = shards_of(english, plan.source.shard_size)
    store.start_silver_set(silver_id, {"route": r.route, "lang": r.lang, "teacher_run": None,
                                       "signature": signature, "config": config})
    finished = store.silver_shards_done(silver_id)
    todo = [k for k in range(len(shards)) if k not in finished]
    if todo:
        translator = _projection_translator(plan, store)
        translated, costs = {}, {}
        for k in todo:
            before = llm_cost(translator)
            translated[k] = translate_shard(translator, shards[k], r.lang)
            costs[k] = cost_since(translator, before)
            say(f"{silver_id}: shard {k + 1}/{len(shards)} translated and back-translated")
        items = [t for k in todo for t in translated[k] if not t.failure]
        pairs = [(t.sentence.tokens, t.target) for t in items] + [(t.back, t.target) for t in items]
        aligned = iter(align_cached(store, aligner_for(r.align_settings()), pairs))
        forward = {id(t): next(aligned) for t in items}
        backward = {id(t): next(aligned) for t in items}
        say(f"{silver_id}: {len(pairs)} sentence pairs aligned ({r.aligner})")
        for k in todo:
            labelled = label(translated[k], [forward.get(id(t), frozenset()) for t in translated[k]],
                             [backward.get(id(t), frozenset()) for t in translated[k]], r.matching, r.refine)
            candidates = [(Candidate(f"{r.lang}-from-{t.sentence.id}", x.target, x.tags, x.expected, x.failures), k)
                          for t, x in zip(translated[k], labelled, strict=True)]
            rows = judge_candidates(candidates, "projection", r.filter_settings(), source="align")
            base = sum(len(s) for s in shards[:k])
            store.write_silver_shard(silver_id, k, [row_dict(row, base + n) for n, row in enumerate(rows)], costs[k])
            say(f"{silver_id}: shard {k + 1}/{len(shards)} projected ({sum(x.kept for x in rows)}/{len(rows)} kept)")
    if finished:
        say(f"{silver_id}: {len(finished)} of {len(shards)} shard(s) reused")
    rows = stored_rows(store, silver_id)
    offered = [row for row in rows if row.reason != "no_entity"]
    if offered and all(row.reason == "empty_translation" for row in offered):
        raise DataError(f"--llm: every translation into {r.lang} was empty ({len(offered)} sentences): the LLM "
                        f"{plan.source.llm.model!r} gave no text to align; check --llm and --base-url")
    return rows


def _projection_translator(plan: DistillPlan, store: Store):
    """The translator over the LLM of the process's model session (``CachedLLM`` over the configured backend), so
    projection and an evaluation with the same models load them once."""
    return session_for(plan.source, store).translator()


def require_kept(summary: SilverSummary) -> SilverSummary:
    """A student needs sentences: an empty silver set is one line naming what dropped them."""
    if summary.kept == 0:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(summary.reasons.items(), key=lambda kv: -kv[1]))
        raise DataError(f"silver set {summary.silver_id} kept no sentence ({summary.dropped} dropped: "
                        f"{reasons or 'none offered'}); nothing to train a student on (a stronger teacher, a larger "
                        "corpus or looser filters)")
    return summary


# -- 3. the student -------------------------------------------------------------------------------------------------


def student_dir(plan: DistillPlan, round: int = 0) -> Path:
    """``<out>/<route>/student-<lang>`` (``-st<k>`` after self-training round k); the model is in ``final/``."""
    return plan.out / plan.request.route / (f"student-{plan.request.lang}" + (f"-st{round}" if round else ""))


def train_config(plan: DistillPlan, silver: SilverSummary, round: int = 0):
    s = plan.request.student_settings()
    return ExtractorTrainConfig(kind="token-classification", base_model=s["base_model"], data_dir=silver.export_dir,
                                lang=plan.request.lang, train_splits=("train",), eval_split="dev",
                                output_dir=str(student_dir(plan, round)), epochs=s["epochs"],
                                learning_rate=s["learning_rate"], batch_size=s["batch_size"],
                                max_steps=s["max_steps"], patience=s["patience"], seed=s["seed"])


def student_key(plan: DistillPlan, silver_id: str, round: int = 0) -> str:
    """What the student is made from: its silver set (a content key), the settings, the base weights."""
    settings = plan.request.student_settings()
    return content_hash({"silver": silver_id, "round": round, "settings": settings,
                         "base": model_fingerprint(settings["base_model"])[1]})[:16]


def train_student(plan: DistillPlan, silver: SilverSummary, round: int = 0,
                  progress: Progress | None = None) -> dict:
    """Train (or reuse, or resume) the student on a silver set; its manifest carries the silver signature."""
    require_kept(silver)
    cfg = train_config(plan, silver, round)
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its logs; stdout is for results
        manifest = train_extractor(cfg, progress=_say(progress))
    final = Path(cfg.output_dir) / "final"
    silver_info = {"silver_id": silver.silver_id, "signature": silver.signature, "route": silver.route,
                   "teacher_run": silver.teacher_run, "kept": silver.kept, "dropped": silver.dropped,
                   "reasons": silver.reasons, "round": round,
                   "student_key": student_key(plan, silver.silver_id, round)}
    if manifest.get("silver") != silver_info:
        manifest["silver"] = silver_info
        (final / "eat_manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                                 encoding="utf-8")
    (final / "eat_silver.json").write_text(json.dumps(silver_info, indent=2, ensure_ascii=False), encoding="utf-8")
    r = plan.request
    Store(r.db).put_student(manifest["step_key"], silver_id=silver.silver_id, route=r.route, lang=r.lang,
                            round=round, model_dir=str(final), eval_run=None, manifest=manifest)
    return {**manifest, "model_dir": str(final)}


# -- 4. evaluation --------------------------------------------------------------------------------------------------


def run_label(route: str, round: int = 0) -> str:
    """The evaluation run's profile label: ``student-eat``, ``student-crop-st1``, ..."""
    return f"student-{route}" + (f"-st{round}" if round else "")


def student_eval_config(plan: DistillPlan, model_dir: str, round: int = 0) -> RunConfig:
    """The student as ``model-transfer`` on the target evaluation split, labelled by route (and round)."""
    r = plan.request
    return r.to_run_config(  # not the teacher's LLM, rounds or matcher: the student's run id depends on itself only
        method="model-transfer", extractor="token-classification", extractor_model=model_dir,
        split=r.preset("eval_split"), llm_backend=None, llm=None, base_url=None, rounds=None, crop_matcher=None,
        extractor_label_map=None,
    ).with_overrides(profile=run_label(r.route, round))


def evaluation_key(student: dict, plan: DistillPlan, round: int = 0) -> str:
    r = plan.request
    return content_hash({"student": student["step_key"], "silver": student.get("silver"), "round": round,
                         "eval": [r.preset("eval_split"), r.data_dir, r.limit, r.profile]})[:16]


def evaluate_student(plan: DistillPlan, student: dict, round: int = 0, progress: Progress | None = None) -> dict:
    """Evaluate (or resume evaluating) the student into a run; its run id and metrics (both F1 conventions)."""
    r = plan.request
    cfg = student_eval_config(plan, student["model_dir"], round)
    result = evaluate(cfg, r.db, progress=_say(progress))
    if result.failed_shards:
        raise StudentFailed("the student's evaluation failed: "
                            + failure_summary(result.run_id, result.failed_shards, retried=False).splitlines()[0])
    store = Store(r.db)
    metrics = {m: value for m, (value, _) in store.metrics_by_lang(result.run_id).get(r.lang, {}).items()}
    store.put_student(student["step_key"], silver_id=student["silver"]["silver_id"], route=r.route, lang=r.lang,
                      round=round, model_dir=student["model_dir"], eval_run=result.run_id, manifest=None)
    return {"run_id": result.run_id, "label": cfg.profile, "metrics": metrics,
            "computed_shards": result.computed_shards, "skipped_shards": result.skipped_shards}


# -- 5. self-training -----------------------------------------------------------------------------------------------


def relabel_key(plan: DistillPlan, base: SilverSummary, student: dict, round: int) -> str:
    """The self-trained silver set's id: its base set, the round, the filters, the student's weights."""
    r = plan.request
    return silver_id_for(r.route, r.lang, {"base": base.silver_id, "round": round, "filters": r.filter_settings(),
                                           "student": directory_fingerprint(student["model_dir"])})


def relabel_silver(plan: DistillPlan, base: SilverSummary, student: dict, round: int,
                   progress: Progress | None = None) -> SilverSummary:
    """CROP's self-training data: the teacher's kept sentences, plus the sentences it dropped as the student tags
    them (kept when they pass the length and entity-count filters). Reused when finished."""
    say = _say(progress)
    r = plan.request
    out = silver_dir(plan, round)
    store = Store(r.db)
    settings = r.filter_settings()
    silver_id = relabel_key(plan, base, student, round)
    done = stored_summary(store, silver_id)
    if done is not None:
        if not export_is_current(out, done, r.export_formats):
            export_silver(stored_rows(store, silver_id), done, out, r.export_formats)
        done.export_dir = str(out)
        return done
    rows = stored_rows(store, base.silver_id)
    todo = [i for i, row in enumerate(rows) if not row.kept and row.tokens]
    tags = student_tags(student["model_dir"], [rows[i].tokens for i in todo]) if todo else []

    relabelled = judge_candidates(
        [(Candidate(rows[i].sentence_id, rows[i].tokens, t, 0), rows[i].shard_index) for i, t in zip(todo, tags,
                                                                                                      strict=True)],
        "relabel", settings, source=f"student-st{round}")
    new_rows = list(rows)
    for i, row in zip(todo, relabelled, strict=True):
        why = (rows[i].reason,) + rows[i].details
        new_rows[i] = replace(row, details=tuple(dict.fromkeys(x for x in why if x)))
    new_rows = assign_parts(new_rows, r.seed, r.dev_share)
    fields = {"self_train_round": round, "base_silver": base.silver_id, "student": student["step_key"]}
    signature, config = _signature(plan, base.teacher_run, fields)
    summary = summarise(silver_id, r.route, r.lang, signature, new_rows, export_dir=str(out),
                        teacher_run=base.teacher_run)
    save_silver(store, summary, new_rows, config)
    export_silver(new_rows, summary, out, r.export_formats)
    say(summary.line() + f" (self-training round {round}: {sum(x.kept for x in relabelled)} of {len(todo)} "
        "dropped sentences relabelled by the student)")
    return summary


def student_tags(model_dir: str, tokens: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """IOB2 tags the student gives each tokenised sentence."""
    tagger = TokenClassificationExtractor(model_dir)
    return [iob2_from_labels(labels)[: len(t)] for labels, t in zip(tagger.word_labels([list(t) for t in tokens]),
                                                                      tokens, strict=True)]


# -- the whole chain, without Prefect ------------------------------------------------------------------------------


@dataclass
class DistillResult:
    teacher_run: str | None
    silver: list[SilverSummary] = field(default_factory=list)
    students: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)


def distill(request: DistillRequest | dict, progress: Progress | None = None) -> DistillResult:
    """Teacher -> silver set -> student -> evaluation (-> self-training rounds), each step reused when finished."""
    say = _say(progress)
    plan = plan_distill(request)
    r = plan.request
    teacher_run = tag_with_teacher(plan, say)
    base = require_kept(build_silver(plan, teacher_run, progress=say))
    result = DistillResult(teacher_run, [base])
    student = train_student(plan, base, 0, say)
    result.students.append(student)
    result.evaluations.append(evaluate_student(plan, student, 0, say))
    for k in range(1, r.self_train_rounds + 1):
        silver = relabel_silver(plan, base, student, k, say)
        result.silver.append(silver)
        student = train_student(plan, silver, k, say)
        result.students.append(student)
        result.evaluations.append(evaluate_student(plan, student, k, say))
    return result


def silver_only(request: DistillRequest | dict, out: str | Path, progress: Progress | None = None) -> SilverSummary:
    """``eat silver``: the teacher (if any) and the silver set, exported to ``<out>/<lang>/``."""
    plan = plan_distill(request, student=False)
    teacher_run = tag_with_teacher(plan, progress)
    return build_silver(plan, teacher_run, out=out, progress=progress)
