"""Results as text: the ``eat results`` table, the ``eat report`` Markdown and the comparison of runs (Markdown,
aligned text for a terminal, CSV). One number format (:func:`fmt`) and one Markdown table shape for all."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eat_core.results.compare import Comparison
from eat_core.results.published import PAPER_TABLE4
from eat_core.results.tables import inputs_line, method_and_model, results_rows, run_protocol
from eat_core.store import Store


def fmt(value, spec: str = ".2f", signed: bool = False) -> str:
    """A number as shown in every table: ``-`` for None or NaN, ``+`` before positive values when ``signed``."""
    if value is None or value != value:
        return "-"
    return format(value, ("+" if signed else "") + spec)


def md_cell(text) -> str:
    """A Markdown table cell: ``|`` escaped (GitHub and the Prefect UI end a cell at a bare ``|``, even inside
    backticks: a signature ``token_f1|average:micro`` showed as `` `token_f1 ``) and line breaks as spaces."""
    return str(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table: header, rule, rows; every cell through :func:`md_cell`."""
    return ["| " + " | ".join(map(md_cell, header)) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(map(md_cell, row)) + " |" for row in rows)]


# -- one run -----------------------------------------------------------------------------------------------------


def results_table(db: str | Path, run_id: str | None = None, causes: bool = True) -> str:
    """The ``eat results`` table: the run, the inputs it was made from, then one line per language.

    ``tokF1(paper)`` is ``token_f1`` under the paper's scorer (protocol ``eat-official``; the header names another
    protocol if the run was configured with one), ``tokF1(true)`` is ``token_f1_true`` (protocol ``token``);
    ``hit%`` and ``s/sent`` are of the computation that made the numbers, ``reused`` counts its finished shards a
    re-run served again. Each failed shard's cause follows the table (``causes``; ``eat run`` ends with them
    anyway).
    """
    run_id, rows = results_rows(db, run_id)
    store = Store(db)
    protocol = run_protocol(store, run_id)
    paper = "tokF1(paper)" if protocol == "eat-official" else f"tokF1({protocol})"
    header = (f"{'lang':<5} {paper:>12} {'tokF1(true)':>11} {'entF1':>6} {'BLEU':>6} {'L_e':>6} {'sent':>5} "
              f"{'shards':>7} {'reused':>6} {'hit%':>5} {'s/sent':>7}  failures")
    lines = [f"run {run_id}", inputs_line(store, run_id), header, "-" * len(header)]
    for r in rows:
        fails = ", ".join(f"{k}={v}" for k, v in list(r["failures"].items())[:4]) or "-"
        hit = fmt(None if r["cache_hit_rate"] is None else 100 * r["cache_hit_rate"], ".0f")
        lines.append(f"{r['lang']:<5} {fmt(r['token_f1']):>12} {fmt(r['token_f1_true']):>11} "
                     f"{fmt(r['entity_f1']):>6} {fmt(r['bleu']):>6} "
                     f"{fmt(r['entropy_loss'], '.3f'):>6} {r['sentences']:>5} {r['shards']:>7} "
                     f"{r['shards_reused']:>6} {hit:>5} "
                     f"{fmt(r['s_per_sentence'], '.3f'):>7}  {fails}")
    for lang, index, error in store.failed_shards(run_id) if causes else ():
        lines.append(f"{lang} shard {index} failed: {error or 'no error recorded'}")
    return "\n".join(lines)


def markdown_report(db: str | Path, run_id: str | None = None) -> tuple[str, list[dict]]:
    """A Markdown report: the run's status (and its failed shards with their causes), token F1 per language in the
    layout of EAT Table 4, then every metric per language, what it cost, and the metric signatures."""
    run_id, rows = results_rows(db, run_id)
    store = Store(db)
    status = store.run_status(run_id)
    profile, config = (status[1], store.run_config(run_id)) if status else ("?", {})
    method, _ = method_and_model(config)
    langs = [r["lang"] for r in rows]

    def row(name: str, values: list) -> list[str]:
        shown = [v for v in values if v is not None]
        avg = sum(shown) / len(shown) if shown and len(shown) == len(values) else None
        return [name, *(fmt(v) for v in values), fmt(avg)]

    llm, ext, data = config.get("llm", {}), config.get("extractor", {}), config.get("data", {})
    lines = [f"# EAT evaluation report: run `{run_id}` ({method})", "",
             f"Method `{method}`; profile `{profile}`; LLM `{llm.get('model', '?')}` (adapter `{llm.get('adapter')}`); "
             f"extractor `{ext.get('name')}` `{ext.get('model')}`; data `{data.get('source')}` split "
             f"`{data.get('split')}`.", "", f"Status: **{status[0] if status else '?'}**.", ""]
    failed = store.failed_shards(run_id)
    if failed:
        by_cause: dict[str, list[str]] = {}
        for lang, index, error in failed:
            by_cause.setdefault(error or "no error recorded", []).append(f"{lang}/{index}")
        lines += ["## Failed shards", "", f"{len(failed)} shard(s) failed; their sentences have no predictions, so "
                  "they are missing below. Fix the cause, then re-run the same command to resume them.", "",
                  *md_table(["shards", "cause"], [[", ".join(s), cause] for cause, s in by_cause.items()]), ""]
    table = [row(f"this run ({method}, {profile})", [r["token_f1"] for r in rows])]
    table += [row(name, [values.get(lang) for lang in langs]) for name, values in PAPER_TABLE4.items()]
    lines += ["## Token-level F1 (EAT Table 4 layout)", "",
              *md_table(["Method", *(lang.upper() for lang in langs), "Avg."], table),
              "", "Paper rows are on WikiANN test, scored by the official EAT scorer (protocol `eat-official`); this "
              f"run's token F1 uses protocol `{config.get('token_f1_protocol', '?')}`. The true-position protocol "
              "`token` (`token_f1_true`) differs from `eat-official` by up to 1.5 points on zh/ja (README, Metrics). "
              "Compare only runs on the same split and protocol.", "", "## All metrics", ""]
    metric_rows = []
    for r in rows:
        hit = None if r["cache_hit_rate"] is None else 100 * r["cache_hit_rate"]
        fails = ", ".join(f"{k}={v}" for k, v in r["failures"].items()) or "-"
        metric_rows.append([r["lang"], fmt(r["token_f1"]), fmt(r["entity_f1"]), fmt(r["bleu"]),
                            fmt(r["entropy_loss"], ".3f"), str(r["sentences"]), r["shards"], f"{fmt(hit, '.0f')}%",
                            fmt(r["s_per_sentence"], ".3f"), fails])
    lines += md_table(["lang", "token F1", "entity F1", "BLEU", "L_e", "sentences", "shards done", "cache hit",
                       "s/sentence", "failures"], metric_rows)
    signatures = store.metric_signatures(run_id)
    lines += ["", "## Metric signatures", ""] + [f"- `{m}`: `{s}`" for m, s in signatures]
    if not signatures:
        lines.append("- none: no language was scored")
    return "\n".join(lines) + "\n", rows


# -- runs side by side -------------------------------------------------------------------------------------------


def _sections(cmp: Comparison) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(title, note, header, rows) of every table, shared by the Markdown and the terminal renderings."""
    langs = [lang.upper() for lang in cmp.languages]
    by = {}
    for r in cmp.f1_rows():
        by.setdefault(r["label"], {})[r["lang"]] = r
    run_labels = [r["label"] for r in cmp.runs]
    keys = [*cmp.languages, "avg"]

    def f1_table(column: str, labels: list[str], signed: bool = False) -> list[list[str]]:
        return [[label, *(fmt(by[label][k][column], signed=signed) for k in keys)] for label in labels]

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
    shard_fails = cmp.failed_shard_rows()
    if shard_fails:  # first: where a reader of a failed run looks
        sections.insert(0, ("Failed shards",
                         "Shards that failed, with the error each one stored: their sentences have no predictions, "
                         "so their languages are missing above. Fix the cause, then re-run the same command to resume "
                         "them.", ["Method", "run", "shards", "cause"],
                         [[r["label"], r["run_id"], ", ".join(r["shards"]), r["cause"]] for r in shard_fails]))
    fails = [[r["label"], r["reason"], *(str(r[lang]) for lang in cmp.languages), str(r["total"])]
             for r in cmp.failure_rows()]
    none = "no prediction stored (see Failed shards)" if shard_fails and not fails else "no failure recorded"
    sections.append(("Failure reasons",
                     "Each entity or sentence a method lost, by reason (from the stored predictions' `failures`).",
                     ["Method", "reason", *langs, "total"], fails or [["-", none, *["-"] * len(langs), "0"]]))
    sections.append(("Costs", COSTS_NOTE, list(COSTS_HEADER), [cost_cells(r) for r in cmp.cost_rows()]))
    return sections


COSTS_NOTE = ("What computing each run's numbers cost, over all its shards: LLM calls (made + answered from the LLM "
              "cache while computing), the tokens of every call, wall seconds as measured when each shard was "
              "computed. A re-run that serves finished shards again leaves these as they were and is counted in "
              "'reused shards'.")
COSTS_HEADER = ("Method", "sentences", "shards done", "LLM calls", "calls/sent", "calls made", "from LLM cache",
                "prompt tok", "generated tok", "prompt tok/sent", "wall s", "s/sent", "reused shards")


def cost_cells(r: dict) -> list[str]:
    """One row of the costs table (:data:`COSTS_HEADER`) from a ``Comparison.cost_rows`` row."""
    return [r["label"], str(r["sentences"]), f"{r['shards_done']}/{r['shards']}", str(r["llm_calls"]),
            fmt(r["calls_per_sentence"]), str(r["cache_misses"]), str(r["cache_hits"]), str(r["prompt_tokens"]),
            str(r["completion_tokens"]), fmt(r["prompt_tokens_per_sentence"], ".0f"), fmt(r["seconds"], ".1f"),
            fmt(r["s_per_sentence"], ".3f"), str(r["shards_reused"])]


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
        lines += [f"## {heading}", "", note, "", *md_table(header, rows), ""]
    if png:
        lines += [f"![token F1 per language and method]({png})", ""]
    return "\n".join(lines)


_TEXT_COLUMNS = {"Method", "run", "protocol", "languages", "signature", "reason", "shards", "cause"}


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
