"""Sentences per second of a distilled student against the EAT teacher, on the same sentences and machine.

The smoke profile (tiny models, CPU): the teacher is EAT with the tiny Qwen2 (3 MrCoT rounds each way, the heuristic
extractor, the round trip; no LLM cache, so every call is computed) and the student is the tiny BERT token classifier
``eat distill`` trains in that profile (``--student DIR`` to time a trained one; its speed does not depend on its
weights). Models are loaded and warmed up before timing; the student is timed over several passes.

    python benchmarks/student_speed.py [--languages zh,ru,de] [--student DIR] [--threads 2]

Prints one line per side, then ``speedup=<float>`` (student sentences/s over teacher sentences/s). The smoke profile
caps answers at 10-12 new tokens, so a real teacher (Qwen2.5-14B, full answers) is slower still than measured here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eat_core.config.run import get_profile  # noqa: E402
from eat_core.data import SAMPLE_DIR  # noqa: E402
from eat_core.data.wikiann import load_wikiann_local  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="zh,ru,de")
    parser.add_argument("--student", default="tiny:bert-tc")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passes", type=int, default=20, help="student passes over the sentences")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from eat_core.extractors import load_extractor
    from eat_core.extractors.token_classification import TokenClassificationExtractor
    from eat_core.llm import load_backend
    from eat_core.methods.eat import translator_for
    from eat_core.methods.model_transfer import iob2_from_labels

    cfg = get_profile("smoke")
    sentences = [s for lang in args.languages.split(",") for s in load_wikiann_local(SAMPLE_DIR, lang, "dev")[0]]
    engine = translator_for(cfg, load_backend(cfg.llm), load_extractor(cfg.extractor))
    student = TokenClassificationExtractor(args.student, batch_size=32, device="cpu")
    engine.run(sentences[:2])  # warm-up: first-call overheads out of the timing
    student.word_labels([list(s.tokens) for s in sentences[:2]])

    t0 = time.perf_counter()
    engine.run(sentences)
    teacher_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.passes):
        tags = [iob2_from_labels(labels) for labels in student.word_labels([list(s.tokens) for s in sentences])]
    student_s = (time.perf_counter() - t0) / args.passes
    assert len(tags) == len(sentences)
    teacher_rate, student_rate = len(sentences) / teacher_s, len(sentences) / student_s
    print(f"# {len(sentences)} sentences ({args.languages}), smoke profile, CPU, {args.threads} threads")
    print(f"teacher eat (tiny Qwen2, rounds={cfg.engine.rounds}, no cache): {teacher_rate:.2f} sentences/s "
          f"({teacher_s:.2f} s)")
    print(f"student {args.student}: {student_rate:.1f} sentences/s ({student_s * 1000:.1f} ms per pass)")
    print(f"speedup={student_rate / teacher_rate:.1f}")


if __name__ == "__main__":
    main()
