"""Results tables read back from DuckDB (read-only, so they work beside a running evaluation)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from eat_core.errors import ConfigError
from eat_core.results.files import safe_file_stem
from eat_core.store import Store
from eat_core.store.lookups import latest_run, require_run

COLUMNS = ("token_f1", "token_f1_true", "entity_f1", "bleu", "entropy_loss")



def results_rows(db: str | Path, run_id: str | None = None) -> tuple[str, list[dict]]:
    store = Store(db)
    run_id = require_run(store, run_id) if run_id else latest_run(store)
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
    """The ``eat results`` table: the run, the inputs it was made from, then one line per language.

    ``tokF1(paper)`` is ``token_f1`` under the paper's scorer (protocol ``eat-official``; the header names another
    protocol if the run was configured with one), ``tokF1(true)`` is ``token_f1_true`` (protocol ``token``).
    """
    run_id, rows = results_rows(db, run_id)
    store = Store(db)
    protocol = run_protocol(store, run_id)
    paper = "tokF1(paper)" if protocol == "eat-official" else f"tokF1({protocol})"
    header = (f"{'lang':<5} {paper:>12} {'tokF1(true)':>11} {'entF1':>6} {'BLEU':>6} {'L_e':>6} {'sent':>5} "
              f"{'shards':>7} {'hit%':>5} {'s/sent':>7}  failures")
    lines = [f"run {run_id}", inputs_line(store, run_id), header, "-" * len(header)]
    for r in rows:
        fails = ", ".join(f"{k}={v}" for k, v in list(r["failures"].items())[:4]) or "-"
        hit = _fmt(None if r["cache_hit_rate"] is None else 100 * r["cache_hit_rate"], ".0f")
        lines.append(f"{r['lang']:<5} {_fmt(r['token_f1']):>12} {_fmt(r['token_f1_true']):>11} "
                     f"{_fmt(r['entity_f1']):>6} {_fmt(r['bleu']):>6} "
                     f"{_fmt(r['entropy_loss'], '.3f'):>6} {r['sentences']:>5} {r['shards']:>7} {hit:>5} "
                     f"{_fmt(r['s_per_sentence'], '.3f'):>7}  {fails}")
    return "\n".join(lines)



def run_config(store: Store, run_id: str) -> dict:
    """The stored configuration of a run as a dict (``{}`` if it is missing or unreadable)."""
    rows = store.query("SELECT config FROM runs WHERE run_id = ?", [run_id])
    try:
        return json.loads(rows[0][0]) if rows else {}
    except ValueError:
        return {}



def run_protocol(store: Store, run_id: str) -> str:
    """The protocol of a run's ``token_f1`` (``eat-official``, the paper's, unless the run was configured else)."""
    return run_config(store, run_id).get("token_f1_protocol", "eat-official")



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
    rows = store.query("SELECT name, fingerprint FROM run_inputs WHERE run_id = ?", [run_id])
    if not rows:
        return "inputs: not recorded (run made before inputs were fingerprinted)"
    rows = sorted(rows, key=lambda r: (_INPUT_ORDER.get(r[0], len(_INPUT_ORDER)), r[0]))
    return "inputs: " + " ".join(f"{name}={(fingerprint or '?')[:8]}" for name, fingerprint in rows)



FRAME_METRICS = ("token_f1", "token_f1_true", "entity_f1", "entity_precision", "entity_recall", "bleu",
                 "entropy_loss")



def _run_ids(store: Store, run_id: str | Sequence[str] | None) -> list[str]:
    if run_id is None:
        return [r[0] for r in store.query("SELECT run_id FROM runs ORDER BY created_at, run_id")]
    ids = [run_id] if isinstance(run_id, str) else list(run_id)
    return [require_run(store, r) for r in dict.fromkeys(ids)]



def results_frame(db: str | Path, run_id: str | Sequence[str] | None = None):
    """The results as a ``pandas.DataFrame``: one row per run x language, metrics and costs side by side.

    ``run_id``: one run id, a list of them, or ``None`` for every run in the file (oldest first). Unknown ids raise
    ``ConfigError`` naming the most recent runs. Columns: ``run_id, method, model, profile, status, lang``; the
    metrics ``token_f1`` (protocol ``token_f1_protocol``, ``eat-official`` = the paper's tables), ``token_f1_true``
    (true positions), ``token_f1_diff`` (true minus paper), ``entity_f1``, ``entity_precision``, ``entity_recall``,
    ``bleu``, ``entropy_loss`` (percent, NaN until scored); what it cost: ``sentences``, ``shards``,
    ``shards_done``, ``llm_calls`` (= ``cache_hits`` + ``cache_misses``, calls reused + made), ``prompt_tokens``,
    ``completion_tokens``, ``seconds``, ``s_per_sentence``, ``cache_hit_rate``; ``failures`` (JSON object
    reason -> count), ``n_failures``; and the signatures ``token_f1_signature``, ``token_f1_true_signature``.

        >>> from eat_core.results.report import results_frame
        >>> df = results_frame("eat.duckdb")
        >>> df.pivot(index=["method", "run_id"], columns="lang", values="token_f1")  # EAT Table 4 layout
    """
    import pandas as pd

    store = Store(db)
    rows = []
    for run in _run_ids(store, run_id):
        config = run_config(store, run)
        method, model = method_and_model(config)
        status = store.query("SELECT status, profile FROM runs WHERE run_id = ?", [run])
        metrics: dict[str, dict[str, tuple]] = {}
        for lang, metric, value, signature in store.query(
                "SELECT lang, metric, value, signature FROM metrics WHERE run_id = ?", [run]):
            metrics.setdefault(lang, {})[metric] = (value, signature)
        failures: dict[str, Counter] = {}
        for lang, items in store.query("SELECT lang, failures FROM predictions WHERE run_id = ?", [run]):
            failures.setdefault(lang, Counter()).update(json.loads(items or "[]"))
        shards = store.query(
            "SELECT lang, count(*), sum(CASE WHEN status = 'done' THEN 1 ELSE 0 END), sum(n_sentences), "
            "sum(coalesce(cache_hits, 0)), sum(coalesce(cache_misses, 0)), sum(coalesce(prompt_tokens, 0)), "
            "sum(coalesce(completion_tokens, 0)), sum(coalesce(seconds, 0)) FROM shards WHERE run_id = ? "
            "GROUP BY lang ORDER BY lang", [run])
        for lang, n_shards, n_done, n_sent, hits, misses, prompt, completion, seconds in shards:
            values = {m: metrics.get(lang, {}).get(m, (None, None)) for m in FRAME_METRICS}
            paper, true = values["token_f1"][0], values["token_f1_true"][0]
            calls = int(hits) + int(misses)
            fails = failures.get(lang, Counter())
            rows.append({
                "run_id": run, "method": method, "model": model, "profile": status[0][1], "status": status[0][0],
                "lang": lang, **{m: v for m, (v, _) in values.items()},
                "token_f1_diff": None if paper is None or true is None else true - paper,
                "token_f1_protocol": config.get("token_f1_protocol", "eat-official"),
                "sentences": int(n_sent or 0), "shards": int(n_shards), "shards_done": int(n_done),
                "llm_calls": calls, "cache_hits": int(hits), "cache_misses": int(misses),
                "prompt_tokens": int(prompt), "completion_tokens": int(completion), "seconds": float(seconds),
                "s_per_sentence": float(seconds) / n_sent if n_sent else None,
                "cache_hit_rate": int(hits) / calls if calls else None,
                "failures": json.dumps(dict(fails.most_common()), ensure_ascii=False),
                "n_failures": sum(fails.values()),
                "token_f1_signature": values["token_f1"][1], "token_f1_true_signature": values["token_f1_true"][1],
            })
    columns = ["run_id", "method", "model", "profile", "status", "lang", *FRAME_METRICS[:2], "token_f1_diff",
               *FRAME_METRICS[2:], "token_f1_protocol", "sentences", "shards", "shards_done", "llm_calls",
               "cache_hits", "cache_misses", "prompt_tokens", "completion_tokens", "seconds", "s_per_sentence",
               "cache_hit_rate", "failures", "n_failures", "token_f1_signature", "token_f1_true_signature"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in (*FRAME_METRICS, "token_f1_diff", "s_per_sentence", "cache_hit_rate"):
        frame[column] = frame[column].astype("float64")  # None -> NaN, so empty columns keep a numeric type
    return frame



RESULT_FORMATS = ("table", "csv", "json", "parquet")



def export_results(db: str | Path, run_id: str | None, fmt: str, out: str | Path | None = None) -> str:
    """``eat results --format``: the run's table (``table``) or its ``results_frame`` as CSV, JSON records or
    Parquet (written by DuckDB; needs ``out``). Returns the text to print: the export itself, or ``wrote FILE``."""
    if fmt not in RESULT_FORMATS:
        raise ConfigError(f"--format: unknown format {fmt!r}; use {', '.join(RESULT_FORMATS)}")
    path = Path(out) if out is not None else None
    if path is not None and path.is_dir():
        raise ConfigError(f"--out: {path} is a directory; give a file name")
    if fmt == "parquet" and path is None:
        raise ConfigError("--format parquet: give --out FILE (Parquet is binary, not for a terminal)")
    store = Store(db)
    run = require_run(store, run_id) if run_id else latest_run(store)
    if fmt == "table":
        text = results_table(db, run) + "\n"
    else:
        frame = results_frame(db, run)
        if fmt == "parquet":
            import duckdb

            path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect()  # in memory: the workspace file is only read
            try:
                con.register("results", frame)
                con.sql("SELECT * FROM results").write_parquet(str(path))
            finally:
                con.close()
            return f"wrote {path} ({len(frame)} rows)"
        text = frame.to_csv(index=False) if fmt == "csv" else frame.to_json(orient="records", force_ascii=False,
                                                                             indent=1) + "\n"
    if path is None:
        return text.rstrip("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return f"wrote {path}"



PAPER_TABLE4 = {
    "EAT w/o FT (paper)": {"ar": 66.53, "hi": 76.26, "hy": 65.62, "ja": 45.43, "ka": 71.63, "ko": 66.03, "ru": 71.45,
                           "zh": 60.12},
    "EAT (paper)": {"ar": 67.29, "hi": 75.46, "hy": 68.02, "ja": 52.26, "ka": 73.68, "ko": 65.23, "ru": 63.25,
                    "zh": 61.27},
    "DenKD (paper)": {"ar": 60.01, "hi": 69.76, "hy": 65.20, "ja": 37.90, "ka": 69.30, "ko": 62.51, "ru": 69.35,
                      "zh": 55.62},
}
"""Token-level F1 from EAT Table 4, for comparison rows in reports (test split, protocol eat-official)."""



def markdown_report(db: str | Path, run_id: str | None = None) -> tuple[str, list[dict]]:
    """A Markdown report: token F1 per language in the layout of EAT Table 4, then every metric per language."""
    run_id, rows = results_rows(db, run_id)
    store = Store(db)
    config_rows = store.query("SELECT profile, config FROM runs WHERE run_id = ?", [run_id])
    profile, config = (config_rows[0][0], json.loads(config_rows[0][1])) if config_rows else ("?", {})
    langs = [r["lang"] for r in rows]
    header = "| Method | " + " | ".join(lang.upper() for lang in langs) + " | Avg. |"
    rule = "|---|" + "---|" * (len(langs) + 1)

    def row(name: str, values: list) -> str:
        shown = [v for v in values if v is not None]
        avg = sum(shown) / len(shown) if shown and len(shown) == len(values) else None
        return f"| {name} | " + " | ".join(_fmt(v) for v in values) + f" | {_fmt(avg)} |"

    llm, ext, data = config.get("llm", {}), config.get("extractor", {}), config.get("data", {})
    lines = [f"# EAT evaluation report: run `{run_id}`", "",
             f"Profile `{profile}`; LLM `{llm.get('model', '?')}` (adapter `{llm.get('adapter')}`); extractor "
             f"`{ext.get('name')}` `{ext.get('model')}`; data `{data.get('source')}` split `{data.get('split')}`.", "",
             "## Token-level F1 (EAT Table 4 layout)", "", header, rule,
             row(f"this run ({profile})", [r["token_f1"] for r in rows])]
    for name, values in PAPER_TABLE4.items():
        lines.append(row(name, [values.get(lang) for lang in langs]))
    lines += ["", "Paper rows are on WikiANN test, scored by the official EAT scorer (protocol `eat-official`); this "
              f"run's token F1 uses protocol `{config.get('token_f1_protocol', '?')}`. The true-position protocol "
              "`token` (`token_f1_true`) differs from `eat-official` by up to 1.5 points on zh/ja (README, Metrics). "
              "Compare only runs on the same split and protocol.", "",
              "## All metrics", "", "| lang | token F1 | entity F1 | BLEU | L_e | sentences | shards | cache hit | "
              "s/sentence | failures |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        hit = None if r["cache_hit_rate"] is None else 100 * r["cache_hit_rate"]
        fails = ", ".join(f"{k}={v}" for k, v in r["failures"].items()) or "-"
        lines.append(f"| {r['lang']} | {_fmt(r['token_f1'])} | {_fmt(r['entity_f1'])} | {_fmt(r['bleu'])} | "
                     f"{_fmt(r['entropy_loss'], '.3f')} | {r['sentences']} | {r['shards']} | {_fmt(hit, '.0f')}% | "
                     f"{_fmt(r['s_per_sentence'], '.3f')} | {fails} |")
    signatures = store.query("SELECT DISTINCT metric, signature FROM metrics WHERE run_id = ? ORDER BY metric",
                             [run_id])
    lines += ["", "## Metric signatures", ""] + [f"- `{m}`: `{s}`" for m, s in signatures]
    return "\n".join(lines) + "\n", rows



def plot_report(rows: list[dict], path: str | Path, title: str) -> Path:
    """F1 against BLEU and entropy loss per language (EAT Figure 3: BLEU and L_e rescaled to F1's range)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = [r["lang"].upper() for r in rows]
    x = range(len(langs))
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(langs)), 3.6), dpi=120)
    series = [("token F1", [r["token_f1"] for r in rows], "o-"),
              ("BLEU x 5", [None if r["bleu"] is None else 5 * r["bleu"] for r in rows], "s--"),
              ("L_e x 100", [None if r["entropy_loss"] is None else 100 * r["entropy_loss"] for r in rows], "^:")]
    for label, values, style in series:
        ax.plot(list(x), [float("nan") if v is None else v for v in values], style, label=label)
    ax.set_xticks(list(x), langs)
    ax.set_ylabel("score")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path



def write_report(db: str | Path, run_id: str | None, out_dir: str | Path) -> tuple[Path, Path]:

    run = require_run(Store(db), run_id) if run_id else latest_run(Store(db))
    text, rows = markdown_report(db, run)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_file_stem(run)  # a stored run id never becomes a path outside ``out_dir``
    png, md = out / f"{stem}.png", out / f"{stem}.md"
    for path in (png, md):
        if path.resolve().parent != out.resolve():
            raise ConfigError(f"--out: refusing to write {path} outside {out}")
    plot_report(rows, png, f"run {run}: F1 vs BLEU and L_e")
    md.write_text(text + f"\n![F1, BLEU and L_e per language]({png.name})\n", encoding="utf-8")
    return md, png

