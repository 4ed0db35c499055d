"""The silver rows of the translate-train routes: ``projection`` (markers) and ``align`` (word alignment).

Unlike the teacher routes, whose rows are a finished evaluation run filtered, these routes make their rows here, shard
by shard with the cost of each, from the English labelled data and the LLM; ``pipeline.py`` picks the route's rows
and turns them into a silver set.
"""

from __future__ import annotations

from eat_core.distill.alignment import (
    align_cached,
    aligner_for,
    cost_since,
    label,
    llm_cost,
    translate_shard,
)
from eat_core.distill.filters import Candidate
from eat_core.distill.plan import DistillPlan, Progress
from eat_core.distill.projection import project_shard
from eat_core.distill.silver import SilverRow, judge_candidates, row_dict, stored_rows
from eat_core.errors import DataError
from eat_core.evaluation.data import load_language
from eat_core.evaluation.session import session_for
from eat_core.evaluation.shards import shards_of
from eat_core.store import Store


def align_identity(plan: DistillPlan) -> dict:
    """The align route's settings with the aligner's identity (its version, or its encoder's weights fingerprint)."""
    settings = plan.request.align_settings()
    return {**settings, "aligner_identity": aligner_for(settings).identity()}



def _start_projected_set(plan: DistillPlan, store: Store, silver_id: str, signature: str,
                         config: dict) -> tuple[list, set]:
    """Both projection routes: the English labelled sentences in shards, the set registered (no teacher run), and
    the shards an earlier attempt finished."""
    r = plan.request
    shards = shards_of(load_language(plan.source, "en"), plan.source.shard_size)
    store.start_silver_set(silver_id, {"route": r.route, "lang": r.lang, "teacher_run": None,
                                       "signature": signature, "config": config})
    return shards, store.silver_shards_done(silver_id)


def projection_rows(plan: DistillPlan, store: Store, silver_id: str, signature: str, config: dict,
                     say: Progress) -> list[SilverRow]:
    """The projection route (``eat_core/distill/projection.py``): English labelled sentences translated with markers
    and judged, written shard by shard with its cost. Finished shards are reused."""
    r = plan.request
    shards, finished = _start_projected_set(plan, store, silver_id, signature, config)
    translator = None
    settings = r.filter_settings()
    for index, shard in enumerate(shards):
        if index in finished:
            continue
        translator = translator or projection_translator(plan, store)
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


def align_rows(plan: DistillPlan, store: Store, silver_id: str, signature: str, config: dict,
                say: Progress) -> list[SilverRow]:
    """The align route (``eat_core/distill/alignment.py``): every shard still to do is translated and
    back-translated (cached LLM calls), its pairs aligned in one batch (cached alignments), then labelled and
    written shard by shard with its cost. Finished shards are reused."""
    r = plan.request
    shards, finished = _start_projected_set(plan, store, silver_id, signature, config)
    todo = [k for k in range(len(shards)) if k not in finished]
    if todo:
        translator = projection_translator(plan, store)
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


def projection_translator(plan: DistillPlan, store: Store):
    """The translator over the LLM of the process's model session (``CachedLLM`` over the configured backend), so
    projection and an evaluation with the same models load them once."""
    return session_for(plan.source, store).translator()

