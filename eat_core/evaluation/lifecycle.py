"""A run's life in the store: started (with its inputs), finished and scored, failed or interrupted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
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
    rows = store.prediction_rows(run_id, lang)
    if not rows:
        return {}
    tokens, gold, pred, roundtrips = (list(column) for column in zip(*rows, strict=True))
    originals = [join_tokens(t, lang) for t in tokens]
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


@dataclass(frozen=True)
class RunKind:
    """What differs between the lifecycle of an evaluation run (``eat run``) and a tag run (``eat tag``)."""

    noun: str  # how the last lines name the run
    shard_prefix: str  # how a cause line names its shards ("de/0" for a run, "shard 3" for a tag run)
    finish: str  # the Store method that marks the run's end


EVAL_RUN = RunKind("run", "", "finish_run")
TAG_RUN = RunKind("tag run", "shard ", "finish_tag_run")


def failure_summary(run_id: str, failed: Sequence[tuple], *, retried: bool = False, kind: RunKind = EVAL_RUN,
                    one: bool = False) -> str:
    """The last lines of a run with failed shards: their names, then each cause with the shards it stopped.

    ``failed``: (lang, index, cause) of a run, (index, cause) of a tag run; ``one``: the lines joined into one
    (a run's status reason)."""
    by_cause: dict[str, list[str]] = {}
    names = []
    for *where, cause in failed:
        names.append("/".join(str(part) for part in where))
        by_cause.setdefault(cause, []).append(names[-1])
    lines = [f"{kind.noun} {run_id}: {len(failed)} shard(s) failed{' after retries' if retried else ''}: "
             f"{', '.join(names)}; fix the cause below, then re-run the same command to resume them"]
    lines += [f"  {kind.shard_prefix}{', '.join(shards)}: {cause}" for cause, shards in by_cause.items()]
    return "; ".join(line.strip() for line in lines) if one else "\n".join(lines)


def end_run(store: Store, run_id: str, status: str, reason: str, kind: RunKind = EVAL_RUN) -> bool:
    """Mark a run that stopped early (``failed`` or ``interrupted``); never hides the original exception.
    Returns whether the mark was written."""
    try:
        getattr(store, kind.finish)(run_id, status, reason)
    except Exception:  # noqa: BLE001 - the store may be what failed; the caller re-raises the real cause
        log.debug("could not mark %s %s %s", kind.noun, run_id, status, exc_info=True)
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
    last = store.last_run_with_config(cfg.model_dump(mode="json"), run_id)
    if last is None:
        return []
    changed = changes_between(store.get_run_inputs(last), inputs.by_name())
    return [f"{line}: new run {run_id} (run {last} stays queryable)" for line in changed]


def finish_run(store: Store, run_id: str, cfg: RunConfig, failed: bool, reason: str | None = None,
               reused: Sequence[tuple[str, int]] = ()) -> dict[str, dict[str, float]]:
    """Score every language whose shards changed since its metrics were written; mark the run done or failed
    (with ``reason``). ``reused``: shards served from a cache this time (their calls count as cache hits)."""
    store.mark_shards_reused(run_id, list(reused))
    stale_langs = store.stale_languages(run_id)
    stored = store.run_metrics(run_id)
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
    try:
        return RunConfig.model_validate(store.run_config_json(run_id))
    except ValueError as exc:
        raise ConfigError(f"run {run_id!r}: its stored configuration no longer validates ({one_line(exc)}); "
                          "start a new run with `eat run`") from None

