"""Silver routes side by side (``eat compare-silver``): what each silver set kept, why it dropped the rest, and
what its labels cost in LLM calls and tokens per offered sentence.

One row per silver set of the workspace (``eat silver`` / ``eat distill``): route (``eat``, ``crop``,
``projection``, ``align``; ``-st<k>`` after self-training round k), language, sentences offered, kept and dropped,
entities in the kept sentences, drop reasons, and cost per offered sentence:

* teacher routes (``eat``, ``crop``): the teacher run's shards for the language (calls answered from the cache and
  made, prompt and generated tokens), as ``eat compare`` counts them;
* projection routes (``projection``, ``align``): the silver set's own shards (``silver_shards``, recorded since
  schema version 8; ``n/a`` for sets built before);
* self-training sets: the student relabels without an LLM, so their cost is their base set's (shown as such).

Contract, by example::

    rows = compare_silver("eat.duckdb")         # or compare_silver(db, ["silver-align-de-1a2b3c4d5e"])
    rows[0] -> SilverRow(silver_id="silver-crop-de-...", route="crop", lang="de", offered=8, kept=3, dropped=5,
                         entities=4, reasons={"entity_not_found": 5}, llm_calls=7.0, prompt_tokens=812.5,
                         completion_tokens=96.0, cost_from="teacher run smoke-...")
    silver_comparison_text(rows)                # the table ``eat compare-silver`` prints
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from eat_core.bio import spans_from_tags
from eat_core.errors import ConfigError
from eat_core.store import Store


@dataclass
class SilverRow:
    silver_id: str
    route: str
    lang: str
    status: str
    offered: int
    kept: int
    dropped: int
    entities: int
    reasons: dict[str, int] = field(default_factory=dict)
    llm_calls: float | None = None  # per offered sentence
    prompt_tokens: float | None = None
    completion_tokens: float | None = None
    cost_from: str = "n/a"


def compare_silver(db, silver_ids: Sequence[str] | None = None) -> list[SilverRow]:
    """One :class:`SilverRow` per silver set (every set of ``db``, or those named); unknown ids: one line."""
    store = Store(db)
    sets = store.silver_set_rows(silver_ids)
    if silver_ids:
        missing = [i for i in silver_ids if i not in {s["silver_id"] for s in sets}]
        if missing:
            known = [s["silver_id"] for s in store.silver_set_rows()]
            raise ConfigError(f"unknown silver set {missing[0]!r} in {db} (known: {', '.join(known) or 'none'})")
    by_id = {s["silver_id"]: s for s in store.silver_set_rows()}
    return [_row(store, s, by_id) for s in sets]


def _row(store: Store, meta: dict, by_id: dict[str, dict]) -> SilverRow:
    config = meta["config"] or {}
    kept, dropped = int(meta["kept"] or 0), int(meta["dropped"] or 0)
    route = meta["route"] + (f"-st{config['self_train_round']}" if config.get("self_train_round") else "")
    entities = sum(len(spans_from_tags(tags)) for tags in store.silver_kept_tags(meta["silver_id"]))
    row = SilverRow(meta["silver_id"], route, meta["lang"], meta["status"], kept + dropped, kept, dropped, entities,
                    dict(meta["reasons"] or {}))
    source, note = meta, ""
    if config.get("base_silver") in by_id:  # self-training: the student adds no LLM call
        source, note = by_id[config["base_silver"]], " (base set; the student relabels without an LLM)"
    calls, prompt, completion, origin = _cost(store, source)
    if calls is not None and row.offered:
        row.llm_calls, row.prompt_tokens, row.completion_tokens = (calls / row.offered, prompt / row.offered,
                                                                   completion / row.offered)
        row.cost_from = origin + note
    return row


def _cost(store: Store, meta: dict) -> tuple[int | None, int, int, str]:
    """(calls, prompt tokens, completion tokens, where they were read) of a set, or (None, 0, 0, "n/a")."""
    if meta["teacher_run"]:
        for cost in store.shard_costs(meta["teacher_run"]):
            if cost["lang"] == meta["lang"]:
                return (cost["cache_hits"] + cost["cache_misses"], cost["prompt_tokens"], cost["completion_tokens"],
                        f"teacher run {meta['teacher_run']}")
        return None, 0, 0, "n/a"
    cost = store.silver_shard_costs(meta["silver_id"])
    if not cost["costed"]:
        return None, 0, 0, "n/a"
    return cost["llm_calls"], cost["prompt_tokens"], cost["completion_tokens"], "silver shards"


def silver_comparison_text(rows: Sequence[SilverRow]) -> str:
    """The routes as a fixed-width table, then each set's drop reasons and where its costs come from."""
    if not rows:
        return "no silver set in this workspace (build one with eat silver or eat distill)"
    head = (f"{'route':<14}{'lang':<6}{'offered':>8}{'kept':>6}{'kept %':>8}{'entities':>9}{'dropped':>8}"
            f"{'calls/sent':>11}{'prompt tok/sent':>16}{'gen tok/sent':>13}  silver set")
    lines = [head, "-" * len(head)]
    for r in rows:
        share = 100 * r.kept / r.offered if r.offered else 0.0
        cost = (f"{r.llm_calls:>11.2f}{r.prompt_tokens:>16.1f}{r.completion_tokens:>13.1f}" if r.llm_calls is not None
                else f"{'n/a':>11}{'n/a':>16}{'n/a':>13}")
        status = "" if r.status == "done" else f" ({r.status})"
        lines.append(f"{r.route:<14}{r.lang:<6}{r.offered:>8}{r.kept:>6}{share:>8.1f}{r.entities:>9}{r.dropped:>8}"
                     f"{cost}  {r.silver_id}{status}")
    lines.append("")
    lines.append("why sentences were dropped:")
    for r in rows:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(r.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"  {r.route:<14}{r.lang:<6}{reasons or 'none'}")
    lines.append("")
    lines.append("costs per offered sentence, from:")
    lines += [f"  {r.route:<14}{r.lang:<6}{r.cost_from}" for r in rows]
    return "\n".join(lines)


def silver_comparison_json(rows: Sequence[SilverRow]) -> str:
    return json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=1)
