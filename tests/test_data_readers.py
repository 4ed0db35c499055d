"""Dataset readers: real files load with the README's counts; bad input names file and line."""

from __future__ import annotations

import pytest
from conftest import FULL_EACL, FULL_WIKIANN, WIKIANN, needs_full_data

from eat_core.data import SAMPLE_DIR, load_split, load_split_with_report
from eat_core.data.conll2003 import entity_strings, read_conll2003
from eat_core.data.eacl_files import read_eacl_dir, read_eacl_file
from eat_core.data.wikiann import find_split_file, load_wikiann_local, read_wikiann_file, sentences_from_hub_rows
from eat_core.errors import ConfigError, DataError

# (lang, split, sentences, tokens) from shared/data/README.md
README_COUNTS = [
    ("ar", "dev", 10000, 64291), ("ar", "train", 20000, 129184), ("de", "dev", 10000, 97805),
    ("de", "train", 20000, 195387), ("en", "dev", 10000, 80536), ("en", "train", 20000, 160394),
    ("es", "dev", 10000, 64329), ("es", "train", 20000, 129283), ("fr", "dev", 10000, 68220),
    ("fr", "train", 20000, 136788), ("hi", "dev", 1000, 5808), ("hi", "train", 5000, 29443),
    ("hy", "dev", 1000, 6214), ("hy", "train", 15000, 95614), ("ja", "dev", 10000, 300844),
    ("ja", "train", 20000, 603301), ("ka", "dev", 10000, 81159), ("ka", "train", 10000, 80402),
    ("ko", "dev", 10000, 80786), ("ko", "train", 20000, 162031), ("nl", "dev", 10000, 84146),
    ("nl", "train", 20000, 169449), ("ru", "dev", 10000, 70279), ("ru", "train", 20000, 141529),
    ("zh", "dev", 10000, 213682), ("zh", "train", 20000, 420054),
]


@needs_full_data("compares sentence and token counts with shared/data/README.md, which counts the whole files")
@pytest.mark.parametrize(("lang", "split", "n_sentences", "n_tokens"), README_COUNTS)
def test_real_wikiann_files_load_with_readme_counts(lang, split, n_sentences, n_tokens):
    sentences, report = load_wikiann_local(FULL_WIKIANN, lang, split, repair=True)
    assert (report.sentences, report.tokens) == (n_sentences, n_tokens)
    assert len(sentences) == n_sentences and sum(len(s.tokens) for s in sentences) == n_tokens
    assert all(s.lang == lang and len(s.tags) == len(s.tokens) for s in sentences)


def test_armenian_prefix_is_stripped_and_cjk_stays_per_character():
    hy, _ = load_wikiann_local(WIKIANN, "hy", "dev")
    assert not any(t.startswith("hy:") for s in hy for t in s.tokens)
    assert hy[0].tokens[:4] == ("ՎԵՐԱՀՂՈՒՄ", "(", "9836", ")")
    zh, _ = load_wikiann_local(WIKIANN, "zh", "dev", repair=True)
    assert zh[0].tokens[:3] == ("前", "鎮", "區") and zh[0].tags[:3] == ("B-LOC", "I-LOC", "I-LOC")
    tokens = [t for s in zh[:500] for t in s.tokens]
    assert sum(len(t) == 1 for t in tokens) / len(tokens) > 0.99  # markup such as ''' stays one token


@needs_full_data("expects the orphans at ja/train.tsv:129 and zh/dev.tsv:55 and the repair counts of whole splits")
def test_real_orphan_inside_tags_start_entities_by_default_and_strict_refuses():
    _, report = load_wikiann_local(FULL_WIKIANN, "ja", "dev")
    assert report.repaired_orphan_inside == 501
    zh, report = load_wikiann_local(FULL_WIKIANN, "zh", "dev")  # zh/dev.tsv:55: I-ORG after a '#' tagged O
    assert report.repaired_orphan_inside == 476
    with pytest.raises(DataError, match=r"ja/train.tsv:129: tag 'I-PER' does not continue.*--strict-tags"):
        load_wikiann_local(FULL_WIKIANN, "ja", "train", repair=False)
    with pytest.raises(DataError, match=r"zh/dev.tsv:55: tag 'I-ORG' does not continue"):
        load_split("local", "zh", "dev", FULL_WIKIANN, repair=False)


def _write(tmp_path, text, name="dev.tsv", encoding="utf-8"):
    path = tmp_path / "xx" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"dev.tsv: file is empty"),
        ("Paris\tB-LOC\nis\n", r"dev.tsv:2: expected a token and a tag"),
        ("Paris\tB-CITY\n", r"dev.tsv:1: unknown tag 'B-CITY'"),
        ("\n\n\n", r"dev.tsv: file is empty"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(DataError, match=message):
        read_wikiann_file(path, "xx")


def test_wrong_encoding_names_the_line(tmp_path):
    path = _write(tmp_path, b"Paris\tB-LOC\n" + "Zürich\tB-LOC\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"dev.tsv:2: not valid UTF-8"):
        read_wikiann_file(path, "xx")


def test_orphans_start_entities_by_default_counted_and_strict_refuses(tmp_path):
    path = _write(tmp_path, "a\tO\nb\tI-PER\nc\tI-PER\n\nd\tI-LOC\n")
    sentences, report = read_wikiann_file(path, "xx")  # conlleval's and seqeval's reading
    assert [s.tags for s in sentences] == [("O", "B-PER", "I-PER"), ("B-LOC",)]
    assert report.repaired_orphan_inside == 2
    with pytest.raises(DataError, match=r"dev.tsv:2: tag 'I-PER' does not continue.*--strict-tags"):
        read_wikiann_file(path, "xx", repair=False)
    _, report = load_split_with_report("local", "xx", "dev", tmp_path)
    assert report.repaired_orphan_inside == 2


def test_space_separated_columns_and_prefixes(tmp_path):
    path = _write(tmp_path, "xx:New B-LOC\nxx:York I-LOC\n")
    sentences, _ = read_wikiann_file(path, "xx")
    assert sentences[0].tokens == ("New", "York") and sentences[0].tags == ("B-LOC", "I-LOC")


def test_missing_split_lists_what_is_there(tmp_path):
    _write(tmp_path, "a\tO\n", name="train.tsv")
    with pytest.raises(DataError, match=r"no 'test' split for language 'xx'.*found: xx/train.tsv"):
        find_split_file(tmp_path, "xx", "test")


def test_conll2003_iob1_docstart_and_entity_list(tmp_path):
    text = (
        "-DOCSTART- -X- -X- O\n\n"
        "EU NNP B-NP I-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP I-MISC\ncall NN I-NP O\n\n"
        "Peter NNP B-NP I-PER\nBlackburn NNP I-NP I-PER\n\n"
        "Hans NNP B-NP I-PER\nPeter NNP I-NP B-PER\n"
    )
    path = tmp_path / "train.txt"
    path.write_text(text, encoding="utf-8")
    sentences, report = read_conll2003(path)
    assert report.sentences == 3
    assert sentences[0].tags == ("B-ORG", "O", "B-MISC", "O")
    assert sentences[1].tags == ("B-PER", "I-PER")
    assert sentences[2].tags == ("B-PER", "B-PER")
    assert entity_strings(sentences) == ["EU", "German", "Peter Blackburn", "Hans", "Peter"]


@needs_full_data("checks all eight official EACL files and their entry counts (ru 3,640, zh 3,395)")
def test_official_eacl_files_load():
    corpora = read_eacl_dir(FULL_EACL)
    assert sorted(corpora) == ["de", "es", "fr", "ja", "ko", "nl", "ru", "zh"]
    assert len(corpora["ru"]) == 3640 and len(corpora["zh"]) == 3395
    assert corpora["zh"][0].eng_entity == "EU" and corpora["zh"][0].tgt_entity == "欧洲联盟"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{}", "expected a JSON list"),
        ("[]", "corpus is empty"),
        ('[{"eng_entity": "EU", "text": "x"}]', "entry 0: missing or non-string field"),
        ('[{"eng_entity": "EU",', "invalid JSON"),
    ],
)
def test_bad_eacl_files(tmp_path, content, message):
    path = tmp_path / "corpus_zh.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_eacl_file(path)


def test_hub_rows_map_class_labels_and_strip_prefixes():
    rows = [{"tokens": ["zh:北", "zh:京"], "ner_tags": [5, 6]}, {"tokens": ["a"], "ner_tags": [0]}]
    sentences = sentences_from_hub_rows(rows, "zh", "test")
    assert sentences[0].tokens == ("北", "京") and sentences[0].tags == ("B-LOC", "I-LOC")
    with pytest.raises(DataError, match="row 0: tag id outside"):
        sentences_from_hub_rows([{"tokens": ["a"], "ner_tags": [9]}], "zh", "test")


def test_bundled_sample_loads_and_sources_are_named():
    langs = sorted(p.name for p in SAMPLE_DIR.iterdir() if p.is_dir())
    assert len(langs) == 13
    assert len(load_split("sample", "ja", "dev", limit=5)) == 5
    with pytest.raises(ConfigError, match="available: local, hub, sample"):
        load_split("s3", "ja", "dev")
    with pytest.raises(ConfigError, match="needs a data directory"):
        load_split("local", "ja", "dev")
