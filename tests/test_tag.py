"""`eat tag`: tokens and entities keep exact character offsets in every script, exports round-trip, tagging runs
through the method interface with DuckDB caching, resumes after SIGKILL with identical output, and bad input is one
line naming file and line (exit 2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eat_core.bio import spans_from_tags
from eat_core.data.limits import InputLimits
from eat_core.languages import BUNDLED_LANGUAGES, is_character_tokenised
from eat_core.store import Store
from eat_core.tagging.export import conll_block, entities_of, jsonl_line
from eat_core.tagging.readers import Source, iter_records
from eat_core.tagging.runner import tag_corpus
from eat_core.tagging.tokenize import tokenize

MT = {"method": "model-transfer", "extractor": "token-classification", "extractor_model": "tiny:bert-tc"}
MT_ARGS = ["--method", "model-transfer", "--extractor", "token-classification", "--extractor-model", "tiny:bert-tc"]

# -- tokenisation: literal cases in every script ------------------------------------------------------------------

CASES = [
    ("en", "Putin visited Paris.", ["Putin", "visited", "Paris", "."]),
    ("ru", "Путин посетил Париж (Франция).", ["Путин", "посетил", "Париж", "(", "Франция", ")", "."]),
    ("ar", "زار بوتين باريس، فرنسا.", ["زار", "بوتين", "باريس", "،", "فرنسا", "."]),
    ("ar", "مُحَمَّد", ["مُحَمَّد"]),  # harakat (combining marks) stay inside the word
    ("hi", "नरेंद्र मोदी ने दिल्ली।", ["नरेंद्र", "मोदी", "ने", "दिल्ली", "।"]),  # vowel signs and virama
    ("hy", "Երևան, Հայաստան", ["Երևան", ",", "Հայաստան"]),
    ("ka", "თბილისი საქართველო", ["თბილისი", "საქართველო"]),
    ("ko", "서울은 한국의 수도이다.", ["서울은", "한국의", "수도이다", "."]),
    ("zh", "普京 访问了巴黎。", ["普", "京", "访", "问", "了", "巴", "黎", "。"]),
    ("ja", "東京タワーへ", ["東", "京", "タ", "ワ", "ー", "へ"]),
    ("en", "Caf\u0065\u0301 👩\u200d💻 ok👍🏽", ["Cafe\u0301", "👩\u200d💻", "ok", "👍🏽"]),
    ("zh", "e\u0301中\u200b文", ["e\u0301", "中", "文"]),  # zero-width space separates, belongs to no token
    ("en", "  \t ", []),
]


@pytest.mark.parametrize(("lang", "text", "expected"), CASES, ids=[f"{c[0]}:{c[1][:12]}" for c in CASES])
def test_tokenize_keeps_words_marks_and_emoji_with_exact_offsets(lang, text, expected):
    toks = tokenize(text, lang)
    assert list(toks.tokens) == expected
    assert [text[s:e] for s, e in toks.offsets] == expected


# -- property: offsets slice the text, exports round-trip ---------------------------------------------------------

SCRIPTS = [
    (0x41, 0x7A), (0xC0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x531, 0x58F), (0x591, 0x5F4), (0x600, 0x6FF),
    (0x900, 0x97F), (0x10A0, 0x10FF), (0x1100, 0x11FF), (0xAC00, 0xAC40), (0x3040, 0x30FF), (0x4E00, 0x4E80),
    (0x300, 0x36F), (0xE01, 0xE5B), (0x1000, 0x109F), (0x1780, 0x17FF),  # Thai, Myanmar, Khmer
    (0x1F300, 0x1F64F), (0x1F3FB, 0x1F3FF), (0xFE00, 0xFE0F), (0x2000, 0x206F), (0x20, 0x40),
]
ALPHABET = st.one_of(*[st.characters(min_codepoint=a, max_codepoint=b) for a, b in SCRIPTS],
                     st.sampled_from([" ", "\t", "\u200d", "\u200c", "\u3000", "\u00a0", "。", "、", "«", "»"]))
TEXT = st.text(ALPHABET, max_size=60).map(lambda t: t.replace("\n", " ").replace("\r", " "))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, lang=st.sampled_from(sorted(BUNDLED_LANGUAGES) + ["th", "my", "km"]), data=st.data())
def test_offsets_slice_the_text_and_exports_round_trip_in_every_script(text, lang, data):
    toks = tokenize(text, lang)
    previous_end = 0
    for token, (start, end) in zip(toks.tokens, toks.offsets, strict=True):
        assert text[start:end] == token and token and not token.isspace()
        assert start >= previous_end
        previous_end = end
        assert not any(ch.isspace() for ch in token)
    if is_character_tokenised(lang):
        assert all(len(t.rstrip("\u200d\u200c")) >= 1 for t in toks.tokens)
    labels = data.draw(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-ORG"]),
                                min_size=len(toks.tokens), max_size=len(toks.tokens)))
    entities = entities_of(text, toks.offsets, labels)
    assert [text[e["start"]:e["end"]] for e in entities] == [e["text"] for e in entities]
    assert len(entities) == len(spans_from_tags(labels))
    row = {"record_id": "r", "text": text, "tokens": list(toks.tokens), "tags": labels, "entities": entities}
    line = json.loads(jsonl_line(row))
    assert line["text"] == text and all(text[e["start"]:e["end"]] == e["text"] for e in line["entities"])
    with tempfile.TemporaryDirectory() as tmp:
        # our JSONL export read back as input: the same text, tokens and offsets
        (Path(tmp) / "x.jsonl").write_text(jsonl_line(row), encoding="utf-8")
        back = [r for r, _, _ in iter_records(Source(str(Path(tmp) / "x.jsonl"), "jsonl", lang, limits=_NO_LIMITS))]
        assert back[0].text == text and back[0].tokens == toks.tokens and back[0].offsets == toks.offsets
        # our CoNLL export read back as input: the same tokens, and its tags give the same entity spans
        if toks.tokens:
            (Path(tmp) / "x.conll").write_text(conll_block(row), encoding="utf-8")
            back = [r for r, _, _ in iter_records(Source(str(Path(tmp) / "x.conll"), "conll", lang,
                                                         limits=_NO_LIMITS))]
            assert back[0].tokens == toks.tokens
            tags = [ln.split("\t")[1] for ln in conll_block(row).splitlines() if ln]
            assert spans_from_tags(tags) == spans_from_tags(labels)


_NO_LIMITS = InputLimits(10**6, 10**6, 10**7)


# -- end to end on the tiny models ---------------------------------------------------------------------------------

LINES = ["普京访问了巴黎。", "", "北京是中国的首都，东京是日本的首都。", "  联合国 🇺🇳 在纽约  ", "习近平会见了拜登",
         "上海 e\u0301 测试"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tag")
    text = root / "corpus.txt"
    text.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    jsonl = root / "corpus.jsonl"
    jsonl.write_text("\n".join([json.dumps({"id": "a", "text": LINES[0]}, ensure_ascii=False), "",
                                json.dumps({"id": 7, "tokens": ["北", "京", "大", "学"]}, ensure_ascii=False),
                                json.dumps({"text": LINES[2]}, ensure_ascii=False)]) + "\n", encoding="utf-8")
    return {"root": root, "text": text, "jsonl": jsonl}


@pytest.fixture(scope="module")
def fresh(corpus) -> Path:
    """The text corpus tagged once, uninterrupted, with the smoke profile's EAT (tiny Qwen2, heuristic extractor)."""
    out = corpus["root"] / "fresh.jsonl"
    result = tag_corpus({"input": str(corpus["text"]), "lang": "zh", "out": str(out),
                         "db": str(corpus["root"] / "fresh.duckdb"), "shard_size": 2})
    assert result.out == out and not result.failed_shards and result.computed_shards == 3
    return out


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_plain_text_tagged_with_eat_one_row_per_line_with_offsets_and_transcripts(corpus, fresh):
    rows = _rows(fresh)
    assert [r["text"] for r in rows] == LINES and [r["id"] for r in rows] == [str(i) for i in range(1, 7)]
    for r in rows:
        assert all(r["text"][e["start"]:e["end"]] == e["text"] for e in r["entities"])
    store = Store(corpus["root"] / "fresh.duckdb")
    (run_id, status, method, n), = store.query("SELECT tag_run_id, status, method, n_records FROM tag_runs")
    assert (status, method, n) == ("done", "eat", 6)
    preds = store.query("SELECT record_index, skipped, transcript FROM tag_predictions ORDER BY record_index")
    assert [p[1] for p in preds] == [None, "empty", None, None, None, None]
    assert all(json.loads(p[2])["forward"] for p in preds if p[1] is None)  # the LLM's chain of thought is kept
    assert store.query("SELECT count(*) FROM llm_cache")[0][0] > 0


def test_a_new_run_over_the_same_records_takes_every_llm_call_from_the_cache(corpus, fresh, tmp_path):
    # another shard size is another tag run (another configuration), but the same requests to the LLM
    db = tmp_path / "again.duckdb"
    import shutil

    shutil.copy(corpus["root"] / "fresh.duckdb", db)
    result = tag_corpus({"input": str(corpus["text"]), "lang": "zh", "out": str(tmp_path / "o.jsonl"),
                         "db": str(db), "shard_size": 3})
    assert result.computed_shards == 2
    hits, misses = Store(db).query("SELECT sum(cache_hits), sum(cache_misses) FROM tag_shards WHERE tag_run_id = ?",
                                   [result.run_id])[0]
    assert misses == 0 and hits > 0
    assert _rows(tmp_path / "o.jsonl") == _rows(fresh)


def test_jsonl_and_model_transfer_give_entities_that_slice_the_original_text(corpus, tmp_path):
    out = tmp_path / "tags.jsonl"
    result = tag_corpus({"input": str(corpus["jsonl"]), "lang": "zh", "out": str(out), "db": str(tmp_path / "d"),
                         **MT})
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["a", "7", "4"]  # blank JSONL lines are not records; id defaults to the line
    assert rows[1]["text"] == "北京大学"
    assert result.entities == sum(len(r["entities"]) for r in rows)
    for r in rows:
        assert all(r["text"][e["start"]:e["end"]] == e["text"] and e["label"] in ("PER", "ORG", "LOC")
                   for e in r["entities"])
    conll = tmp_path / "tags.conll"
    tag_corpus({"input": str(corpus["jsonl"]), "lang": "zh", "out": str(conll), "db": str(tmp_path / "d"), **MT})
    blocks = conll.read_text(encoding="utf-8").strip().split("\n\n")
    assert [len(b.splitlines()) for b in blocks] == [8, 4, 18]
    tags = [[line.split("\t")[1] for line in b.splitlines()] for b in blocks]
    assert [len(spans_from_tags(t)) for t in tags] == [len(r["entities"]) for r in rows]


def test_the_run_is_keyed_by_content_not_path_and_a_rerun_is_all_reused(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("Путин посетил Париж.\nМосква\n", encoding="utf-8")
    args = {"input": str(corpus), "lang": "ru", "out": str(tmp_path / "o.jsonl"), "db": str(tmp_path / "d"), **MT}
    first = tag_corpus(args)
    again = tag_corpus(args)
    assert again.run_id == first.run_id and again.skipped_shards == 1 and again.computed_shards == 0
    corpus.write_text("Путин посетил Берлин.\nМосква\n", encoding="utf-8")
    changed = tag_corpus(args)
    assert changed.run_id != first.run_id and changed.computed_shards == 1
    assert _rows(tmp_path / "o.jsonl")[0]["text"] == "Путин посетил Берлин."


def test_prefect_flow_path_gives_the_direct_output(corpus, tmp_path):
    direct = tmp_path / "direct.conll"
    tag_corpus({"input": str(corpus["text"]), "lang": "zh", "out": str(direct), "db": str(tmp_path / "a"), **MT})
    out = subprocess.run([sys.executable, "-m", "eat_cli", "tag", str(corpus["text"]), "--lang", "zh", "--out",
                          str(tmp_path / "flow.conll"), "--db", str(tmp_path / "b"), "--shard-size", "2", *MT_ARGS],
                         capture_output=True, text=True, cwd=REPO, timeout=300,
                         env={**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Flow run" in out.stderr and "tag run tag-" in out.stdout
    assert (tmp_path / "flow.conll").read_text(encoding="utf-8") == direct.read_text(encoding="utf-8")


def test_sigkill_mid_tag_then_resume_gives_the_uninterrupted_output(corpus, fresh, tmp_path):
    db, out = tmp_path / "k.duckdb", tmp_path / "k.jsonl"
    cmd = [sys.executable, "-m", "eat_cli", "tag", str(corpus["text"]), "--lang", "zh", "--out", str(out),
           "--db", str(db), "--shard-size", "2", "--direct"]
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        if line.startswith("[1/3]"):  # the first shard is stored: kill before the run can finish
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # OUT is never half written
    done = Store(db).query("SELECT count(*) FROM tag_shards WHERE status = 'done'")[0][0]
    assert 1 <= done < 3
    resumed = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{done} already done, {3 - done} to tag" in resumed.stderr
    assert out.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8")


def test_truncate_mode_tags_what_fits_of_a_100000_character_line(tmp_path):
    corpus = tmp_path / "long.txt"
    corpus.write_text("ok\n" + "слово " * 20_000 + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = tag_corpus({"input": str(corpus), "lang": "ru", "out": str(out), "db": str(tmp_path / "d"),
                         "overlong": "truncate", **MT})
    rows = _rows(out)
    assert len(rows) == 2 and rows[1]["text"] == "слово " * 20_000 and result.records == 2
    assert all(e["end"] <= 4000 for e in rows[1]["entities"])
    failures = Store(tmp_path / "d").query("SELECT failures FROM tag_predictions WHERE record_index = 1")[0][0]
    assert "sentence_truncated" in json.loads(failures)


# -- bad input: one line naming file and line, exit 2 -------------------------------------------------------------

BAD = [
    # (file name, bytes, extra arguments, what stderr must name)
    ("utf8.txt", b"ok\n\xff\xfe bad\n", [], ["utf8.txt:2:", "not valid UTF-8"]),
    ("long.txt", ("x" * 100_000 + "\n").encode(), [], ["long.txt:1:", "--overlong truncate"]),
    ("words.txt", ("ok\n" + "word " * 20_000 + "\n").encode(), [], ["words.txt:2:", "max_sentence_chars"]),
    ("notext.jsonl", b'{"id": 1, "text": "a"}\n{"id": 2}\n', [], ["notext.jsonl:2:", 'no "text"']),
    ("badjson.jsonl", b'{"id": 1, "text": "a"}\n\n{"id": 2,\n', [], ["badjson.jsonl:3:", "not a JSON object"]),
    ("list.jsonl", b'["a"]\n', [], ["list.jsonl:1:", "expected a JSON object"]),
    ("tokens.jsonl", b'{"tokens": ["a", ""]}\n', [], ["tokens.jsonl:1:", "non-blank strings"]),
    ("both.jsonl", b'{"text": "ab", "tokens": ["b", "a"]}\n', [], ["both.jsonl:1:", "token 2"]),
    ("empty.txt", b"", [], ["empty.txt", "no records to tag"]),
    ("blank.txt", b"\n \n", [], ["blank.txt", "no records"]),
    ("ok.txt", b"ok\n", ["--lang", "xx"], ["--lang", "'xx'", "ISO 639"]),
    ("ok.txt", b"ok\n", ["--lang", "zh,ja"], ["--lang", "one language"]),
    ("ok.txt", b"ok\n", ["--format", "xml"], ["--format", "'jsonl'"]),
    ("ok.txt", b"ok\n", ["--out-name", "o.xml"], ["--out", ".jsonl"]),
    ("ok.txt", b"ok\n", ["--method", "crap"], ["--method", "did you mean 'crop'"]),
    ("ok.txt", b"ok\n", ["--method", "model-transfer", "--extractor", "t5"], ["--extractor", "token-classification"]),
    ("ok.txt", b"ok\n", ["--profile", "papr"], ["--profile", "paper"]),
    ("missing.txt", None, [], ["INPUT", "missing.txt", "no such file"]),
]


@pytest.mark.parametrize(("name", "content", "extra", "needles"), BAD, ids=[f"{b[0]}{' '.join(b[2])}" for b in BAD])
def test_bad_input_is_one_line_naming_file_and_line_exit_2(name, content, extra, needles, tmp_path, capsys):
    from eat_cli.main import app

    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    extra = list(extra)
    out = tmp_path / "o.jsonl"
    if "--out-name" in extra:
        out = tmp_path / extra.pop(extra.index("--out-name") + 1)
        extra.remove("--out-name")
    lang = [] if "--lang" in extra else ["--lang", "en"]
    with pytest.raises(SystemExit) as exit_info:
        app(["tag", str(path), *lang, "--out", str(out), "--db", str(tmp_path / "x.duckdb"), "--direct", *extra])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "loading" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not out.exists()


def test_help_shows_a_jsonl_example():
    out = subprocess.run([sys.executable, "-m", "eat_cli", "tag", "--help"], capture_output=True, text=True,
                         cwd=REPO, env={**os.environ, "COLUMNS": "120"})
    assert out.returncode == 0
    assert '{"id": "s1", "text": "普京访问了巴黎。"}' in out.stdout and '"entities"' in out.stdout


def test_a_tag_run_against_a_dead_endpoint_says_each_failed_shard_in_one_line(corpus, tmp_path):
    """Through the flow: each failed shard is one ERROR line naming its cause; Prefect's ~40-line tracebacks of the
    shard tasks and of the flow's Failed state are debug-level, so none reaches the console."""
    dead = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    out = subprocess.run([sys.executable, "-m", "eat_cli", "tag", str(corpus["text"]), "--lang", "zh", "--out",
                          str(tmp_path / "dead.jsonl"), "--db", str(tmp_path / "dead.duckdb"), "--shard-size", "2",
                          "--llm-backend", "openai", "--base-url", dead, "--llm", "served"],
                         capture_output=True, text=True, cwd=REPO, timeout=300,
                         env={**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")})
    assert out.returncode == 1, out.stderr[-2000:]
    assert "Traceback (most recent call last)" not in out.stderr, out.stderr[-4000:]
    errors = [line for line in out.stderr.splitlines() if "| ERROR" in line]
    shards = sorted(line.split(" - ", 1)[1].split(":")[0] for line in errors if " failed: ServiceUnavailable" in line)
    failed = int(out.stderr.split(" shard(s) failed")[0].rsplit(" ", 1)[1])  # the run's own count, on its last line
    assert failed >= 1 and shards == [f"shard {i} failed" for i in range(failed)], errors
    assert all("ServiceUnavailable" in line or "Finished in state Failed" in line for line in errors), errors


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
