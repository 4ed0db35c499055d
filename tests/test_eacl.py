"""EACL: first sentences per script, the pair filter, harvesting against a real MediaWiki-speaking server, export."""

from __future__ import annotations

import json

import pytest
from conftest import FULL_EACL, needs_full_data
from mediawiki_server import MediaWikiServer

from eat_core.data.eacl_files import EaclPair, read_eacl_dir
from eat_core.eacl.corpus import export_sharegpt, judge_pairs, recovered_samples, split, stats_table, store_pairs
from eat_core.eacl.filter import judge, strip_disambiguator
from eat_core.eacl.harvest import Harvester, harvested_pairs
from eat_core.eacl.sentences import first_sentence
from eat_core.store import Store

SENTENCES = [
    ("de", "Franz Fischler (* 23. September 1946 in Absam) ist ein österreichischer Politiker. Er war Kommissar.",
     "Franz Fischler (* 23. September 1946 in Absam) ist ein österreichischer Politiker."),
    ("de", "Der 1. FC Köln ist ein Sportverein. Er spielt in Köln.", "Der 1. FC Köln ist ein Sportverein."),
    ("en", "J. R. R. Tolkien was an English writer. He wrote books.", "J. R. R. Tolkien was an English writer."),
    ("en", "Dr. Smith lives in the U.S. and works there. More text.",
     "Dr. Smith lives in the U.S. and works there."),
    ("ru", "Москва́ — столица России, основана в 1147 г. по летописи. Второе.",
     "Москва́ — столица России, основана в 1147 г. по летописи."),
    ("zh", "北京市，简称京，是中华人民共和国的首都。北京历史悠久。", "北京市，简称京，是中华人民共和国的首都。"),
    ("ja", "東京\n\n東京都（とうきょうと、英: Tokyo Metropolis）は、日本の首都である。人口は多い。",
     "東京都（とうきょうと、英: Tokyo Metropolis）は、日本の首都である。"),
    ("hi", "नई दिल्ली भारत की राजधानी है। यह बड़ी है।", "नई दिल्ली भारत की राजधानी है।"),
    ("hy", "Երևան, Հայաստանի մայրաքաղաքն է։ Այն հին է։", "Երևան, Հայաստանի մայրաքաղաքն է։"),
    ("ar", "هل القاهرة عاصمة مصر؟ نعم.", "هل القاهرة عاصمة مصر؟"),
    ("ko", "서울특별시는 대한민국의 수도이다. 인구가 많다.", "서울특별시는 대한민국의 수도이다."),
    ("ka", "თბილისი საქართველოს დედაქალაქია. ის ძველია.", "თბილისი საქართველოს დედაქალაქია."),
    ("en", "No terminator here", "No terminator here"),
]


@pytest.mark.parametrize(("lang", "text", "expected"), SENTENCES)
def test_first_sentence_per_script(lang, text, expected):
    assert first_sentence(text, lang) == expected


FILTER_CASES = [
    ("欧洲联盟", "欧洲联盟是欧洲的政治实体。", True, True),
    ("歐洲聯盟", "欧洲联盟是欧洲的政治实体。", True, False),  # Traditional title, Simplified text
    ("Европейский союз", "Европе́йский сою́з — союз.", True, False),  # stress marks
    ("본 (독일)", "본(독일어: Bonn)은 도시이다.", True, False),  # disambiguator
    ("連戦", "連 戦（れん せん）は政治家。", True, False),  # spacing
    ("Paris", "Lyon est une ville.", False, False),
    ("", "text", False, False),
    ("Paris", "", False, False),
]


@pytest.mark.parametrize(("title", "text", "kept", "exact"), FILTER_CASES)
def test_filter_case_table(title, text, kept, exact):
    verdict = judge(title, text)
    assert (verdict.kept, verdict.exact) == (kept, exact)
    assert verdict.reason in (None, "empty_title", "empty_text", "title_not_in_text")


def test_strip_disambiguator():
    assert strip_disambiguator("Paris (film)") == "Paris" and strip_disambiguator("(9836) Aarseth") == "(9836) Aarseth"


@needs_full_data("compares with EAT Table 2's exact-match counts, which need every official zh/ja/ko/ru pair")
def test_official_files_plain_matching_reproduces_table2_and_normalisation_adds_recall():
    judged = [j for pairs in read_eacl_dir(FULL_EACL).values() for j in judge_pairs(pairs, "official")]
    exact = {lang: sum(j.exact for j in judged if j.lang == lang) for lang in ("zh", "ja", "ko", "ru")}
    kept = {lang: sum(j.kept for j in judged if j.lang == lang) for lang in ("zh", "ja", "ko", "ru")}
    paper = {"zh": 2382, "ja": 2890, "ko": 2014, "ru": 796}
    for lang in paper:  # the paper's filter, re-implemented, lands within 2 % of EAT Table 2
        assert abs(exact[lang] - paper[lang]) / paper[lang] < 0.02, (lang, exact[lang])
        assert kept[lang] > exact[lang]
    assert kept["ru"] > 2 * exact["ru"]  # stress marks made the paper drop most Russian pairs
    samples = recovered_samples(judged)
    assert any(s.lang == "ru" and s.tgt_entity == "Европейский союз" for s in samples)
    table = stats_table(judged)
    assert "ru kept=" in table and "paper_table2=796" in table and "title_not_in_text" in table


WIKI = {
    "en": {
        "EU": {"redirect": "European Union"},
        "European Union": {"extract": "The European Union is a union.", "categories": ["Unions"],
                           "langlinks": {"zh": "欧洲联盟", "ru": "Европейский союз", "fr": "Union européenne"}},
        "Mercury": {"extract": "Mercury may refer to:", "categories": ["All disambiguation pages"],
                    "langlinks": {"zh": "墨丘利"}},
        "Lonely": {"extract": "A page without links.", "categories": []},
        "Paris": {"extract": "Paris is the capital.", "langlinks": {"zh": "巴黎", "ru": "Париж"}},
    },
    "zh": {
        "欧洲联盟": {"extract": "欧洲联盟（英語：European Union），简称欧盟，是政治实体。它有27个成员国。"},
        "巴黎": {"extract": "巴黎是法国首都。"},
    },
    "ru": {
        "Европейский союз": {"extract": "Европе́йский сою́з (ЕС) — объединение 27 государств. Второе."},
        "Париж": {"extract": "Столица Франции — город на Сене."},  # title does not appear: dropped
    },
}


def harvester(store, server, **kwargs):
    defaults = dict(user_agent="eat-ner-tests/0.1 (tests@example.org)", rate_per_s=200, max_retries=2,
                    retry_wait=0.05, timeout_s=2, endpoint=server.endpoint)
    return Harvester(store, ["zh", "ru"], **{**defaults, **kwargs})


def test_harvest_redirects_missing_disambiguation_and_links(tmp_path):
    store = Store(tmp_path / "eacl.duckdb")
    with MediaWikiServer(WIKI) as server:
        report = harvester(store, server).harvest(["EU", "Mercury", "Lonely", "Atlantis", "Paris", "EU"])
        assert "eat-ner-tests/0.1 (tests@example.org)" in " ".join(server.user_agents)
    assert report.entities == 5  # duplicates collapse
    assert report.statuses["en:ok"] == 2 and report.statuses["en:disambiguation"] == 1
    assert report.statuses["en:no_links"] == 1 and report.statuses["en:missing"] == 1
    rows = dict(store.query("SELECT title, resolved_title FROM eacl_pages WHERE lang = 'en' AND status = 'ok'"))
    assert rows == {"EU": "European Union", "Paris": "Paris"}
    pairs = harvested_pairs(store, ["zh", "ru"])
    assert {(p.lang, p.eng_entity, p.tgt_entity) for p in pairs} == {
        ("zh", "EU", "欧洲联盟"), ("ru", "EU", "Европейский союз"), ("zh", "Paris", "巴黎"), ("ru", "Paris", "Париж")}
    judged = judge_pairs(pairs, "harvest")
    store_pairs(store, judged)
    assert dict(store.query("SELECT tgt_entity, reason FROM eacl_pairs WHERE NOT kept")) == {
        "Париж": "title_not_in_text"}
    assert store.query("SELECT first_sentence FROM eacl_pairs WHERE tgt_entity = '欧洲联盟'") == [
        ("欧洲联盟（英語：European Union），简称欧盟，是政治实体。",)]


def test_refresh_is_incremental_and_survives_a_crash(tmp_path):
    store = Store(tmp_path / "eacl.duckdb")
    with MediaWikiServer(WIKI) as server:
        h = harvester(store, server)
        original = h._fetch
        calls = {"n": 0}

        def crashing(lang, title, english):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt("power cut")
            return original(lang, title, english=english)

        h._fetch = crashing
        with pytest.raises(KeyboardInterrupt):
            h.harvest(["EU", "Paris"])
        kept_before = store.query("SELECT lang, title FROM eacl_pages ORDER BY lang, title")
        assert len(kept_before) == 2  # what was fetched before the crash is stored
        server.requests.clear()
        report = harvester(store, server).harvest(["EU", "Paris"])
        assert report.reused_pages == 2 and report.fetched_pages == 4  # EU:ru, then Paris and its two links
        server.requests.clear()
        again = harvester(store, server).harvest(["EU", "Paris"])
        assert again.fetched_pages == 0 and server.requests == []  # fresh pages are not fetched again
        stale = harvester(store, server, max_age_days=0).harvest(["Paris"])
        assert stale.fetched_pages == 3 and stale.reused_pages == 0


def test_429_500_slow_and_malformed_responses(tmp_path):
    store = Store(tmp_path / "eacl.duckdb")
    with MediaWikiServer(WIKI) as server:
        server.faults = [(429, {"Retry-After": "0"}), (500, {}), ("slow", 3)]
        report = harvester(store, server, timeout_s=1, max_retries=3).harvest(["Paris"])
        assert report.statuses["en:ok"] == 1 and len(server.requests) >= 6  # three failed attempts were retried
        server.faults = [(503, {})] * 3  # max_retries=2: three attempts, then give up
        report = harvester(store, server, max_age_days=0).harvest(["EU"])
        assert report.statuses["en:error"] == 1  # given up after retries, recorded, not retried forever
        status, message = store.query("SELECT status, summary FROM eacl_pages WHERE title = 'EU'")[0]
        assert status == "error" and "Http" in message
        server.faults = [("malformed",)]  # invalid JSON is not transient: recorded at once
        report = harvester(store, server, max_age_days=0).harvest(["Paris"])
        assert report.statuses["en:error"] == 1 and server.faults == []
        assert "Json" in store.query("SELECT summary FROM eacl_pages WHERE title = 'Paris'")[0][0]
        report = harvester(store, server).harvest(["EU"])  # errors are stale: the next refresh retries them
        assert report.statuses["en:ok"] == 1


def test_time_budget_and_rate_limit(tmp_path):
    store = Store(tmp_path / "eacl.duckdb")
    with MediaWikiServer(WIKI) as server:
        report = harvester(store, server, rate_per_s=20, max_seconds=0.0).harvest(["EU", "Paris"])
        assert report.entities == 0 and "time budget" in report.stopped_early
        report = harvester(store, server, rate_per_s=20).harvest(["Paris"])
        assert report.requests >= 6 and report.seconds >= (report.requests - 1) / 20 * 0.9


def test_split_is_deterministic_and_export_loads_in_llama_factory_format(tmp_path):
    pairs = [EaclPair("zh", f"E{i}", f"实体{i}", f"实体{i}是一个地方。") for i in range(40)]
    judged = judge_pairs(pairs, "test")
    train, valid = split(judged, 0.1, seed=7)
    assert (len(train), len(valid)) == (36, 4)
    assert split(list(reversed(judged)), 0.1, seed=7) == (train, valid)
    assert split(judged, 0.1, seed=8)[1] != valid
    files = export_sharegpt(judged, tmp_path, name="eacl_zh", seed=7)
    rows = json.loads(files["train"].read_text(encoding="utf-8"))
    assert len(rows) == 36
    turn = rows[0]["conversations"]
    assert [t["from"] for t in turn] == ["human", "gpt"]
    assert "English phrase:" in turn[0]["value"] and "Chinese sentence:" in turn[0]["value"]
    assert turn[1]["value"] in turn[0]["value"]  # the answer is copied from the sentence
    info = json.loads(files["dataset_info"].read_text())
    assert info["eacl_zh_train"]["formatting"] == "sharegpt"
    assert info["eacl_zh_valid"]["columns"]["messages"] == "conversations"


def test_cli_harvest_then_build(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    entities = tmp_path / "entities.txt"
    entities.write_text("EU\nParis\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    with MediaWikiServer(WIKI) as server:
        out = subprocess.run([sys.executable, "-m", "eat_cli", "eacl", "harvest", "--languages", "zh,ru",
                              "--entities", str(entities), "--db", str(db), "--endpoint", server.endpoint,
                              "--user-agent", "eat-ner-tests/0.1 (tests@example.org)", "--rate", "100"],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "entities=2 fetched=6" in out.stdout and "en:ok=2" in out.stdout
    out = subprocess.run([sys.executable, "-m", "eat_cli", "eacl", "build", "--db", str(db), "--out",
                          str(tmp_path / "corpus")], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "zh kept=2 dropped=0" in out.stdout and "ru kept=1 dropped=1" in out.stdout
    assert (tmp_path / "corpus" / "eacl_ru_train.json").is_file()
    bad = subprocess.run([sys.executable, "-m", "eat_cli", "eacl", "harvest", "--languages", "zh", "--db", str(db),
                          "--user-agent", "eat-ner-tests/0.1 (x@y.z)"], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and "no English entities" in bad.stderr
