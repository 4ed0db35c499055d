"""A run's life in the store: started (with its inputs), finished and scored, failed or interrupted."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from eat_core.config.run import RunConfig
from eat_core.errors import ConfigError, one_line
from eat_core.evaluation.identity import RunInputs, changes_between, inputs_of
from eat_core.languages import join_tokens
from eat_core.scoring.language import score_language
from eat_core.store import Store
from eat_core.store.lookups import require_run

log = logging.getLogger("eat")




def score_run(store: Store, run_id: str, lang: str, protocol: str) -> dict[str, float]:
    """Compute and store every metric of one language from the stored predictions."""
    rows = store.query("SELECT tokens, gold, pred, roundtrip FROM predictions WHERE run_id = ? AND lang = ? "
                       "ORDER BY shard_index, sentence_id", [run_id, lang])
    if not rows:
        return {}
    tokens = [json.loads(r[0]) for r in rows]
    gold = [json.loads(r[1]) for r in rows]
    pred = [json.loads(r[2]) for r in rows]
    originals = [join_tokens(t, lang) for t in tokens]
    roundtrips = [r[3] or "" for r in rows]
    scores = score_language(lang, gold, pred, originals, roundtrips, protocol, tokens=tokens)
    values = {"token_f1": scores.token.f1, "entity_f1": scores.entity.f1, "entity_precision": scores.entity.precision,
              "entity_recall": scores.entity.recall, "bleu": scores.bleu, "entropy_loss": scores.entropy_loss,
              "token_f1_true": scores.token_true.f1}
    signature_of = {"entity_precision": "entity_f1", "entity_recall": "entity_f1"}
    store.put_metrics(run_id, lang, [
        (name, value, scores.signatures[signature_of.get(name, name)],
         {t: s.f1 for t, s in scores.entity_per_type.items()} if name == "entity_f1" else None)
        for name, value in values.items()
    ])
    return values



def failure_summary(run_id: str, failed: Sequence[tuple[str, int, str]], *, retried: bool) -> str:
    """The last lines of a run with failed shards: their names, then each cause with the shards it stopped."""
    names = ", ".join(f"{lang}/{index}" for lang, index, _ in failed)
    by_cause: dict[str, list[str]] = {}
    for lang, index, cause in failed:
        by_cause.setdefault(cause, []).append(f"{lang}/{index}")
    lines = [f"run {run_id}: {len(failed)} shard(s) failed{' after retries' if retried else ''}: {names}; "
             "fix the cause below, then re-run the same command to resume them"]
    lines += [f"  {', '.join(shards)}: {cause}" for cause, shards in by_cause.items()]
    return "\n".join(lines)



def end_run(store: Store, run_id: str, status: str, reason: str) -> bool:
    """Mark a run that stopped early (``failed`` or ``interrupted``); never hides the original exception.
    Returns whether the mark was written."""
    try:
        store.finish_run(run_id, status, reason)
    except Exception:  # noqa: BLE001 - the store may be what failed; the caller re-raises the real cause
        log.debug("could not mark run %s %s", run_id, status, exc_info=True)
        return False
    return True



def start_run(store: Store, run_id: str, cfg: RunConfig) -> list[str]:
    """Register the run with its inputs; returns one line per input that changed since the last run of this
    configuration (the old run stays queryable). A run id reused over different inputs is refused: its finished
    shards were made from the old ones."""
    inputs = inputs_of(cfg)
    recorded = store.get_run_inputs(run_id) if store.path.exists() else {}
    if recorded:
        changed = changes_between(recorded, inputs.by_name())
        if changed:
            raise ConfigError(f"run {run_id!r} was made from other inputs ({'; '.join(changed)}); its finished "
                              "shards would be stale: leave out --run-id to start a new run, or pick a new one")
    notes = _changes_since_last_run(store, run_id, cfg, inputs)
    store.upsert_run(run_id, cfg.profile, cfg.model_dump(mode="json"), "running")
    store.put_run_inputs(run_id, [(i.name, i.kind, i.path, i.fingerprint) for i in inputs.items])
    return notes



def _changes_since_last_run(store: Store, run_id: str, cfg: RunConfig, inputs: RunInputs) -> list[str]:
    if not store.path.exists():
        return []
    store.migrate()
    rows = store.query("SELECT run_id FROM runs WHERE config = ? AND run_id <> ? ORDER BY created_at DESC LIMIT 1",
                       [json.dumps(cfg.model_dump(mode="json"), sort_keys=True), run_id])
    if not rows:
        return []
    changed = changes_between(store.get_run_inputs(rows[0][0]), inputs.by_name())
    return [f"{line}: new run {run_id} (run {rows[0][0]} stays queryable)" for line in changed]



def finish_run(store: Store, run_id: str, cfg: RunConfig, failed: bool, reason: str | None = None,
               reused: Sequence[tuple[str, int]] = ()) -> dict[str, dict[str, float]]:
    """Score every language whose shards changed since its metrics were written; mark the run done or failed
    (with ``reason``). ``reused``: shards served from a cache this time (their calls count as cache hits)."""
    store.mark_shards_reused(run_id, list(reused))
    stale = set(store.query(
        "SELECT s.lang FROM shards s LEFT JOIN (SELECT lang, min(created_at) AS scored FROM metrics "
        "WHERE run_id = ? GROUP BY lang) m USING (lang) WHERE s.run_id = ? "
        "GROUP BY s.lang, m.scored HAVING m.scored IS NULL OR max(s.updated_at) >= m.scored", [run_id, run_id]))
    stale_langs = {lang for (lang,) in stale}
    stored: dict[str, dict[str, float]] = {}
    for lang, metric, value in store.query("SELECT lang, metric, value FROM metrics WHERE run_id = ?", [run_id]):
        stored.setdefault(lang, {})[metric] = value
    scores = {}
    for lang in dict.fromkeys(cfg.data.languages):
        if lang in stale_langs:
            scores[lang] = score_run(store, run_id, lang, cfg.token_f1_protocol)
        else:
            scores[lang] = stored.get(lang, {})
    one = "; ".join(line.strip() for line in (reason or "shards failed").splitlines())
    store.finish_run(run_id, "failed" if failed else "done", one if failed else None)
    return scores



def load_run_config(db: str | Path, run_id: str) -> RunConfig:

    store = Store(db)
    require_run(store, run_id)
    rows = store.query("SELECT config FROM runs WHERE run_id = ?", [run_id])
    try:
        return RunConfig.model_validate(json.loads(rows[0][0]))
    except ValueError as exc:
        raise ConfigError(f"run {run_id!r}: its stored configuration no longer validates ({one_line(exc)}); "
                          "start a new run with `eat run`") from None

