"""Results read back from DuckDB (read-only, so they work beside a running evaluation): one row per run x language.

One aggregation (:func:`language_rows`: metrics, shard costs and failure reasons of a run) feeds both views:
:func:`results_frame` (a ``pandas.DataFrame``, every metric and cost) and :func:`results_rows` (the columns of the
``eat results`` table and ``eat report``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from eat_core.errors import ConfigError
from eat_core.store import Store

COLUMNS = ("token_f1", "token_f1_true", "entity_f1", "bleu", "entropy_loss")
"""The metrics of :func:`results_rows`."""

FRAME_METRICS = ("token_f1", "token_f1_true", "entity_f1", "entity_precision", "entity_recall", "bleu",
                 "entropy_loss")
"""The metrics of :func:`results_frame`."""

FRAME_COLUMNS = ("run_id", "method", "model", "profile", "status", "lang", *FRAME_METRICS[:2], "token_f1_diff",
                 *FRAME_METRICS[2:], "token_f1_protocol", "sentences", "shards", "shards_done", "shards_failed",
                 "shard_errors", "llm_calls", "cache_hits", "cache_misses", "prompt_tokens", "completion_tokens",
                 "seconds", "s_per_sentence", "cache_hit_rate", "shards_reused", "failures", "n_failures",
                 "token_f1_signature", "token_f1_true_signature")


def run_protocol(store: Store, run_id: str) -> str:
    """The protocol of a run's ``token_f1`` (``eat-official``, the paper's, unless the run was configured else)."""
    return store.run_config(run_id).get("token_f1_protocol", "eat-official")


def method_and_model(config: dict) -> tuple[str, str]:
    """``("crop", "tiny:qwen2")``: the method of a stored configuration and the model that tags with it (the
    token classifier for ``model-transfer``, else the LLM, with ``+adapter`` when one is set)."""
    method = (config.get("method") or {}).get("name", "eat")  # runs made before methods existed were EAT
    if method == "model-transfer":
        return method, str((config.get("extractor") or {}).get("model", "?"))
    llm = config.get("llm") or {}
    adapter = llm.get("adapter")
    return method, str(llm.get("model", "?")) + (f"+{adapter}" if adapter else "")


_INPUT_ORDER = {"prompts": 0, "llm": 1, "adapter": 2, "extractor": 3}


def inputs_line(store: Store, run_id: str) -> str:
    """``inputs: prompts=38dfba8f llm=25f96942 extractor=none data:zh=f36acd7f``: the first 8 characters of each
    input's content fingerprint, from ``run_inputs``."""
    rows = store.run_input_fingerprints(run_id)
    if not rows:
        return "inputs: not recorded (run made before inputs were fingerprinted)"
    rows = sorted(rows, key=lambda r: (_INPUT_ORDER.get(r[0], len(_INPUT_ORDER)), r[0]))
    return "inputs: " + " ".join(f"{name}={(fingerprint or '?')[:8]}" for name, fingerprint in rows)


def language_rows(store: Store, run_id: str) -> list[dict]:
    """One dict per language of a run (sorted), with every column of :data:`FRAME_COLUMNS`; ``failures`` is a
    dict reason -> count, most frequent first; ``shard_errors`` a dict shard index -> the error it failed with.

    The cost columns (``llm_calls``, tokens, ``seconds``, ``cache_hits``/``cache_misses`` = calls answered from the
    LLM cache / made) describe the computation that produced the numbers and do not move when a finished shard is
    served again; that reuse is counted beside them in ``shards_reused``."""
    config = store.run_config(run_id)
    method, model = method_and_model(config)
    status, profile = store.run_status(run_id) or ("?", "?")
    metrics = store.metrics_by_lang(run_id)
    failures = store.failure_counts(run_id)
    errors: dict[str, dict[int, str]] = {}
    for lang, index, error in store.failed_shards(run_id):
        errors.setdefault(lang, {})[int(index)] = error or "no error recorded"
    rows = []
    for shard in store.shard_costs(run_id):
        lang, n_sent = shard["lang"], shard["sentences"]
        values = {m: metrics.get(lang, {}).get(m, (None, None)) for m in FRAME_METRICS}
        paper, true = values["token_f1"][0], values["token_f1_true"][0]
        hits, misses, seconds = int(shard["cache_hits"]), int(shard["cache_misses"]), float(shard["seconds"])
        calls = hits + misses
        fails = failures.get(lang, Counter())
        rows.append({
            "run_id": run_id, "method": method, "model": model, "profile": profile, "status": status,
            "lang": lang, **{m: v for m, (v, _) in values.items()},
            "token_f1_diff": None if paper is None or true is None else true - paper,
            "token_f1_protocol": config.get("token_f1_protocol", "eat-official"),
            "sentences": int(n_sent or 0), "shards": int(shard["shards"]), "shards_done": int(shard["shards_done"]),
            "shards_failed": int(shard["shards_failed"]), "shard_errors": errors.get(lang, {}),
            "llm_calls": calls, "cache_hits": hits, "cache_misses": misses,
            "prompt_tokens": int(shard["prompt_tokens"]), "completion_tokens": int(shard["completion_tokens"]),
            "seconds": seconds, "s_per_sentence": seconds / n_sent if n_sent else None,
            "cache_hit_rate": hits / calls if calls else None, "shards_reused": int(shard["shards_reused"]),
            "failures": dict(fails.most_common()), "n_failures": sum(fails.values()),
            "token_f1_signature": values["token_f1"][1], "token_f1_true_signature": values["token_f1_true"][1],
        })
    return rows


def resolve_run(store: Store, run_id: str | None) -> str:
    """``run_id`` checked against the file, or the latest run when it is None."""
    return store.require_run(run_id) if run_id else store.latest_run()


def latest_completed_run(store: Store) -> str:
    """The most recent run that completed (status ``done``): what a report without a run id shows, since a failed
    or running run has nothing (or only part) to draw. ``ConfigError`` naming the latest run when none completed."""
    run = store.latest_run_with_status("done")
    if run is None:
        latest = store.latest_run()
        status = (store.run_status(latest) or ("?",))[0]
        raise ConfigError(f"no completed run in {store.path} yet (the latest, {latest}, is {status}); give a run id "
                          f"to report it anyway: eat report {latest} --db {store.path}")
    return run


def results_rows(db: str | Path, run_id: str | None = None) -> tuple[str, list[dict]]:
    """The run (``run_id``, else the latest) and one dict per language: :data:`COLUMNS`, ``sentences``,
    ``shards`` (``"done/all"``), ``shards_reused``, ``cache_hit_rate``, ``s_per_sentence`` and ``failures``
    (reason -> count)."""
    store = Store(db)
    run_id = resolve_run(store, run_id)
    return run_id, [{"lang": r["lang"], **{c: r[c] for c in COLUMNS}, "sentences": r["sentences"],
                     "shards": f"{r['shards_done']}/{r['shards']}", "shards_reused": r["shards_reused"],
                     "cache_hit_rate": r["cache_hit_rate"],
                     "s_per_sentence": r["s_per_sentence"], "failures": r["failures"]}
                    for r in language_rows(store, run_id)]


def _run_ids(store: Store, run_id: str | Sequence[str] | None) -> list[str]:
    if run_id is None:
        return store.list_runs()
    ids = [run_id] if isinstance(run_id, str) else list(run_id)
    return [store.require_run(r) for r in dict.fromkeys(ids)]


def results_frame(db: str | Path, run_id: str | Sequence[str] | None = None):
    """The results as a ``pandas.DataFrame``: one row per run x language, metrics and costs side by side.

    ``run_id``: one run id, a list of them, or ``None`` for every run in the file (oldest first). Unknown ids raise
    ``ConfigError`` naming the most recent runs. Columns: ``run_id, method, model, profile, status, lang``; the
    metrics ``token_f1`` (protocol ``token_f1_protocol``, ``eat-official`` = the paper's tables), ``token_f1_true``
    (true positions), ``token_f1_diff`` (true minus paper), ``entity_f1``, ``entity_precision``, ``entity_recall``,
    ``bleu``, ``entropy_loss`` (percent, NaN until scored); what it cost: ``sentences``, ``shards``,
    ``shards_done``, ``shards_failed``, ``shard_errors`` (JSON object shard index -> error), ``llm_calls``
    (= ``cache_hits`` + ``cache_misses``: calls answered from the LLM cache + made, when the shards were computed),
    ``prompt_tokens``, ``completion_tokens``, ``seconds``, ``s_per_sentence``, ``cache_hit_rate`` (all of the
    computation that made the numbers: a cached re-run leaves them as they were), ``shards_reused`` (finished shards
    served whole again by a re-run); ``failures`` (JSON object reason -> count), ``n_failures``; and the signatures
    ``token_f1_signature``, ``token_f1_true_signature``.

        >>> from eat_core.results.tables import results_frame
        >>> df = results_frame("eat.duckdb")
        >>> df.pivot(index=["method", "run_id"], columns="lang", values="token_f1")  # EAT Table 4 layout
    """
    import pandas as pd

    store = Store(db)
    rows = [{**r, "failures": json.dumps(r["failures"], ensure_ascii=False),
             "shard_errors": json.dumps(r["shard_errors"], ensure_ascii=False)}
            for run in _run_ids(store, run_id) for r in language_rows(store, run)]
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    for column in (*FRAME_METRICS, "token_f1_diff", "s_per_sentence", "cache_hit_rate"):
        frame[column] = frame[column].astype("float64")  # None -> NaN, so empty columns keep a numeric type
    return frame
