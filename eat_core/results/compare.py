"""Methods side by side: runs of a DuckDB workspace beside the published rows, in the layout of EAT Table 4.

Three tables, all computed from what each run stored (``eat_core.results.tables.results_frame``):

* **F1**: token F1 per language and the average, under both conventions: ``eat-official`` (the official EAT
  scorer, the protocol of the paper's tables, so the only one to hold against the published rows) and ``token``
  (every tag at its true position; recommended for new comparisons), their difference, and each run's signatures;
* **failures**: per method, every reason an entity or sentence was lost (``align_not_found``, ``crop_overlap``,
  ...), per language; and every shard that failed, with the error it failed with (``ServiceUnavailable: ...``);
* **costs**: per method, LLM calls (answered from the cache + made), prompt and generated tokens, and wall seconds
  per sentence, as the computation that made the numbers recorded them (a cached re-run leaves them alone), with
  the shards a re-run reused beside them.

Contract, by example::

    cmp = compare_runs("eat.duckdb")     # every run; compare_runs(db, ["smoke-1a2b", "smoke-3c4d"]) for some
    cmp.f1_rows()        -> [{"label": "crop (smoke, tiny:qwen2)", "kind": "run", "lang": "zh",
                              "f1_eat_official": 12.5, "f1_token": 13.1, "f1_difference": 0.6, ...}, ...]
    comparison_markdown(cmp), comparison_text(cmp)    (eat_core.results.render)
    plot_comparison(cmp, "reports/compare.png")       (eat_core.results.plots)
    write_comparison("eat.duckdb", None, "reports/") -> (reports/compare.md, reports/compare.png)  (.files)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.errors import ConfigError, StoreError
from eat_core.results.published import Published, published_for
from eat_core.results.tables import results_frame
from eat_core.store import Store

FORMATS = ("table", "csv", "json")


@dataclass
class Comparison:
    """Runs of one workspace (their ``results_frame``) and the published rows, over the languages of the runs."""

    frame: object  # pandas.DataFrame: one row per run x language
    languages: list[str]
    runs: list[dict]  # run_id, label, method, model, profile, status, split, source, limit
    published: list[Published] = field(default_factory=list)

    # -- F1 ----------------------------------------------------------------------------------------------------

    def _values(self, run_id: str, column: str) -> dict[str, float]:
        f = self.frame
        part = f[(f["run_id"] == run_id) & f[column].notna()]
        return dict(zip(part["lang"], part[column].astype(float), strict=True))

    def f1_rows(self) -> list[dict]:
        """One row per (method row, language), then ``lang = "avg"`` (over the languages shown; only when the
        row has all of them). Published rows have only ``f1_eat_official``."""
        out = []
        for run in self.runs:
            f = self.frame[self.frame["run_id"] == run["run_id"]]
            # a run configured with another token_f1_protocol has no number under the paper's protocol
            official = set(f["token_f1_protocol"]) <= {"eat-official"}
            paper = self._values(run["run_id"], "token_f1") if official else {}
            true = self._values(run["run_id"], "token_f1_true")
            sigs = self.signatures(run["run_id"]) if official else {**self.signatures(run["run_id"]), "token_f1": {}}
            for lang in [*self.languages, "avg"]:
                p = _average(paper, self.languages) if lang == "avg" else paper.get(lang)
                t = _average(true, self.languages) if lang == "avg" else true.get(lang)
                out.append({"label": run["label"], "kind": "run", "method": run["method"], "run_id": run["run_id"],
                            "lang": lang, "f1_eat_official": p, "f1_token": t,
                            "f1_difference": None if p is None or t is None else t - p,
                            "signature_eat_official": sigs["token_f1"].get(lang),
                            "signature_token": sigs["token_f1_true"].get(lang)})
        for row in self.published:
            for lang in [*self.languages, "avg"]:
                value = _average(row.f1, self.languages) if lang == "avg" else row.f1.get(lang)
                out.append({"label": row.label, "kind": "published", "method": row.method, "run_id": None,
                            "lang": lang, "f1_eat_official": value, "f1_token": None, "f1_difference": None,
                            "signature_eat_official": f"published: {row.source}, official EAT scorer, WikiANN test",
                            "signature_token": None})
        return out

    def signatures(self, run_id: str) -> dict[str, dict[str, str]]:
        """``{"token_f1": {lang: signature}, "token_f1_true": {...}}`` of one run."""
        f = self.frame[self.frame["run_id"] == run_id]
        # a language without metrics (its shards failed) has no signature: None, or NaN once pandas mixed it
        return {m: {lang: sig for lang, sig in zip(f["lang"], f[f"{m}_signature"], strict=True)
                    if isinstance(sig, str) and sig}
                for m in ("token_f1", "token_f1_true")}

    # -- failures and costs --------------------------------------------------------------------------------------

    def failure_rows(self) -> list[dict]:
        """One row per (run, failure reason): the count in each language and in all, most frequent first."""
        out = []
        for run in self.runs:
            f = self.frame[self.frame["run_id"] == run["run_id"]]
            per_lang = {lang: Counter(json.loads(items)) for lang, items in zip(f["lang"], f["failures"],
                                                                              strict=True)}
            total = sum(per_lang.values(), Counter())
            for reason, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])):
                out.append({"label": run["label"], "method": run["method"], "run_id": run["run_id"],
                            "reason": reason, **{lang: per_lang.get(lang, Counter())[reason]
                                                 for lang in self.languages}, "total": n})
        return out

    def failed_shard_rows(self) -> list[dict]:
        """One row per (run, cause) of the shards that failed: the shards (``zh/0, ja/0``) and the error they
        failed with (``ServiceUnavailable: ...``), as each shard stored it."""
        out = []
        for run in self.runs:
            f = self.frame[self.frame["run_id"] == run["run_id"]]
            by_cause: dict[str, list[str]] = {}
            for lang, errors in zip(f["lang"], f["shard_errors"], strict=True):
                for index, cause in sorted(json.loads(errors).items(), key=lambda kv: int(kv[0])):
                    by_cause.setdefault(cause, []).append(f"{lang}/{index}")
            for cause, shards in by_cause.items():
                out.append({"label": run["label"], "method": run["method"], "run_id": run["run_id"],
                            "shards": shards, "cause": cause})
        return out

    def cost_rows(self) -> list[dict]:
        """One row per run: sums over its shards (every language) and per-sentence rates. The cost is the
        computation's that made the numbers (a cached re-run leaves it alone); ``shards_reused`` counts the finished
        shards a re-run served again, beside it."""
        out = []
        for run in self.runs:
            f = self.frame[self.frame["run_id"] == run["run_id"]]
            sentences = int(f["sentences"].sum())
            sums = {c: int(f[c].sum()) for c in ("llm_calls", "cache_hits", "cache_misses", "prompt_tokens",
                                                 "completion_tokens", "shards", "shards_done", "shards_failed",
                                                 "shards_reused")}
            seconds = float(f["seconds"].sum())
            out.append({"label": run["label"], "method": run["method"], "run_id": run["run_id"],
                        "sentences": sentences, **sums, "calls_per_sentence": _per(sums["llm_calls"], sentences),
                        "prompt_tokens_per_sentence": _per(sums["prompt_tokens"], sentences),
                        "completion_tokens_per_sentence": _per(sums["completion_tokens"], sentences),
                        "seconds": seconds, "s_per_sentence": _per(seconds, sentences)})
        return out

    def as_json(self) -> dict:
        return {"languages": self.languages, "runs": self.runs, "f1": self.f1_rows(),
                "failures": self.failure_rows(), "failed_shards": self.failed_shard_rows(), "costs": self.cost_rows()}


def _per(total: float, sentences: int) -> float | None:
    return total / sentences if sentences else None


def _average(values: dict[str, float], languages: Sequence[str]) -> float | None:
    if not languages or any(values.get(lang) is None for lang in languages):
        return None
    return sum(values[lang] for lang in languages) / len(languages)


def compare_runs(db: str | Path, run_ids: Sequence[str] | None = None) -> Comparison:
    """The runs ``run_ids`` of ``db`` (none: every run in the file, oldest first) beside the published rows.

    Unknown run ids raise ``ConfigError`` naming the most recent runs; a file without runs raises ``StoreError``.
    """
    frame = results_frame(db, list(run_ids) if run_ids else None)
    store = Store(db)
    ids = list(dict.fromkeys(run_ids)) if run_ids else store.list_runs()
    if not ids:
        raise StoreError(f"{db} holds no run yet")
    runs = []
    for run_id in ids:
        part = frame[frame["run_id"] == run_id]
        config = store.run_config(run_id)
        data = config.get("data") or {}
        method = str(part["method"].iloc[0]) if len(part) else (config.get("method") or {}).get("name", "eat")
        model = str(part["model"].iloc[0]) if len(part) else "?"
        profile = config.get("profile", "?")
        runs.append({"run_id": run_id, "label": f"{method} ({profile}, {model})", "method": method, "model": model,
                     "profile": profile, "split": data.get("split"), "source": data.get("source"),
                     "limit": data.get("limit"), "languages": list(data.get("languages") or []),
                     "status": (store.run_status(run_id) or ("?",))[0]})
    seen = Counter(r["label"] for r in runs)
    for r in runs:  # two runs of one method and model (other data, limit, ...) are told apart by their ids
        if seen[r["label"]] > 1:
            r["label"] += f" [{r['run_id']}]"
    languages = sorted(set(frame["lang"]))
    return Comparison(frame=frame, languages=languages, runs=runs, published=published_for(languages))


def check_format(value: str, allowed: Sequence[str] = FORMATS, option: str = "--format") -> str:
    if value not in allowed:
        raise ConfigError(f"{option}: unknown format {value!r}; use {', '.join(allowed)}")
    return value
