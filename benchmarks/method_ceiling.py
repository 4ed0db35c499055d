"""Each competing method's answer parsing and matching, fed the answers a perfect LLM would give, on real WikiANN.

What is lost here is lost by the method's own parsing and matching, not by any LLM:

* ``crop``: the original sentence with the gold entities wrapped in numbered markers, numbered in a shuffled order
  (the English order differs from the target order), parsed and matched by ``CropMethod.project`` (CROP's rule, or
  the EAT aligner with ``--crop-matcher eat``);
* ``direct`` / ``fusion``: the gold entities as ``TYPE: entity`` lines in a shuffled order, parsed by
  ``parse_entities`` and placed by the EAT aligner (the two methods share this path; their prompts differ).

``--damage`` (``--damage markers``) adds the faults real answers carry: for ``crop`` one marker dropped, one closing
marker missing, one marker moved by a token, full-width brackets (each with probability 0.1 per sentence); for the
others an explanation line, quotes, bold labels, ``(TYPE)``-last lines and a trailing full stop. ``--damage answer``
damages the *answer* around intact markers instead (``crop``; for the others it is ``--damage``): half of the
translations are wrapped in quotes, ``«»`` or bold, given a trailing full stop (inside a last closing marker
half the time), one marked phrase in bold or quotes, an introduction line
(``Here is the translation:``, ``Translation:``) or a trailing explanation (a note line, which may name a marker, or a
parenthetical), one to three of these each.

    python benchmarks/method_ceiling.py --method crop --data ../shared/data/wikiann --split dev [--damage [answer]]

Every language directory under ``--data`` with the split is run unless ``--languages`` names some. One line per
language, ``<lang> token_f1=<float> lost=<int>/<entities>``, then ``min_token_f1=<float> (<lang>); worst5: ...``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eat_core.bio import spans_from_tags  # noqa: E402
from eat_core.config.run import EngineConfig  # noqa: E402
from eat_core.data.wikiann import load_wikiann_local  # noqa: E402
from eat_core.engine.align import place_entities, tags_from_placements  # noqa: E402
from eat_core.languages import join_tokens  # noqa: E402
from eat_core.methods.answers import parse_entities  # noqa: E402
from eat_core.scoring.counts import micro  # noqa: E402
from eat_core.scoring.token_f1 import token_counts
from eat_core.types import EnglishEntity  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_languages import chosen_languages, worst  # noqa: E402


def marked_sentence(tokens, lang, spans, numbers, rng, damage: bool) -> str:
    """The original sentence with span k wrapped as <numbers[k]>...</numbers[k]> (and, with damage, faults)."""
    starts = {s.start for s in spans}
    opens: dict[int, list[int]] = {}
    closes: dict[int, list[int]] = {}
    dropped = missing_close = moved = None
    if damage and spans:
        dropped = rng.randrange(len(spans)) if rng.random() < 0.1 else None
        missing_close = rng.randrange(len(spans)) if rng.random() < 0.1 else None
        moved = rng.randrange(len(spans)) if rng.random() < 0.1 else None
    for k, span in enumerate(spans):
        if k == dropped:
            continue
        opens.setdefault(span.start, []).append(k)
        last = span.end - 1
        if k == moved and span.end < len(tokens) and span.end not in starts:
            last += 1  # the closing marker one token too late
        if k != missing_close:
            closes.setdefault(last, []).append(k)
    pieces = []
    for i, token in enumerate(tokens):
        pieces.append("".join(f"<{numbers[k]}>" for k in opens.get(i, [])) + token
                      + "".join(f"</{numbers[k]}>" for k in closes.get(i, [])))
    text = join_tokens(pieces, lang)
    if damage and rng.random() < 0.1:
        text = text.replace("<", "＜").replace(">", "＞")
    return text


_WRAPS = ('"{}"', "«{}»", "“{}”", "**{}**", "`{}`")
_INTROS = ("Here is the translation:\n", "Translation:\n", "Translation: ",
           "Sure! Here is the sentence with the markers kept:\n\n")
_NOTES = ("\n\nNote: I kept the numbered markers around the same entities.",
          " (The markers are kept as in the English sentence.)",
          "\n\nExplanation: the text inside <{n}>...</{n}> is a name, kept as in the English.",
          "\nNote: <{n}> marks the same entity as in the English.")


def damaged_answer(text: str, count: int, rng) -> str:
    """The marked translation as a chatty model returns it: quoted, a full stop, an intro, an explanation."""
    if rng.random() >= 0.5:
        return text
    faults = rng.sample(("wrap", "stop", "intro", "note", "inner"), rng.randint(1, 3))
    if "inner" in faults:  # one marked phrase in bold or quotes, inside its markers
        text = re.sub(r"(<\d+>)(.*?)(</\d+>)", lambda m: m.group(1) + rng.choice(('**{}**', '"{}"', "“{}”")).format(
            m.group(2)) + m.group(3), text, count=1)
    if "stop" in faults:  # a full stop after the answer, inside a closing marker that ends it (`<2>Paris.</2>`)
        closing = re.search(r"</\d+>$", text)
        text = text[: closing.start()] + "." + closing.group(0) if closing and rng.random() < 0.5 else text + "."
    if "wrap" in faults:
        text = rng.choice(_WRAPS).format(text)
    if "intro" in faults:
        text = rng.choice(_INTROS) + text
    if "note" in faults:
        text += rng.choice(_NOTES).format(n=rng.randint(1, max(count, 1)))
    return text


def answer_lines(entities, rng, damage: bool) -> str:
    lines = []
    for label, text in entities:
        if damage:
            style = rng.randrange(5)
            line = [f'{label}: "{text}"', f"- **{label}**: {text}", f"{text} ({label})", f"{label}: {text}.",
                    f"{label}: {text}"][style]
        else:
            line = f"{label}: {text}"
        lines.append(line)
    if damage and rng.random() < 0.5:
        lines.insert(0, "Here are the named entities I found in the sentence:")
    return "\n".join(lines)


def run_language(method: str, data: Path, lang: str, split: str, seed: int, damage: str | None,
                 matcher: str) -> dict:
    from eat_core.engine.translate import DualTranslator
    from eat_core.methods.crop import CropMethod

    sentences, _ = load_wikiann_local(data, lang, split, repair=True)
    rng = random.Random(seed)
    crop = CropMethod(DualTranslator(None, None, EngineConfig()), matcher)
    gold, pred = [], []
    lost: Counter = Counter()
    total = 0
    for sentence in sentences:
        spans = spans_from_tags(sentence.tags)
        total += len(spans)
        if method == "crop":
            numbers = list(range(1, len(spans) + 1))
            rng.shuffle(numbers)
            translation = marked_sentence(list(sentence.tokens), lang, spans, numbers, rng, damage == "markers")
            if damage == "answer":
                translation = damaged_answer(translation, len(spans), rng)
            by_number = sorted(range(len(spans)), key=lambda k: numbers[k])
            entities = [EnglishEntity(f"entity-{numbers[k]}", spans[k].label) for k in by_number]
            placements = crop.project(sentence, entities, translation)
        else:
            order = list(range(len(spans)))
            rng.shuffle(order)
            surfaces = [(spans[k].label, join_tokens(sentence.tokens[spans[k].start : spans[k].end], lang))
                        for k in order]
            parsed = parse_entities(answer_lines(surfaces, rng, damage is not None))
            placements = place_entities(sentence.tokens, lang,
                                        [(EnglishEntity(text, label), text) for label, text in parsed.entities])
            lost["not_parsed"] += max(0, len(spans) - len(parsed.entities))
        lost.update(p.reason for p in placements if p.reason)
        gold.append(sentence.tags)
        pred.append(tags_from_placements(placements, len(sentence.tokens)))
    return {"token_f1": micro(token_counts(gold, pred, "token")).f1, "lost": lost, "entities": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=("crop", "direct", "fusion"), required=True)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/wikiann"))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--languages", default="", help="comma-separated; default: every language under --data")
    parser.add_argument("--damage", nargs="?", const="markers", choices=("markers", "answer"), default=None,
                        help="add the faults real LLM answers carry: crop's markers (the default when given alone) "
                             "or the answer around intact markers (quotes, full stop, intro, explanation)")
    parser.add_argument("--crop-matcher", choices=("crop", "eat"), default="crop")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.method != "crop" and args.damage:
        args.damage = "answer"  # direct/fusion answers have no markers: either spelling damages the answer lines
    t0 = time.perf_counter()
    scores = []
    for lang in chosen_languages(args):
        row = run_language(args.method, args.data, lang, args.split, args.seed, args.damage, args.crop_matcher)
        scores.append((lang, row["token_f1"]))
        reasons = ", ".join(f"{k}={v}" for k, v in row["lost"].most_common(4)) or "-"
        print(f"{lang} token_f1={row['token_f1']:.2f} lost={sum(row['lost'].values())}/{row['entities']} "
              f"({reasons})", flush=True)
    print(f"# method={args.method} damage={args.damage} crop_matcher={args.crop_matcher} split={args.split} "
          f"protocol=token {time.perf_counter() - t0:.1f}s")
    print(worst(scores))


if __name__ == "__main__":
    main()
