"""Quality of the projection route's silver set on real WikiANN when the LLM is perfect: what parsing, tokenising,
projecting and filtering alone lose, without any LLM.

For every sentence of each language the "translation" is the target sentence itself with its gold entities wrapped
in numbered markers (numbered in a shuffled order, as an English source orders them differently; built as
``benchmarks/method_ceiling.py`` does for crop). It goes through the projection route's marker parser, tokeniser and
projection (``eat_core.distill.projection.project_answer``) and the route's filters, like a real answer; the kept
sentences are scored against gold with token F1 at true positions (protocol ``token``). The route tokenises the
translation itself, so its tokens are mapped back to WikiANN's by character offsets (a gold token takes the tag of
the silver token holding its first character); ``retokenised`` counts sentences whose tokens differ.

    python benchmarks/silver_ceiling.py [--data ../shared/data/wikiann] [--split dev] [--languages zh,ja]

One line per language, ``<lang> token_f1=<float> kept=<n>/<sentences> ...``, then ``min_token_f1=<float>``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from data_languages import chosen_languages, worst  # noqa: E402
from method_ceiling import marked_sentence  # noqa: E402

from eat_core.bio import spans_from_tags  # noqa: E402
from eat_core.data.wikiann import load_wikiann_local  # noqa: E402
from eat_core.distill.filters import Candidate, judge, projection_rule  # noqa: E402
from eat_core.distill.projection import clean_answer, project_answer, tokenise  # noqa: E402
from eat_core.methods.crop_projection import parse_markers  # noqa: E402
from eat_core.scoring.counts import micro  # noqa: E402
from eat_core.scoring.token_f1 import token_counts  # noqa: E402


def default_data() -> Path:
    shared = ROOT.parent / "shared" / "data" / "wikiann"
    return shared if shared.is_dir() else ROOT / "tests" / "data" / "wikiann"


def to_gold_tokens(tokens, lang: str, translation: str, silver_tags) -> list[str]:
    """The silver tags carried onto WikiANN's tokens by character offsets in the parsed translation (a gold token
    takes the tag of the silver token holding its first character; one the answer cleaning removed is ``O``)."""
    plain = parse_markers(clean_answer(translation, lang), 0)[0]
    owner = [-1] * len(plain)  # character -> silver entity index
    label = {}
    entity = -1
    for (a, b), tag in zip(tokenise(plain, lang), silver_tags, strict=True):
        if tag.startswith("B-"):
            entity += 1
            label[entity] = tag[2:]
        if tag != "O":
            for i in range(a, b):
                owner[i] = entity
    out, previous, cursor = [], -1, 0
    for token in tokens:
        start = plain.find(token, cursor)
        if start < 0:
            out.append("O")
            previous = -1
            continue
        cursor = start + len(token)
        e = owner[start]
        out.append("O" if e < 0 else (f"I-{label[e]}" if e == previous else f"B-{label[e]}"))
        previous = e
    return out


def run_language(data: Path, lang: str, split: str, seed: int) -> dict:
    sentences, _ = load_wikiann_local(data, lang, split, repair=True)
    rng = random.Random(seed)
    gold, pred, reasons = [], [], Counter()
    retokenised = 0
    for sentence in sentences:
        spans = spans_from_tags(sentence.tags)
        numbers = list(range(1, len(spans) + 1))
        rng.shuffle(numbers)
        translation = marked_sentence(list(sentence.tokens), lang, spans, numbers, rng, damage=False)
        labels = [spans[k].label for k in sorted(range(len(spans)), key=lambda k: numbers[k])]
        projection = project_answer(translation, labels, lang)
        keep, reason = judge(Candidate(sentence.id, projection.tokens, projection.tags or ("O",) *
                                       len(projection.tokens), len(labels), projection.failures),
                             projection_rule(128, None))
        if not keep:
            reasons[reason] += 1
            continue
        retokenised += projection.tokens != tuple(sentence.tokens)
        gold.append(sentence.tags)
        pred.append(to_gold_tokens(sentence.tokens, lang, translation, projection.tags))
    return {"token_f1": micro(token_counts(gold, pred, "token")).f1 if gold else 0.0, "kept": len(gold),
            "sentences": len(sentences), "reasons": reasons, "retokenised": retokenised}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--split", default="dev")
    parser.add_argument("--languages", default="", help="comma-separated; default: every language under --data but en")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    t0 = time.perf_counter()
    scores = []
    for lang in chosen_languages(args, exclude=("en",)):
        row = run_language(args.data, lang, args.split, args.seed)
        scores.append((lang, row["token_f1"]))
        dropped = ", ".join(f"{k}={v}" for k, v in row["reasons"].most_common(4)) or "-"
        print(f"{lang} token_f1={row['token_f1']:.2f} kept={row['kept']}/{row['sentences']} dropped=({dropped}) "
              f"retokenised={row['retokenised']}", flush=True)
    print(f"# data={args.data} split={args.split} protocol=token filters=projection(max_words=128) "
          f"{time.perf_counter() - t0:.1f}s")
    print(worst(scores))


if __name__ == "__main__":
    main()
