"""Methods side by side: runs of a DuckDB workspace beside the published rows, in the layout of EAT Table 4.

Three tables, all computed from what each run stored (``eat_core.results.report.results_frame``):

* **F1**: token F1 per language and the average, under both conventions: ``eat-official`` (the official EAT
  scorer, the protocol of the paper's tables, so the only one to hold against the published rows) and ``token``
  (every tag at its true position; recommended for new comparisons), their difference, and each run's signatures;
* **failures**: per method, every reason an entity or sentence was lost (``align_not_found``, ``crop_overlap``,
  ...), per language;
* **costs**: per method, LLM calls (answered from the cache + made), prompt and generated tokens, and wall seconds
  per sentence, as the run's shards recorded them.

Contract, by example::

    cmp = compare_runs("eat.duckdb")     # every run; compare_runs(db, ["smoke-1a2b", "smoke-3c4d"]) for some
    cmp.f1_rows()        -> [{"label": "crop (smoke, tiny:qwen2)", "kind": "run", "lang": "zh",
                              "f1_eat_official": 12.5, "f1_token": 13.1, "f1_difference": 0.6, ...}, ...]
    comparison_markdown(cmp), comparison_text(cmp), plot_comparison(cmp, "reports/compare.png")
    write_comparison("eat.duckdb", None, "reports/") -> (reports/compare.md, reports/compare.png)
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eat_core.errors import ConfigError, StoreError
from eat_core.results.report import PAPER_TABLE4, results_frame, run_config
from eat_core.store import Store


@dataclass(frozen=True)
class Published:
    """A row a paper published: token F1 (percent) per language, scored with the official EAT scorer."""

    label: str
    method: str | None  # our method that reproduces it, if any
    source: str
    f1: dict[str, float]


_T4 = "EAT Table 4"
_T7 = "EAT Table 7"
PUBLISHED: tuple[Published, ...] = (
    Published("mBERT (published, EAT Table 4)", "model-transfer", _T4,
              {"ar": 42.30, "hi": 64.79, "hy": 52.12, "ja": 29.82, "ka": 64.68, "ko": 57.38, "ru": 64.09, "zh": 43.85}),
    Published("CROP (published, EAT Table 4)", "crop", _T4,
              {"ar": 52.44, "hi": 55.55, "hy": 44.49, "ja": 45.37, "ka": 46.02, "ko": 48.93, "ru": 50.73, "zh": 45.33}),
    Published("DenKD (published, EAT Table 4)", None, _T4, PAPER_TABLE4["DenKD (paper)"]),
    Published("EAT w/o FT (published, EAT Table 4)", "eat", _T4, PAPER_TABLE4["EAT w/o FT (paper)"]),
    Published("EAT (published, EAT Table 4)", "eat-ft", _T4, PAPER_TABLE4["EAT (paper)"]),
    Published("GPT-4 (published, EAT Table 7)", "direct", _T7, {"ar": 60.60, "hi": 56.14, "ja": 34.44, "zh": 52.35}),
    Published("Qwen-14B-ICL (published, EAT Table 7)", "direct", _T7,
              {"ar": 45.71, "hi": 61.18, "ja": 41.95, "zh": 52.89}),
)
"""EAT paper (EMNLP 2025), WikiANN test split, token-level micro F1 by the official scorer (protocol
``eat-official``). mBERT is Table 4's model-transfer row, CROP its labelled-sequence-translation row (as cited by
EAT), DenKD the teacher-student state of the art; Table 7's GPT-4 and Qwen-14B-ICL prompt the LLM directly."""

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
        return {m: {lang: sig for lang, sig in zip(f["lang"], f[f"{m}_signature"], strict=True) if sig}
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

    def cost_rows(self) -> list[dict]:
        """One row per run: sums over its shards (every language) and per-sentence rates."""
        out = []
        for run in self.runs:
            f = self.frame[self.frame["run_id"] == run["run_id"]]
            sentences = int(f["sentences"].sum())
            sums = {c: int(f[c].sum()) for c in ("llm_calls", "cache_hits", "cache_misses", "prompt_tokens",
                                                 "completion_tokens")}
            seconds = float(f["seconds"].sum())
            out.append({"label": run["label"], "method": run["method"], "run_id": run["run_id"],
                        "sentences": sentences, **sums, "calls_per_sentence": _per(sums["llm_calls"], sentences),
                        "prompt_tokens_per_sentence": _per(sums["prompt_tokens"], sentences),
                        "completion_tokens_per_sentence": _per(sums["completion_tokens"], sentences),
                        "seconds": seconds, "s_per_sentence": _per(seconds, sentences)})
        return out

    def as_json(self) -> dict:
        return {"languages": self.languages, "runs": self.runs, "f1": self.f1_rows(),
                "failures": self.failure_rows(), "costs": self.cost_rows()}


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
    ids = list(dict.fromkeys(run_ids)) if run_ids else [r[0] for r in store.query(
        "SELECT run_id FROM runs ORDER BY created_at, run_id")]
    if not ids:
        raise StoreError(f"{db} holds no run yet")
    runs = []
    for run_id in ids:
        part = frame[frame["run_id"] == run_id]
        config = run_config(store, run_id)
        data = config.get("data") or {}
        method = str(part["method"].iloc[0]) if len(part) else (config.get("method") or {}).get("name", "eat")
        model = str(part["model"].iloc[0]) if len(part) else "?"
        profile = config.get("profile", "?")
        runs.append({"run_id": run_id, "label": f"{method} ({profile}, {model})", "method": method, "model": model,
                     "profile": profile, "split": data.get("split"), "source": data.get("source"),
                     "limit": data.get("limit"),
                     "status": (store.query("SELECT status FROM runs WHERE run_id = ?", [run_id]) or [("?",)])[0][0]})
    seen = Counter(r["label"] for r in runs)
    for r in runs:  # two runs of one method and model (other data, limit, ...) are told apart by their ids
        if seen[r["label"]] > 1:
            r["label"] += f" [{r['run_id']}]"
    languages = sorted(set(frame["lang"]))
    published = [p for p in PUBLISHED if any(lang in p.f1 for lang in languages)]
    return Comparison(frame=frame, languages=languages, runs=runs, published=published)


# -- rendering ---------------------------------------------------------------------------------------------------


def _fmt(value, spec: str = ".2f", signed: bool = False) -> str:
    if value is None or value != value:
        return "-"
    return format(value, ("+" if signed else "") + spec)


def _sections(cmp: Comparison) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(title, note, header, rows) of every table, shared by the Markdown and the terminal renderings."""
    langs = [lang.upper() for lang in cmp.languages]
    by = {}
    for r in cmp.f1_rows():
        by.setdefault(r["label"], {})[r["lang"]] = r
    run_labels = [r["label"] for r in cmp.runs]
    keys = [*cmp.languages, "avg"]

    def f1_table(column: str, labels: list[str], signed: bool = False) -> list[list[str]]:
        return [[label, *(_fmt(by[label][k][column], signed=signed) for k in keys)] for label in labels]

    sections = [
        ("Token F1, protocol eat-official (the paper's tables)",
         "The official EAT scorer's rules (entities rebuilt as strings, placed at their first occurrence): the "
         "protocol of EAT Tables 4 and 7, so the only one to hold against the published rows. Published rows: "
         "WikiANN test split; Avg. is over the languages shown.",
         ["Method", *langs, "Avg."], f1_table("f1_eat_official", run_labels + [p.label for p in cmp.published])),
        ("Token F1, protocol token (true positions, recommended)",
         "The same micro F1 with every tag at its true token position (`token_f1_true`); papers publish no rows "
         "under it.", ["Method", *langs, "Avg."], f1_table("f1_token", run_labels)),
        ("Difference: token minus eat-official (points)",
         "How much the paper's scorer moves each number (README, Metrics: up to about 1.5 points on zh/ja).",
         ["Method", *langs, "Avg."], f1_table("f1_difference", run_labels, signed=True)),
    ]
    sig_rows = []
    for run in cmp.runs:
        for metric, protocol in (("token_f1", "eat-official"), ("token_f1_true", "token")):
            groups: dict[str, list[str]] = {}
            for lang, sig in cmp.signatures(run["run_id"])[metric].items():
                groups.setdefault(sig, []).append(lang)
            for sig, group in groups.items():
                sig_rows.append([run["label"], run["run_id"], protocol, ",".join(group), f"`{sig}`"])
    sections.append(("Signatures", "The metric definition and library versions behind each number.",
                     ["Method", "run", "protocol", "languages", "signature"], sig_rows))
    fails = [[r["label"], r["reason"], *(str(r[lang]) for lang in cmp.languages), str(r["total"])]
             for r in cmp.failure_rows()]
    sections.append(("Failure reasons",
                     "Each entity or sentence a method lost, by reason (from the stored predictions' `failures`).",
                     ["Method", "reason", *langs, "total"], fails or [["-", "no failure recorded", *["-"] * len(langs),
                                                                       "0"]]))
    costs = [[r["label"], str(r["sentences"]), str(r["llm_calls"]), _fmt(r["calls_per_sentence"]),
              str(r["cache_hits"]), str(r["cache_misses"]), str(r["prompt_tokens"]), str(r["completion_tokens"]),
              _fmt(r["prompt_tokens_per_sentence"], ".0f"), _fmt(r["seconds"], ".1f"),
              _fmt(r["s_per_sentence"], ".3f")] for r in cmp.cost_rows()]
    sections.append(("Costs",
                     "What each run recorded over all its shards: LLM calls = answered from the cache + made "
                     "(a reused shard counts all its calls as cache hits); tokens of every call answered, fresh or "
                     "cached; wall seconds as measured when each shard was computed.",
                     ["Method", "sentences", "LLM calls", "calls/sent", "cache hits", "calls made", "prompt tok",
                      "generated tok", "prompt tok/sent", "wall s", "s/sent"], costs))
    return sections


def _runs_header(cmp: Comparison) -> list[str]:
    lines = []
    for r in cmp.runs:
        limit = f", first {r['limit']} sentences" if r["limit"] else ""
        lines.append(f"- **{r['label']}**: run `{r['run_id']}` ({r['status']}), data `{r['source']}` split "
                     f"`{r['split']}`{limit}")
    return lines


def comparison_markdown(cmp: Comparison, title: str = "Methods side by side", png: str | None = None,
                        preamble: Sequence[str] = ()) -> str:
    """The comparison as Markdown (sections: F1 under both protocols and their difference, signatures, failure
    reasons, costs); ``png``: a file name to embed; ``preamble``: lines after the title."""
    lines = [f"# {title}", "", *preamble, "Runs:", "", *_runs_header(cmp), "",
             "Compare numbers only across runs on the same split and protocol; the published rows are on WikiANN "
             "test.", ""]
    for heading, note, header, rows in _sections(cmp):
        lines += [f"## {heading}", "", note, "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header), *("| " + " | ".join(row) + " |" for row in rows), ""]
    if png:
        lines += [f"![token F1 per language and method]({png})", ""]
    return "\n".join(lines)


_TEXT_COLUMNS = {"Method", "run", "protocol", "languages", "signature", "reason"}


def comparison_text(cmp: Comparison) -> str:
    """The comparison as aligned plain-text tables for a terminal."""
    out = []
    for heading, _, header, rows in _sections(cmp):
        rows = [[cell.strip("`") for cell in row] for row in rows]
        widths = [max(len(x) for x in column) for column in zip(header, *rows, strict=True)]
        left = [h in _TEXT_COLUMNS for h in header]

        def line(cells: list[str], widths=widths, left=left) -> str:
            return "  ".join(c.ljust(w) if lft else c.rjust(w)
                             for c, w, lft in zip(cells, widths, left, strict=True)).rstrip()

        out += [heading, line(header), "-" * (sum(widths) + 2 * (len(widths) - 1)), *map(line, rows), ""]
    return "\n".join(out).rstrip() + "\n"


def comparison_csv(cmp: Comparison) -> str:
    """The F1 rows (both protocols, difference, signatures), one per method row and language, with the costs of
    each run (its totals) on every row of that run: one table, for spreadsheets."""
    import pandas as pd

    costs = {r["run_id"]: r for r in cmp.cost_rows()}
    rows = []
    for r in cmp.f1_rows():
        c = costs.get(r["run_id"], {})
        rows.append({**r, **{k: c.get(k) for k in ("llm_calls", "prompt_tokens", "completion_tokens",
                                                   "s_per_sentence")}})
    frame = pd.DataFrame(rows)
    for column in ("llm_calls", "prompt_tokens", "completion_tokens"):
        frame[column] = frame[column].astype("Int64")  # counts stay integers beside the published rows' blanks
    return frame.to_csv(index=False)


def plot_comparison(cmp: Comparison, path: str | Path) -> Path:
    """Bars of token F1 per language (and Avg.) per method: eat-official with the published rows (hatched), and
    the true-position protocol for the runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [*cmp.languages, "avg"]
    by: dict[str, dict[str, dict]] = {}
    for r in cmp.f1_rows():
        by.setdefault(r["label"], {})[r["lang"]] = r
    panels = [("eat-official (paper's tables)", "f1_eat_official", [r["label"] for r in cmp.runs]
               + [p.label for p in cmp.published]),
              ("token (true positions)", "f1_token", [r["label"] for r in cmp.runs])]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(keys) * 2), 4.2), dpi=120, sharey=True)
    published = {p.label for p in cmp.published}
    for ax, (title, column, labels) in zip(axes, panels, strict=True):
        width = 0.8 / max(1, len(labels))
        for i, label in enumerate(labels):
            values = [by[label][k][column] for k in keys]
            ax.bar([x + i * width - 0.4 + width / 2 for x in range(len(keys))],
                   [float("nan") if v is None else v for v in values], width, label=label,
                   hatch="//" if label in published else None, alpha=0.55 if label in published else 0.95)
        ax.set_xticks(list(range(len(keys))), [k.upper() if k != "avg" else "Avg." for k in keys])
        ax.set_title(f"token F1, {title}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("token F1 (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=min(3, len(labels)))
    fig.tight_layout(rect=(0, 0.08 + 0.035 * ((len(labels) + 2) // 3), 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def check_format(value: str, allowed: Sequence[str] = FORMATS, option: str = "--format") -> str:
    if value not in allowed:
        raise ConfigError(f"{option}: unknown format {value!r}; use {', '.join(allowed)}")
    return value


def _stem(run_ids: Sequence[str] | None) -> str:
    from eat_core.results.files import safe_file_stem

    if not run_ids:
        return "compare"
    joined = "compare-" + "-".join(dict.fromkeys(run_ids))
    if len(joined) <= 100:
        return safe_file_stem(joined)
    digest = hashlib.sha256("\n".join(run_ids).encode("utf-8")).hexdigest()[:10]
    return safe_file_stem(f"compare-{len(run_ids)}-runs-{digest}")


def write_comparison(db: str | Path, run_ids: Sequence[str] | None, out_dir: str | Path,
                     cmp: Comparison | None = None) -> tuple[Path, Path]:
    """``OUT/compare[-RUNS].md`` and ``.png``; names are made safe and never leave ``out_dir``."""
    cmp = cmp or compare_runs(db, run_ids)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} is a file; give a directory")
    out.mkdir(parents=True, exist_ok=True)
    stem = _stem(run_ids)
    md, png = out / f"{stem}.md", out / f"{stem}.png"
    for path in (md, png):
        if path.resolve().parent != out.resolve():
            raise ConfigError(f"--out: refusing to write {path} outside {out}")
    plot_comparison(cmp, png)
    md.write_text(comparison_markdown(cmp, png=png.name), encoding="utf-8")
    return md, png


# -- Prefect artifacts (built here, published by tasks/artifacts.py) ---------------------------------------------


def artifact_key(run_id: str, suffix: str = "") -> str:
    """A Prefect artifact key for a run: lowercase letters, digits and dashes only (``eat-results-smoke-1a2b``)."""
    import re

    base = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"eat-results-{run_id}".lower())).strip("-")
    key = f"{base[:90]}-{suffix}" if suffix else base[:100]
    return key.strip("-")


def run_artifacts(db: str | Path, run_id: str) -> dict:
    """What the flow publishes for one run: ``{"markdown": (key, text), "table": (key, rows)}``. The Markdown is the
    comparison of this run with the published rows, plus the inputs it was made from; the table is its
    ``results_frame`` (one row per language)."""
    from eat_core.results.report import inputs_line

    cmp = compare_runs(db, [run_id])
    text = comparison_markdown(cmp, title=f"EAT results: run `{run_id}`",
                               preamble=[f"`{inputs_line(Store(db), run_id)}`", ""])
    records = json.loads(cmp.frame.to_json(orient="records"))  # NaN -> null, numpy -> plain JSON types
    return {"markdown": (artifact_key(run_id), text), "table": (artifact_key(run_id, "table"), records)}
