"""Throughput of the batched EAT engine against a one-sentence-at-a-time loop (the official code's pattern).

Both paths run the same model on the same real WikiANN sentences with greedy decoding, and their outputs must be
identical (checked). The one-at-a-time loop sends 3 forward calls per sentence, 1 round-trip call and 3 calls per
entity, each alone, as the official EAT code does with HF ``generate``; the batched engine sends one request per
round for the whole shard.

    python benchmarks/dual_translation.py                       # tiny Qwen2 on CPU, 64-sentence shard
    python benchmarks/dual_translation.py --device cuda --size 14b --sentences 256 --skip-sequential

``--size 14b`` builds a randomly initialised model with the Qwen2.5-14B configuration (no download) and forces
fixed output lengths, so seconds per sentence are comparable with EAT Table 15 (5.85 s/sentence).
The extractor returns two fixed English entities per sentence so both paths do the same backward work.
Last line: ``ratio=<float>`` (batched sentences/s over one-at-a-time sentences/s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eat_core.config.run import EngineConfig  # noqa: E402
from eat_core.data import load_split  # noqa: E402
from eat_core.engine.translate import DualTranslator  # noqa: E402
from eat_core.types import EnglishEntity  # noqa: E402

QWEN25_14B = dict(hidden_size=5120, intermediate_size=13824, num_hidden_layers=48, num_attention_heads=40,
                  num_key_value_heads=8, vocab_size=152064, max_position_embeddings=32768, rope_theta=1e6)


class TwoEntities:
    def extract(self, english):
        return [[EnglishEntity("United Nations", "ORG"), EnglishEntity("Paris", "LOC")] for _ in english]


def build_model(size: str, device: str, root: Path) -> str:
    from eat_core.weights.tiny import build_tiny_qwen2

    if size == "tiny":
        return str(build_tiny_qwen2(root))
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tiny = build_tiny_qwen2(root)  # reuse its tokenizer and chat template; ids stay < its vocab
    path = root / f"qwen2-{size}-random"
    if not (path / "config.json").is_file():
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tiny)
        cfg = Qwen2Config(**QWEN25_14B, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        with torch.device("meta"):
            model = Qwen2ForCausalLM(cfg)
        model = model.to_empty(device=device).to(torch.bfloat16)
        for p in model.parameters():
            torch.nn.init.normal_(p, std=0.02)
        model.save_pretrained(path)
        tok.save_pretrained(path)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", choices=["tiny", "14b"], default="tiny")
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--languages", default="zh,ja,ar,ru,ko,hi,hy,ka")
    parser.add_argument("--reason-tokens", type=int, default=24)
    parser.add_argument("--answer-tokens", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-sequential", action="store_true", help="only time the batched engine")
    parser.add_argument("--root", type=Path, default=Path.home() / ".cache" / "eat-ner" / "bench")
    args = parser.parse_args()

    from eat_core.llm.transformers_backend import TransformersBackend

    langs = args.languages.split(",")
    per = -(-args.sentences // len(langs))
    sentences = [s for lang in langs for s in load_split("sample", lang, "dev")[:per]][: args.sentences]
    path = build_model(args.size, args.device, args.root)
    fixed = args.size != "tiny"
    engine_cfg = EngineConfig(max_new_tokens_reason=args.reason_tokens, max_new_tokens_answer=args.answer_tokens)
    dtype = "bfloat16" if args.device.startswith("cuda") else "float32"
    print(f"model={args.size} device={args.device} sentences={len(sentences)} languages={len(langs)} "
          f"tokens(reason/answer)={args.reason_tokens}/{args.answer_tokens} fixed_lengths={fixed}", flush=True)

    batched_backend = TransformersBackend(path, device=args.device, dtype=dtype, batch_size=args.batch_size)
    engine = DualTranslator(batched_backend, TwoEntities(), engine_cfg, fixed_lengths=fixed)
    engine.run(sentences[:2])  # warm-up
    t0 = time.perf_counter()
    batched = engine.run(sentences)
    t_batched = time.perf_counter() - t0
    print(f"batched:      {t_batched:8.2f} s  {len(sentences) / t_batched:8.2f} sentences/s  "
          f"{t_batched / len(sentences):.4f} s/sentence", flush=True)
    if args.skip_sequential:
        print(f"s_per_sentence={t_batched / len(sentences):.4f}")
        return

    single_backend = TransformersBackend(path, device=args.device, dtype=dtype, batch_size=1)
    single_backend.model = batched_backend.model  # same weights, no second copy
    one = DualTranslator(single_backend, TwoEntities(), engine_cfg, fixed_lengths=fixed)
    t0 = time.perf_counter()
    sequential = []
    for sentence in sentences:  # the official pattern: one sentence, and one entity, at a time
        sequential += one.run([sentence])
    t_seq = time.perf_counter() - t0
    print(f"one-at-a-time:{t_seq:8.2f} s  {len(sentences) / t_seq:8.2f} sentences/s  "
          f"{t_seq / len(sentences):.4f} s/sentence", flush=True)
    same = all(a.english == b.english and a.tags == b.tags and a.roundtrip == b.roundtrip
               and a.transcript.as_dict() == b.transcript.as_dict() for a, b in zip(batched, sequential, strict=True))
    print(f"identical_outputs={same}")
    if not same:
        sys.exit("outputs differ between batched and one-at-a-time generation")
    print(f"ratio={t_seq / t_batched:.2f}")


if __name__ == "__main__":
    main()
