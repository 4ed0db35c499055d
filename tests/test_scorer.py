"""The ``eat-official`` protocol against an independent reading of the official EAT scorer's rules, its edge cases
with literal values, and the ``eat score`` command on files and on a stored run."""

from __future__ import annotations

import json
import random
import re

import pytest
from conftest import WIKIANN
from typer.testing import CliRunner

from eat_cli.main import app
from eat_core.bio import repair_orphan_inside
from eat_core.data import SAMPLE_DIR
from eat_core.data.columns import iter_tagged_blocks, read_scoring_pair
from eat_core.errors import DataError
from eat_core.scoring.counts import micro
from eat_core.scoring.official import official_counts, official_units
from eat_core.scoring.token_f1 import token_counts

LANGS = ("ar", "de", "en", "es", "fr", "hi", "hy", "ja", "ka", "ko", "nl", "ru", "zh")
runner = CliRunner()


# --- an independent re-implementation, written from the rule text of issue 14 ----------------------------------


def oracle_labels(tokens, gold_tags, pred_tags, lang):
    """Rules 1-4 read literally: one (gold labels, predicted labels) pair of unit sequences, or None (rule 5 skip)."""
    cjk = lang in ("zh", "ja")

    # rule 1: the sentence text
    text = re.sub("'''", "'", "".join(" " if t == "#" else t for t in tokens)) if cjk else " ".join(tokens)

    # rule 2: entity strings; an entity starts at B- or I- and takes every following I-, label of the first tag
    def entities(tags):
        result, i = [], 0
        while i < len(tags):
            if tags[i][:2] in ("B-", "I-"):
                j = i + 1
                while j < len(tags) and tags[j][:2] == "I-":
                    j += 1
                words = tokens[i:j]
                string = "".join(" " if w == "#" else w for w in words) if cjk else " ".join(words)
                result.append((string, tags[i][2:]))
                i = j
            else:
                i += 1
        return result

    gold_entities = entities(gold_tags)
    if not gold_entities:
        return None  # rule 5
    # rule 3: stop words leave predicted strings only
    stop = {"REDIRECCIÓN", "WEITERLEITUNG", "'", "''", "``", "`", '"', '""'}
    pred_entities = [(" ".join(w for w in s.split(" ") if w.upper() not in stop), label)
                     for s, label in entities(pred_tags)]

    # rule 4: place each string at its first occurrence whose first unit is unlabelled
    def place(found):
        if cjk:
            units = text.replace(" ", "#")
            labels = ["O"] * len(units)
            for string, label in found:
                for match in re.finditer(re.escape(string), units):
                    if labels[match.start()] == "O":
                        for k in range(match.start(), match.end()):
                            labels[k] = label
                        break
            return labels
        units = text.split(" ")
        labels = ["O"] * len(units)
        for string, label in found:
            words = re.sub(r"\( \d+ \)", "", string).strip().split(" ")
            starts = [k for k in range(len(units) - len(words) + 1) if units[k : k + len(words)] == words]
            for k in starts:
                if labels[k] == "O":
                    labels[k : k + len(words)] = [label] * len(words)
                    break
        return labels

    return place(gold_entities), place(pred_entities)


def oracle_f1(tokens, gold, pred, lang) -> float:
    """Rule 5: sklearn micro F1 over ORG, LOC, PER across every unit of every kept sentence, in percent."""
    from sklearn.metrics import f1_score

    flat_gold, flat_pred = [], []
    for toks, g, p in zip(tokens, gold, pred, strict=True):
        pair = oracle_labels(list(toks), list(g), list(p), lang)
        if pair is not None:
            flat_gold += pair[0]
            flat_pred += pair[1]
    return 100 * f1_score(flat_gold, flat_pred, labels=["ORG", "LOC", "PER"], average="micro", zero_division=0)


def noisy(tags, rng):
    """Seeded prediction noise at tag level, raw tags allowed: drops, retypes (also mid-entity, so an ``I-X``
    follows a ``B-Y``), one-token extensions (over ``#``, quotes, brackets), shifts, spurious and orphan tags."""
    out = list(tags)
    n = len(out)
    for i in range(n):
        r = rng.random()
        if out[i] != "O" and r < 0.12:
            out[i] = "O"
        elif out[i] != "O" and r < 0.2:
            out[i] = out[i][:2] + rng.choice(["PER", "ORG", "LOC"])
        elif out[i] != "O" and r < 0.3 and i + 1 < n and out[i + 1] == "O":
            out[i + 1] = "I-" + out[i][2:]
        elif out[i].startswith("B-") and r < 0.35 and i + 1 < n:
            out[i], out[i + 1] = "O", out[i]
        elif out[i] == "O" and r < 0.02:
            out[i] = rng.choice(["B-", "I-"]) + rng.choice(["PER", "ORG", "LOC"])
    return out


def dev_file(lang):
    """The shared (or bundled fixture) WikiANN dev split, else the sample bundled with the package: never a skip."""
    path = WIKIANN / lang / "dev.tsv"
    return path if path.is_file() else SAMPLE_DIR / lang / "dev.tsv"


@pytest.mark.parametrize("lang", LANGS)
def test_eat_official_equals_independent_reading_on_real_dev(lang):
    blocks = list(iter_tagged_blocks(dev_file(lang), lang))  # tags as written: orphan I- kept, as the scorer reads
    rng = random.Random(f"scorer-{lang}")
    tokens = [b.tokens for b in blocks]
    gold = [b.tags for b in blocks]
    pred = [noisy(g, rng) for g in gold]
    ours = micro(official_counts(tokens, gold, pred, lang)).f1
    assert ours == pytest.approx(oracle_f1(tokens, gold, pred, lang), abs=1e-9)
    assert 20 < ours < 99  # the noise really changed something
    # gold read back as a run stores it (orphans repaired) scores the same: WikiANN has no I-X after B-Y
    repaired = [repair_orphan_inside(g)[0] for g in gold]
    assert micro(official_counts(tokens, repaired, pred, lang)).f1 == pytest.approx(ours, abs=1e-9)


# --- edge cases, literal values -----------------------------------------------------------------------------------


def _f1s(tokens, gold, pred, lang):
    official = micro(token_counts([gold], [pred], "eat-official", tokens=[tokens], lang=lang))
    true = micro(token_counts([gold], [pred], "token"))
    return round(official.f1, 6), round(true.f1, 6)


def test_hash_token_inside_a_zh_entity_is_never_found():
    tokens = ["新", "華", "#", "社", "在", "北", "京"]
    gold = ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "I-LOC"]
    pred = ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O", "O"]
    # "新華 社" holds a space and the text "新華#社在北京" none: gold and predicted ORG label nothing, LOC is missed
    assert _f1s(tokens, gold, pred, "zh") == (0.0, 80.0)
    assert official_units(tokens, "zh") == list("新華#社在北京")


def test_same_string_twice_goes_to_its_first_free_occurrence():
    tokens = ["Paris", "is", "not", "Paris"]
    # gold tags the second Paris, the prediction the first: the official scorer puts both on the first one
    assert _f1s(tokens, ["O", "O", "O", "B-LOC"], ["B-LOC", "O", "O", "O"], "fr") == (100.0, 0.0)
    # twice in the gold: the second placement skips the labelled first occurrence
    assert _f1s(tokens, ["B-LOC", "O", "O", "B-LOC"], ["O", "O", "O", "B-LOC"], "fr") == (66.666667, 66.666667)
    zh = ["北", "京", "和", "北", "京"]
    assert _f1s(zh, ["O", "O", "O", "B-LOC", "I-LOC"], ["B-LOC", "I-LOC", "O", "O", "O"], "zh") == (100.0, 0.0)


def test_triple_quotes_collapse_in_zh_text_but_not_in_entities_and_quotes_are_stop_words():
    tokens = ["'''", "北", "京", "'''", "是"]
    assert official_units(tokens, "zh") == ["'", "北", "京", "'", "是"]
    # the gold string "'''北京'''" is searched in "'北京'是" and never found; the predicted "北京" is a false positive
    gold = ["B-LOC", "I-LOC", "I-LOC", "I-LOC", "O"]
    assert _f1s(tokens, gold, ["O", "B-LOC", "I-LOC", "O", "O"], "zh") == (0.0, 66.666667)
    # elsewhere the text keeps ''' ; '' around a predicted entity is a stop word and removed before the search
    en = ["''", "Berlin", "''", "is", "big"]
    assert _f1s(en, ["O", "B-LOC", "O", "O", "O"], ["B-LOC", "I-LOC", "I-LOC", "O", "O"], "en") == (100.0, 50.0)


def test_number_suffix_in_brackets_is_removed_before_the_search():
    tokens = ["Apollo", "(", "51", ")", "flog"]
    gold = ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O"]
    # the gold string "Apollo ( 51 )" is searched as "Apollo": one unit, which the prediction has
    assert _f1s(tokens, gold, ["B-ORG", "O", "O", "O", "O"], "de") == (100.0, 40.0)


def test_sentence_without_gold_entities_is_skipped():
    tokens = [["Rom", "ist", "alt"], ["Bonn", "auch"]]
    gold = [["B-LOC", "O", "O"], ["O", "O"]]
    pred = [["B-LOC", "O", "O"], ["B-LOC", "O"]]
    official = micro(token_counts(gold, pred, "eat-official", tokens=tokens, lang="de"))
    assert (official.f1, official.support) == (100.0, 1)
    assert micro(token_counts(gold, pred, "all-sentences")).f1 == pytest.approx(66.666667, abs=1e-5)


def test_an_inside_tag_of_another_type_continues_the_entity():
    # rule 2: B-PER I-LOC is one PER entity of two tokens; its string "Jan Kowalski" labels both as PER
    assert _f1s(["Jan", "Kowalski", "pisze"], ["B-PER", "I-PER", "O"], ["B-PER", "I-LOC", "O"], "pl") == (100.0, 50.0)


def test_eat_official_needs_tokens():
    from eat_core.errors import ConfigError

    with pytest.raises(ConfigError, match="pass tokens= and lang="):
        token_counts([["B-PER"]], [["B-PER"]], "eat-official")


# --- reading GOLD and PRED files ----------------------------------------------------------------------------------


def _files(tmp_path, gold: str, pred: str):
    g, p = tmp_path / "gold.tsv", tmp_path / "pred.tsv"
    g.write_text(gold, encoding="utf-8")
    p.write_text(pred, encoding="utf-8")
    return g, p


GOLD = "zh:北\tB-LOC\nzh:京\tI-LOC\nzh:大\tO\n\nzh:新\tB-ORG\nzh:#\tO\nzh:社\tI-ORG\n"


def test_pred_file_with_other_tokens_is_a_clear_error(tmp_path):
    g, p = _files(tmp_path, GOLD, "北\tB-LOC\n京\tI-LOC\n大\tO\n\n新\tB-ORG\n華\tO\n社\tI-ORG\n")
    with pytest.raises(DataError, match=r"gold.tsv:6: token '#' differs from '華' at .*pred.tsv:6 \(sentence 2\)"):
        read_scoring_pair(g, p, "zh")
    result = runner.invoke(app, ["score", str(g), str(p), "--lang", "zh"])
    assert result.exit_code == 2 and "differs from '華'" in result.output and "Traceback" not in result.output


def test_pred_file_with_other_sentence_breaks_is_a_clear_error(tmp_path):
    g, p = _files(tmp_path, GOLD, "北\tB-LOC\n京\tI-LOC\n\n大\tO\n新\tB-ORG\n#\tO\n社\tI-ORG\n")
    with pytest.raises(DataError, match=r"gold.tsv:3: sentence 1 goes on in GOLD .* ended at .*pred.tsv:2"):
        read_scoring_pair(g, p, "zh")
    g, p = _files(tmp_path, GOLD, "北\tB-LOC\n京\tI-LOC\n大\tO\n")
    with pytest.raises(DataError, match=r"gold.tsv:5: GOLD has 2 sentences, .*pred.tsv only 1"):
        read_scoring_pair(g, p, "zh")


def test_files_keep_tags_as_written_and_strip_prefixes(tmp_path):
    g, p = _files(tmp_path, GOLD, GOLD.replace("zh:", ""))
    pair = read_scoring_pair(g, p, "zh")
    assert pair.tokens == [("北", "京", "大"), ("新", "#", "社")]
    assert pair.gold[1] == ("B-ORG", "O", "I-ORG") == pair.pred[1]  # the orphan I-ORG is not rewritten


# --- the eat score command ----------------------------------------------------------------------------------------


def test_eat_score_json_and_table(tmp_path):
    pred = "北\tB-LOC\n京\tO\n大\tO\n\n新\tB-ORG\n#\tO\n社\tB-PER\n"
    g, p = _files(tmp_path, GOLD, pred)
    result = runner.invoke(app, ["score", str(g), str(p), "--lang", "zh", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"eat-official", "token", "entity", "signature"}
    # units 北京大|新#社: gold LOC 北京, ORG 新, ORG 社 (the orphan starts an entity); pred LOC 北, ORG 新, PER 社
    assert data["token"] == {"precision": pytest.approx(200 / 3), "recall": 50.0, "f1": pytest.approx(400 / 7),
                             "support": 4}
    assert data["eat-official"]["f1"] == pytest.approx(400 / 7)
    assert data["entity"]["support"] == 3 and data["entity"]["f1"] == pytest.approx(100 / 3)
    assert "protocol:eat-official" in data["signature"]["eat-official"] and "units:char" in data["signature"][
        "eat-official"]
    one = json.loads(runner.invoke(app, ["score", str(g), str(p), "--lang", "zh", "--protocol", "token",
                                         "--format", "json"]).output)
    assert set(one) == {"token", "signature"}
    table = runner.invoke(app, ["score", str(g), str(p), "--lang", "zh"])
    assert table.exit_code == 0, table.output
    assert "eat-official is the official EAT scorer" in table.output and "token F1 - eat-official F1 = +0.00" in (
        table.output)
    assert re.search(r"^eat-official\s+PER\s+0\.00\s+0\.00\s+0\.00\s+0$", table.output, re.M)  # per type
    assert re.search(r"^\s+micro\s+66\.67\s+50\.00\s+57\.14\s+4$", table.output, re.M)
    bad = runner.invoke(app, ["score", str(g), str(p), "--lang", "zh", "--protocol", "conll"])
    assert bad.exit_code == 2 and "available: eat-official, token, all-sentences, entity, all" in bad.output


def test_eat_score_rescores_a_stored_run(tmp_path):
    from eat_core.store import Store

    db = tmp_path / "w.duckdb"
    store = Store(db)
    store.migrate()
    store.upsert_run("r1", "custom", {}, "done")
    rows = [{"sentence_id": f"s{i}", "tokens": t, "gold": g, "pred": p, "english": None, "roundtrip": None,
             "entities": [], "placements": [], "failures": [], "transcript": {}}
            for i, (t, g, p) in enumerate([(["Paris", "is", "not", "Paris"], ["O", "O", "O", "B-LOC"],
                                            ["B-LOC", "O", "O", "O"])])]
    store.write_shard_result("r1", "fr", 0, rows, 0, 0, 0.0)
    result = runner.invoke(app, ["score", "--db", str(db), "--run", "r1", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["fr"]
    assert (data["eat-official"]["f1"], data["token"]["f1"]) == (100.0, 0.0)
    missing = runner.invoke(app, ["score", "--db", str(db), "--run", "nope"])
    assert missing.exit_code == 2 and "no scored predictions" in missing.output
