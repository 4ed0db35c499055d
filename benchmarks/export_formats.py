"""Size, write time and load time of each ``eat tag`` output format for 10,000 sentences.

The records are WikiANN-en dev sentences (gold tags standing in for predicted ones; tokens joined by spaces, offsets
into that text), written by the exporters ``eat tag`` uses: JSONL and CoNLL as the ordered writer streams them, then
``.hf`` (``datasets`` ``save_to_disk``), ``.parquet`` and ``.spacy`` (``DocBin``) from the staged records. Load time
is what a user's first read costs, cold in this process, measured two ways:

* open: the library's own loader (``load_from_disk``, ``load_dataset("parquet")`` with a fresh cache, ``DocBin``
  ``from_disk``; for JSONL/CoNLL reading the file);
* rows: open plus every sentence turned into Python tokens and labels (``get_docs`` for spaCy).

    python benchmarks/export_formats.py [--sentences 10000] [--data DIR]

Prints one line per format: ``format size_MB write_s open_s rows_s``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.paths import WIKIANN  # noqa: E402

from eat_core.data.wikiann import read_wikiann_file  # noqa: E402
from eat_core.tagging.export import OrderedWriter, entities_of  # noqa: E402


def rows_of(sentences) -> list[dict]:
    rows = []
    for i, s in enumerate(sentences):
        text, offsets, position = " ".join(s.tokens), [], 0
        for token in s.tokens:
            offsets.append([position, position + len(token)])
            position += len(token) + 1
        rows.append({"record_id": str(i), "text": text, "tokens": list(s.tokens), "offsets": offsets,
                     "tags": list(s.tags), "entities": entities_of(text, offsets, s.tags)})
    return rows


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def load(fmt: str, path: Path, cache: Path, rows: bool) -> int:
    """Read ``path`` as a user would; with ``rows``, every sentence's tokens and labels into Python."""
    if fmt == "jsonl":
        data = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return len(data)
    if fmt == "conll":
        blocks = [b for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
        if rows:
            blocks = [[line.split("\t") for line in b.splitlines()] for b in blocks]
        return len(blocks)
    if fmt in ("hf", "parquet"):
        import datasets

        datasets.disable_progress_bars()
        data = datasets.load_from_disk(str(path)) if fmt == "hf" else datasets.load_dataset(
            "parquet", data_files=str(path), split="train", cache_dir=str(cache))
        if rows:
            names = data.features["ner_tags"].feature.names
            got = [(r["tokens"], [names[i] for i in r["ner_tags"]]) for r in data]
            return len(got)
        return len(data)
    import spacy
    from spacy.tokens import DocBin

    docs = DocBin().from_disk(path)
    if rows:
        got = [([t.text for t in d], [t.ent_iob_ + "-" + t.ent_type_ if t.ent_type_ else "O" for t in d])
               for d in docs.get_docs(spacy.blank("xx").vocab)]
        return len(got)
    return len(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--data", default=str(WIKIANN))
    args = parser.parse_args()
    import datasets  # noqa: F401  (imported before timing: library import time is not load time)
    import spacy  # noqa: F401

    sentences, _ = read_wikiann_file(Path(args.data) / "en" / "dev.tsv", "en")
    rows = rows_of(sentences[: args.sentences])
    root = Path(tempfile.mkdtemp(prefix="eat-formats-"))
    try:
        print(f"{len(rows)} sentences, {sum(len(r['tokens']) for r in rows)} tokens, "
              f"{sum(len(r['entities']) for r in rows)} entities")
        for fmt, name in (("jsonl", "o.jsonl"), ("conll", "o.conll"), ("hf", "o.hf"), ("parquet", "o.parquet"),
                          ("spacy", "o.spacy")):
            out = root / name
            t0 = time.perf_counter()
            writer = OrderedWriter(out, lang="en")
            for start in range(0, len(rows), 64):
                writer.add(start // 64, rows[start:start + 64])
            writer.commit()
            write_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            n = load(fmt, out, root / f"cache-open-{fmt}", rows=False)
            open_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            m = load(fmt, out, root / f"cache-rows-{fmt}", rows=True)
            rows_s = time.perf_counter() - t0
            assert n == m == len(rows), (fmt, n, m)
            print(f"{fmt:8s} size_MB={size(out) / 1e6:7.2f} write_s={write_s:6.2f} open_s={open_s:6.2f} "
                  f"rows_s={rows_s:6.2f}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
