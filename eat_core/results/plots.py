"""Figures of results: one run (token F1, BLEU and entropy loss per language, EAT Figure 3's measures) and runs
side by side (token F1 per language and method under both protocols). Drawn with matplotlib's file-only backend: no
display is needed.

Readable at the size a page or the Prefect UI shows them (about 1000 pixels wide): one panel per measure, each with
its own axis; a value of 0.00 is drawn (a thick tick on the axis, labelled ``0``), a missing value is marked ``n/a``
(never an empty gap that reads as zero), a panel with nothing to draw says ``no data``, and the title names the
method. :func:`report_figure` and :func:`comparison_figure` return the figure (tests inspect it); the ``plot_*``
functions save it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from eat_core.results.compare import Comparison

WIDTH_IN = 10.0
DPI = 100
PANEL_HEIGHT_IN = 3.2
NO_DATA = "no data"
MISSING = "n/a"


def _pyplot():
    """``matplotlib.pyplot`` on the Agg backend (files only), imported when a figure is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (its folder made) and free it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    _pyplot().close(fig)
    return path


def figure_png(fig) -> bytes:
    """``fig`` as PNG bytes (freed afterwards): for an artifact that embeds it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    _pyplot().close(fig)
    return buffer.getvalue()


def _present(value) -> bool:
    return value is not None and value == value  # NaN is missing too


def draw_bars(ax, xs: Sequence[float], values: Sequence, width: float, **style) -> int:
    """Bars at ``xs``; a 0 gets a thick tick on the axis and a ``0`` label, a missing value an ``n/a`` note (both
    distinct from each other and from a short bar). Returns how many values were present."""
    heights = [float(v) if _present(v) else 0.0 for v in values]
    container = ax.bar(list(xs), heights, width, **style)
    color = container.patches[0].get_facecolor() if container.patches else "black"
    for x, value in zip(xs, values, strict=True):
        if not _present(value):
            ax.annotate(MISSING, (x, 0), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7, color="0.45", rotation=90)
        elif float(value) == 0.0:
            ax.plot([x - width / 2, x + width / 2], [0, 0], color=color, linewidth=3, solid_capstyle="butt",
                    clip_on=False, zorder=3)
            ax.annotate("0", (x, 0), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7, color=color)
    return sum(_present(v) for v in values)


def _finish_panel(ax, present: int, ylabel: str) -> None:
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(labelsize=9)
    if not present:
        ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", fontsize=12, color="0.4")
        ax.set_ylim(0, 1)
        ax.set_yticks([])
    else:
        low, high = ax.get_ylim()
        ax.set_ylim(min(0.0, low), max(high, 1.0) * 1.08)  # room for the 0 and n/a labels


def report_figure(rows: list[dict], title: str):
    """One run: token F1, BLEU and entropy loss (EAT Figure 3's measures) per language, one panel each with its
    own axis (no rescaling onto F1's range). ``rows``: ``results_rows`` dicts; ``title`` names the method."""
    plt = _pyplot()
    langs = [r["lang"].upper() for r in rows]
    measures = [("token F1 (%)", "token_f1", "tab:blue"), ("BLEU", "bleu", "tab:orange"),
                ("entropy loss L_e", "entropy_loss", "tab:green")]
    fig, axes = plt.subplots(1, len(measures), figsize=(WIDTH_IN, 3.6), dpi=DPI, layout="constrained")
    for ax, (label, key, color) in zip(axes, measures, strict=True):
        present = draw_bars(ax, range(len(langs)), [r[key] for r in rows], 0.6, color=color) if rows else 0
        ax.set_xticks(list(range(len(langs))), langs)
        ax.set_title(label, fontsize=10)
        _finish_panel(ax, present, label)
    fig.suptitle(title, fontsize=11)
    return fig


def plot_report(rows: list[dict], path: str | Path, title: str) -> Path:
    """:func:`report_figure` saved to ``path``."""
    return save_figure(report_figure(rows, title), path)


def comparison_figure(cmp: Comparison):
    """Runs side by side: token F1 per language (and Avg.) under the paper's protocol (with the published rows,
    hatched) and under true positions, one panel each with its own axis; the legend below names every row."""
    plt = _pyplot()
    keys = [*cmp.languages, "avg"]
    by: dict[str, dict[str, dict]] = {}
    for r in cmp.f1_rows():
        by.setdefault(r["label"], {})[r["lang"]] = r
    runs = [r["label"] for r in cmp.runs]
    published = [p.label for p in cmp.published]
    panels = [("token F1 (%), protocol eat-official (the paper's tables)", "f1_eat_official", runs + published),
              ("token F1 (%), protocol token (true positions)", "f1_token", runs)]
    n_labels = len(runs) + len(published)
    legend_in = 0.25 * ((n_labels + 2) // 3) + 0.3
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH_IN, PANEL_HEIGHT_IN * len(panels) + legend_in + 0.5),
                             dpi=DPI, layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    color_of = {label: colors[i % len(colors)] for i, label in enumerate(runs + published)}
    for ax, (title, column, labels) in zip(axes, panels, strict=True):
        width = 0.8 / max(1, len(labels))
        present = 0
        for i, label in enumerate(labels):
            hatched = label in published
            xs = [x + i * width - 0.4 + width / 2 for x in range(len(keys))]
            present += draw_bars(ax, xs, [by[label][k][column] for k in keys], width, label=label,
                                 color=color_of[label], hatch="//" if hatched else None,
                                 alpha=0.55 if hatched else 0.95)
        ax.set_xticks(list(range(len(keys))), [k.upper() if k != "avg" else "Avg." for k in keys])
        ax.set_title(title, fontsize=10)
        _finish_panel(ax, present, "token F1 (%)")
    methods = ", ".join(dict.fromkeys(r["method"] for r in cmp.runs)) or "no run"
    fig.suptitle(f"{methods}: token F1 per language, beside the published rows", fontsize=11)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncol=min(3, max(1, len(labels))))
    return fig


def plot_comparison(cmp: Comparison, path: str | Path) -> Path:
    """:func:`comparison_figure` saved to ``path``."""
    return save_figure(comparison_figure(cmp), path)
