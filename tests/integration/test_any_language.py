"""Any language through the real entry points: the CLI's one line for an unknown code, requests that canonicalise
tags, and a tag run over real Thai and Burmese text that says how it segmented them."""

from __future__ import annotations

import pytest
from support.cli import assert_user_error, run_cli

from eat_core.config.coerce import coerce
from eat_core.config.run import DataConfig
from eat_core.distill.request import DistillRequest
from eat_core.errors import ConfigError
from eat_core.evaluation.checks import validate_request
from eat_core.tagging.readers import read_shard
from eat_core.tagging.runner import describe_plan, plan_tag

THAI = ["กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย", "นายกรัฐมนตรีเดินทางไปเชียงใหม่"]
BURMESE = ["မြန်မာနိုင်ငံ၏ မြို့တော်မှာ နေပြည်တော် ဖြစ်သည်။"]


@pytest.mark.parametrize(("args", "fragments"), [
    (["run", "--languages", "en,zhh"], ["--languages: unknown language code 'zhh'; did you mean 'zh' (Chinese)?"]),
    (["silver", "--lang", "swahili", "--out", "never-written"],
     ["--lang: unknown language code 'swahili'; did you mean 'sw' (Swahili)?"]),
    (["distill", "--lang", "qaa", "--out", "never-written"], ["--lang: unknown language code 'qaa'"]),
])
def test_an_unknown_code_is_one_line_with_close_matches_and_exit_2(args, fragments):
    assert_user_error(run_cli(*args), *fragments)


def test_tag_refuses_an_unknown_code_before_reading_anything(tmp_path):
    corpus = tmp_path / "th.txt"
    corpus.write_text("\n".join(THAI) + "\n", encoding="utf-8")
    result = run_cli("tag", str(corpus), "--lang", "thai", "--out", str(tmp_path / "o.jsonl"),
                     "--db", str(tmp_path / "t.duckdb"))
    assert_user_error(result, "--lang: unknown language code 'thai'; did you mean 'th' (Thai)?")
    assert not (tmp_path / "t.duckdb").exists()


def test_requests_take_any_iso_code_or_tag_and_keep_the_canonical_one():
    assert DataConfig(languages=("swa", "yo", "zh-TW", "pt-BR", "zh", "zh-Hans")).languages == (
        "sw", "yo", "zh-Hant", "pt", "zh")  # a YAML config or deployment parameters
    with pytest.raises(ConfigError, match="unknown language code 'zhh'; did you mean 'zh'"):
        validate_request({"profile": "smoke", "languages": "zhh"})
    assert coerce(DistillRequest, {"lang": "heb"}).lang == "he"


def _plan(tmp_path, lines, lang):
    corpus = tmp_path / f"{lang}.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return plan_tag({"input": str(corpus), "lang": lang, "out": str(tmp_path / f"{lang}.jsonl"),
                     "db": str(tmp_path / "t.duckdb")})


def test_a_thai_tag_run_cuts_words_and_says_so(tmp_path):
    pytest.importorskip("pythainlp")
    plan = _plan(tmp_path, THAI, "th")
    assert describe_plan(plan, 0).endswith("; segmentation: words (pythainlp newmm) for th")
    records = read_shard(plan.source, plan.corpus.shards[0])
    assert records[0].tokens[:3] == ("กรุงเทพมหานคร", "เป็น", "เมืองหลวง")
    assert len(records[1].tokens) > 1 and "".join(records[1].tokens) == THAI[1]


def test_a_burmese_tag_run_is_per_character_cluster_and_says_so(tmp_path):
    plan = _plan(tmp_path, BURMESE, "my")
    assert "segmentation: character (grapheme clusters; no word segmenter for Myanmar text) for my" in (
        describe_plan(plan, 0))
    (record,) = read_shard(plan.source, plan.corpus.shards[0])
    assert record.tokens[:4] == ("မြ", "န်", "မာ", "နို") and len(record.tokens) > 10
    assert all(record.text[s:e] == t for t, (s, e) in zip(record.tokens, record.offsets, strict=True))


def test_spaced_languages_plan_without_a_segmentation_line(tmp_path):
    assert "segmentation" not in describe_plan(_plan(tmp_path, ["Putin visited Paris ."], "ru"), 0)
