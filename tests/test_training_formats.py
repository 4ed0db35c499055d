"""Exports in the formats NER users train from, read back by the libraries themselves: ``datasets.load_from_disk``,
``load_dataset("parquet", ...)`` and spaCy's ``DocBin``, compared with the JSONL export (tokens, labels, character
offsets) for ``eat tag`` and with the TSV export for silver sets; atomic writes; one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import assert_user_error, run_cli
from support.fakes import ScriptedBackend, echo_script, register_backend

from eat_core.bio import spans_from_tags
from eat_core.data.training_formats import (
    LABELS,
    NerRecord,
    entity_spans,
    words_and_spaces,
    write_docbin,
    write_hf,
    write_parquet,
)
from eat_core.data.wikiann import load_wikiann_local
from eat_core.errors import ConfigError, DataError
from eat_core.tagging.export import OrderedWriter, entities_of, out_format

MT_ARGS = ["--method", "model-transfer", "--extractor", "token-classification", "--extractor-model", "tiny:bert-tc"]
LINES = ["普京访问了巴黎。", "", "  联合国 🇺🇳 在纽约  ", "Путин  посетил\tБерлин .",
         "Angela Merkel met Joe Biden in Washington ."]


def hand_records() -> list[NerRecord]:
    """Records with every kind of gap: none, one space, two spaces, a tab, leading and trailing space, no tokens."""
    def rec(i, text, words, tags):
        offsets, position = [], 0
        for w in words:
            start = text.index(w, position)
            offsets.append((start, start + len(w)))
            position = start + len(w)
        return NerRecord(str(i), tuple(words), tuple(tags), text, tuple(offsets))

    return [rec(0, "普京访问了巴黎。", list("普京访问了巴黎。"),
                ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O"]),
            rec(1, "  Angela  Merkel\tmet   Biden . ", ["Angela", "Merkel", "met", "Biden", "."],
                ["B-PER", "I-PER", "O", "B-PER", "O"]),
            rec(2, "   ", [], []),
            rec(3, "UN HQ", ["UN", "HQ"], ["B-ORG", "I-ORG"])]


def jsonl_view(record: NerRecord) -> dict:
    """What the JSONL export says of a record (``entities_of``, the JSONL writer's own function)."""
    return {"id": record.id, "text": record.text, "tokens": list(record.tokens),
            "entities": [(e["start"], e["end"], e["label"]) for e in entities_of(record.text, record.offsets,
                                                                                   record.tags)]}


def hf_view(row: dict, names) -> dict:
    tags = [names[i] for i in row["ner_tags"]]
    offsets = [tuple(o) for o in row["offsets"]]
    ents = [(offsets[s.start][0], offsets[s.end - 1][1], s.label) for s in spans_from_tags(tags)]
    for (start, end, label), span in zip(ents, row["spans"], strict=True):
        assert span == f"{label}: {row['text'][start:end]}"
    assert all(row["text"][a:b] == t for (a, b), t in zip(offsets, row["tokens"], strict=True))
    return {"id": row["id"], "text": row["text"], "tokens": row["tokens"], "entities": ents}


def doc_view(doc, id: str) -> dict:
    """A doc as the JSONL says it: ``id`` is its record's (docs are in record order; DocBin keeps no ids)."""
    tokens = [t.text for t in doc if not t.is_space]
    return {"id": id, "text": doc.text, "tokens": tokens,
            "entities": [(e.start_char, e.end_char, e.label_) for e in doc.ents]}


def read_docbin(path: Path) -> list:
    import spacy
    from spacy.tokens import DocBin

    return list(DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab))


def test_label_order_is_wikiann_on_the_hub():
    assert LABELS == ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")


def test_spacy_words_rebuild_the_text_exactly():
    for record in hand_records():
        words, spaces, index = words_and_spaces(record)
        assert "".join(w + (" " if s else "") for w, s in zip(words, spaces, strict=True)) == record.text
        assert [words[i] for i in index] == list(record.tokens)
        # a space after a word is that word's whitespace_; only what follows it is a whitespace word (spaCy's way)
        assert all(spaces[i - 1] for i, w in enumerate(words) if i and w.startswith(" ") and not words[i - 1].isspace())


def test_each_format_reads_back_as_the_jsonl_says(tmp_path):
    import datasets

    records = hand_records()
    expected = [jsonl_view(r) for r in records]
    write_hf({"": iter(records)}, "xx", tmp_path / "t.hf")
    write_parquet(iter(records), "xx", tmp_path / "t.parquet")
    write_docbin(iter(records), tmp_path / "t.spacy")
    disk = datasets.load_from_disk(str(tmp_path / "t.hf"))
    parquet = datasets.load_dataset("parquet", data_files=str(tmp_path / "t.parquet"), split="train",
                                    cache_dir=str(tmp_path / "cache"))
    for data in (disk, parquet):
        names = data.features["ner_tags"].feature.names
        assert names == list(LABELS)
        assert [hf_view(row, names) for row in data] == expected
        assert data[1]["langs"] == ["xx"] * 5
    docs = read_docbin(tmp_path / "t.spacy")
    assert [doc_view(d, r.id) for d, r in zip(docs, records, strict=True)] == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "t.hf", "t.parquet", "t.spacy"]  # no temp left


def test_a_failed_write_leaves_the_old_output_and_no_temporary_files(tmp_path):
    good = hand_records()
    write_hf({"": iter(good)}, "xx", tmp_path / "t.hf")
    write_parquet(iter(good), "xx", tmp_path / "t.parquet")
    bad = [*good, NerRecord("9", ("x",), ("B-MISC",), "x", ((0, 1),))]
    for write, out in ((lambda o: write_hf({"": iter(bad)}, "xx", o), tmp_path / "t.hf"),
                       (lambda o: write_parquet(iter(bad), "xx", o), tmp_path / "t.parquet")):
        with pytest.raises(DataError, match="B-MISC"):
            write(out)
    import datasets

    assert len(datasets.load_from_disk(str(tmp_path / "t.hf"))) == len(good)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.hf", "t.parquet"]


def test_the_writer_stages_records_and_abort_keeps_the_old_output(tmp_path):
    out = tmp_path / "o.parquet"
    write_parquet(iter(hand_records()[:1]), "xx", out)
    before = out.read_bytes()
    writer = OrderedWriter(out, lang="xx")
    writer.add(0, [{"record_id": "5", "text": "a b", "tokens": ["a", "b"], "offsets": [[0, 1], [2, 3]],
                    "tags": ["B-LOC", "O"], "entities": []}])
    writer.abort()
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["o.parquet"]


@pytest.mark.parametrize(("name", "fmt"), [("x.hf", "hf"), ("x.parquet", "parquet"), ("x.spacy", "spacy"),
                                           ("x.jsonl", "jsonl"), ("x.conll", "conll")])
def test_the_output_format_follows_the_output_name(name, fmt):
    assert out_format(name) == fmt


def test_spacy_output_without_spacy_is_one_line(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "spacy" else real(name, *a))
    with pytest.raises(ConfigError, match="pip install 'eat-ner\\[spacy\\]'"):
        out_format("x.spacy")
    corpus = tmp_path / "c.txt"
    corpus.write_text("a\n", encoding="utf-8")
    result = run_cli("tag", str(corpus), "--lang", "ru", "--out", str(tmp_path / "o.spacy"), "--db",
                     str(tmp_path / "d.duckdb"), *MT_ARGS, "--direct")
    assert_user_error(result, "--out", ".spacy DocBin needs spaCy")


@pytest.mark.slow
def test_eat_tag_writes_each_format_as_its_jsonl(tmp_path):
    import datasets

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    outs = {}
    for name in ("o.jsonl", "o.hf", "o.parquet", "o.spacy"):
        result = run_cli("tag", str(corpus), "--lang", "ru", "--out", str(tmp_path / name), "--db",
                         str(tmp_path / "d.duckdb"), *MT_ARGS, "--direct")
        assert result.returncode == 0, result.stderr[-2000:]
        outs[name] = tmp_path / name
    rows = [json.loads(line) for line in outs["o.jsonl"].read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == LINES and sum(len(r["entities"]) for r in rows) > 0
    expected = [{"id": r["id"], "text": r["text"],
                 "entities": [(e["start"], e["end"], e["label"]) for e in r["entities"]]} for r in rows]
    disk = datasets.load_from_disk(str(outs["o.hf"]))
    parquet = datasets.load_dataset("parquet", data_files=str(outs["o.parquet"]), split="train",
                                    cache_dir=str(tmp_path / "cache"))
    for data in (disk, parquet):
        got = [hf_view(row, data.features["ner_tags"].feature.names) for row in data]
        assert [{k: g[k] for k in ("id", "text", "entities")} for g in got] == expected
        assert data[2]["langs"] == ["ru"] * len(data[2]["tokens"])
    docs = [doc_view(d, r["id"]) for d, r in zip(read_docbin(outs["o.spacy"]), rows, strict=True)]
    assert [{k: d[k] for k in ("id", "text", "entities")} for d in docs] == expected
    assert [d["tokens"] for d in docs] == [row["tokens"] for row in disk]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial or temporary file left


@pytest.fixture
def echo_backend(monkeypatch) -> ScriptedBackend:
    """The scripted ``echo`` backend of tests/test_distill.py: German "translates" to itself, so sentences are kept."""
    return register_backend(monkeypatch, ScriptedBackend(echo_script(), name="echo", model="echo-1", tokens=5))


def test_silver_set_exports_read_back_as_its_tsv(tmp_path, echo_backend):
    import datasets

    from eat_core.distill.pipeline import silver_only

    request = {"lang": "de", "profile": "smoke", "db": str(tmp_path / "w.duckdb"), "out": str(tmp_path / "out"),
               "llm_backend": "echo", "export_formats": "hf,parquet,spacy"}
    out = tmp_path / "out"
    summary = silver_only(request, out, progress=lambda m: None)
    assert summary.kept > 0
    lang_dir = out / "de"
    disk = datasets.load_from_disk(str(lang_dir / "hf"))
    assert sorted(disk) == ["train", "validation"]
    for part, split in (("train", "train"), ("dev", "validation")):
        tsv, _ = load_wikiann_local(out, "de", part)
        expected = [(list(s.tokens), list(s.tags)) for s in tsv]
        names = disk[split].features["ner_tags"].feature.names
        assert [(r["tokens"], [names[i] for i in r["ner_tags"]]) for r in disk[split]] == expected
        parquet = datasets.load_dataset("parquet", data_files={split: str(lang_dir / f"{part}.parquet")},
                                        cache_dir=str(tmp_path / "cache"))[split]
        assert [(r["tokens"], [names[i] for i in r["ner_tags"]]) for r in parquet] == expected
        docs = read_docbin(lang_dir / f"{part}.spacy")
        assert [[t.text for t in d] for d in docs] == [tokens for tokens, _ in expected]
        for doc, (tokens, tags) in zip(docs, expected, strict=True):
            record = NerRecord.from_tokens("x", tokens, tags)
            assert doc.text == " ".join(tokens)
            assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == entity_spans(record)
    meta = json.loads((lang_dir / "silver.json").read_text(encoding="utf-8"))
    assert meta["formats"] == ["hf", "parquet", "spacy"]
    # the same set without extra formats: reused, and the other formats' files are gone with the export
    (lang_dir / "silver.json").unlink()
    again = silver_only({**request, "export_formats": ""}, out, progress=lambda m: None)
    assert again.silver_id == summary.silver_id
    assert sorted(p.name for p in lang_dir.iterdir()) == ["dev.tsv", "silver.json", "train.tsv"]


def test_bad_export_format_is_one_line(tmp_path):
    result = run_cli("silver", "--lang", "de", "--out", str(tmp_path / "s"), "--db", str(tmp_path / "w.duckdb"),
                     "--export-formats", "hf,xml")
    assert_user_error(result, "--export-formats", "'hf', 'parquet' or 'spacy'")
