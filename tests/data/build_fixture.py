"""Rebuild the real-data test fixture from the full shared files; see README.md beside this script.

    python tests/data/build_fixture.py [SHARED_DATA]   # default: $EAT_SHARED_DATA or ../shared/data

Sentences are copied byte for byte, in file order, from the dev splits (never a test split). It prints the
checksum table for README.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIRST = 40  # the first sentences of every dev file: the engine tests take their shards from the top of the file
FIRST_EN = 48  # the extractor-training test evaluates on the first 48 English dev sentences
HARD_EXTRA = 10  # zh and ja: this many later sentences with an orphan I- tag or a multi-character token
EN_TRAIN = 192  # the extractor-training test trains on the first 192 English train sentences
EACL_ZH = 60  # the fine-tuning tests use the first 60 official zh EACL pairs


def blocks(path: Path) -> list[str]:
    """Sentence blocks as raw text, each without its blank separator line."""
    return [b for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]


def tokens_and_tags(block: str) -> tuple[list[str], list[str]]:
    rows = [line.split("\t") for line in block.split("\n") if line]
    return [r[0] for r in rows], [r[-1] for r in rows]


def hard(block: str) -> bool:
    tokens, tags = tokens_and_tags(block)
    orphan = any(t.startswith("I-") and (i == 0 or tags[i - 1][2:] != t[2:]) for i, t in enumerate(tags))
    return len(tokens) < 40 and (orphan or any(len(t) != 1 for t in tokens))


def write(path: Path, chosen: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(b + "\n\n" for b in chosen), encoding="utf-8")


def main(shared: Path) -> None:
    out = HERE
    for lang_dir in sorted((shared / "wikiann").iterdir()):
        lang = lang_dir.name
        source = next(lang_dir.glob("dev.*"))
        sentences = blocks(source)
        chosen = sentences[: FIRST_EN if lang == "en" else FIRST]
        if lang in ("zh", "ja"):
            chosen += [b for b in sentences[FIRST:] if hard(b)][:HARD_EXTRA]
        write(out / "wikiann" / lang / source.name, chosen)
    write(out / "wikiann" / "en" / "train.tsv", blocks(shared / "wikiann" / "en" / "train.tsv")[:EN_TRAIN])
    pairs = json.loads((shared / "eacl-official" / "corpus_zh.json").read_text(encoding="utf-8"))[:EACL_ZH]
    eacl = out / "eacl-official"
    eacl.mkdir(exist_ok=True)
    (eacl / "corpus_zh.json").write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    (eacl / "LICENSE").write_bytes((shared / "eacl-official" / "LICENSE").read_bytes())
    print("| file | sha256 | sentences | tokens |\n|---|---|---|---|")
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.parent != out):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if path.suffix in (".tsv", ".txt"):
            counted = blocks(path)
            counts = f"{len(counted)} | {sum(len(tokens_and_tags(b)[0]) for b in counted)}"
        elif path.suffix == ".json":
            counts = f"{len(json.loads(path.read_text(encoding='utf-8')))} pairs | "
        else:
            counts = " | "
        print(f"| {path.relative_to(out).as_posix()} | {digest} | {counts} |")


if __name__ == "__main__":
    default = os.environ.get("EAT_SHARED_DATA", REPO.parent / "shared" / "data")
    main(Path(sys.argv[1] if len(sys.argv) > 1 else default))
