"""The published numbers runs are held against: one registry of the EAT paper's rows (and those it cites).

Token-level micro F1 (percent) on the WikiANN test split, scored by the official EAT scorer (protocol
``eat-official``). ``eat compare`` and the flow's artifacts show every row of :data:`PUBLISHED` whose languages a
comparison covers; ``eat report`` shows the EAT Table 4 rows named in :data:`REPORT_ROWS`.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    Published("DenKD (published, EAT Table 4)", None, _T4,
              {"ar": 60.01, "hi": 69.76, "hy": 65.20, "ja": 37.90, "ka": 69.30, "ko": 62.51, "ru": 69.35, "zh": 55.62}),
    Published("EAT w/o FT (published, EAT Table 4)", "eat", _T4,
              {"ar": 66.53, "hi": 76.26, "hy": 65.62, "ja": 45.43, "ka": 71.63, "ko": 66.03, "ru": 71.45, "zh": 60.12}),
    Published("EAT (published, EAT Table 4)", "eat-ft", _T4,
              {"ar": 67.29, "hi": 75.46, "hy": 68.02, "ja": 52.26, "ka": 73.68, "ko": 65.23, "ru": 63.25, "zh": 61.27}),
    Published("GPT-4 (published, EAT Table 7)", "direct", _T7, {"ar": 60.60, "hi": 56.14, "ja": 34.44, "zh": 52.35}),
    Published("Qwen-14B-ICL (published, EAT Table 7)", "direct", _T7,
              {"ar": 45.71, "hi": 61.18, "ja": 41.95, "zh": 52.89}),
)
"""EAT paper (EMNLP 2025), WikiANN test split, token-level micro F1 by the official scorer (protocol
``eat-official``). mBERT is Table 4's model-transfer row, CROP its labelled-sequence-translation row (as cited by
EAT), DenKD the teacher-student state of the art; Table 7's GPT-4 and Qwen-14B-ICL prompt the LLM directly."""

REPORT_ROWS: tuple[tuple[str, str], ...] = (
    ("EAT w/o FT (paper)", "EAT w/o FT (published, EAT Table 4)"),
    ("EAT (paper)", "EAT (published, EAT Table 4)"),
    ("DenKD (paper)", "DenKD (published, EAT Table 4)"),
)
"""The rows of ``eat report``'s Table 4 layout, in order: (name shown there, label in :data:`PUBLISHED`)."""

_BY_LABEL = {p.label: p for p in PUBLISHED}
PAPER_TABLE4: dict[str, dict[str, float]] = {name: _BY_LABEL[label].f1 for name, label in REPORT_ROWS}
"""Token-level F1 from EAT Table 4 for the comparison rows of ``eat report`` (a view of :data:`PUBLISHED`)."""


def published_for(languages: list[str]) -> list[Published]:
    """The published rows with a number in at least one of ``languages``, in registry order."""
    return [p for p in PUBLISHED if any(lang in p.f1 for lang in languages)]
