"""Figures of results: one run (F1 against BLEU and entropy loss, EAT Figure 3) and runs side by side (bars of
token F1 per language and method). Drawn with matplotlib's file-only backend: no display is needed."""

from __future__ import annotations

from pathlib import Path

from eat_core.results.compare import Comparison


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


def plot_report(rows: list[dict], path: str | Path, title: str) -> Path:
    """F1 against BLEU and entropy loss per language (EAT Figure 3: BLEU and L_e rescaled to F1's range)."""
    plt = _pyplot()

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
    return save_figure(fig, path)


def plot_comparison(cmp: Comparison, path: str | Path) -> Path:
    """Bars of token F1 per language (and Avg.) per method: eat-official with the published rows (hatched), and
    the true-position protocol for the runs."""
    plt = _pyplot()

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
    return save_figure(fig, path)
