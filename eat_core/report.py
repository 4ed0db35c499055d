"""Results tables read back from DuckDB (read-only, so they work beside a running evaluation)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from eat_core.errors import StoreError
from eat_core.store import Store

COLUMNS = ("token_f1", "entity_f1", "bleu", "entropy_loss")


def latest_run(store: Store) -> str:
    rows = store.query("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1")
    if not rows:
        raise StoreError(f"{store.path} holds no run yet")
    return rows[0][0]


def results_rows(db: str | Path, run_id: str | None = None) -> tuple[str, list[dict]]:
    store = Store(db)
    run_id = run_id or latest_run(store)
    metrics: dict[str, dict[str, float]] = {}
    for lang, metric, value in store.query("SELECT lang, metric, value FROM metrics WHERE run_id = ?", [run_id]):
        metrics.setdefault(lang, {})[metric] = value
    shards = store.query(
        "SELECT lang, count(*), sum(n_sentences), sum(CASE WHEN status = 'done' THEN 1 ELSE 0 END), "
        "sum(cache_hits), sum(cache_misses), sum(seconds) FROM shards WHERE run_id = ? GROUP BY lang ORDER BY lang",
        [run_id],
    )
    failures: dict[str, Counter] = {}
    for lang, items in store.query("SELECT lang, failures FROM predictions WHERE run_id = ?", [run_id]):
        failures.setdefault(lang, Counter()).update(json.loads(items or "[]"))
    rows = []
    for lang, n_shards, n_sent, n_done, hits, misses, seconds in shards:
        calls = (hits or 0) + (misses or 0)
        rows.append({
            "lang": lang, **{c: metrics.get(lang, {}).get(c) for c in COLUMNS},
            "sentences": int(n_sent or 0), "shards": f"{n_done}/{n_shards}",
            "cache_hit_rate": (hits or 0) / calls if calls else None,
            "s_per_sentence": (seconds or 0) / n_sent if n_sent else None,
            "failures": dict(failures.get(lang, Counter()).most_common()),
        })
    return run_id, rows


def _fmt(value, spec: str = ".2f") -> str:
    return "-" if value is None or value != value else format(value, spec)


def results_table(db: str | Path, run_id: str | None = None) -> str:
    run_id, rows = results_rows(db, run_id)
    header = (f"{'lang':<5} {'tokF1':>6} {'entF1':>6} {'BLEU':>6} {'L_e':>6} {'sent':>5} {'shards':>7} "
              f"{'hit%':>5} {'s/sent':>7}  failures")
    lines = [f"run {run_id}", header, "-" * len(header)]
    for r in rows:
        fails = ", ".join(f"{k}={v}" for k, v in list(r["failures"].items())[:4]) or "-"
        hit = _fmt(None if r["cache_hit_rate"] is None else 100 * r["cache_hit_rate"], ".0f")
        lines.append(f"{r['lang']:<5} {_fmt(r['token_f1']):>6} {_fmt(r['entity_f1']):>6} {_fmt(r['bleu']):>6} "
                     f"{_fmt(r['entropy_loss'], '.3f'):>6} {r['sentences']:>5} {r['shards']:>7} {hit:>5} "
                     f"{_fmt(r['s_per_sentence'], '.3f'):>7}  {fails}")
    return "\n".join(lines)
