"""One test per guarantee that a fault could silently drop: each fails when its guarantee is removed.

* the LLM-call cache key covers the adapter fingerprint ("EAT w/ FT" never gets the base model's answers);
* the cache key covers ``temperature`` and the sampling ``seed``, not only ``max_new_tokens``;
* entity F1 is strict IOB2: an orphan ``I-`` or a ``B-X I-Y`` prediction is not silently accepted as seqeval's
  default (conlleval-like) mode would;
* the engine, with its default :class:`EngineConfig`, rejects a dissimilar backward answer and says why;
* the bundled real-data fixture is what its README says it is.
"""

from __future__ import annotations

import hashlib
import re
from difflib import SequenceMatcher

import pytest
from conftest import needs_full_data
from support.fakes import Script, ScriptedBackend, ScriptedLLM
from support.paths import FIXTURE_DATA, FULL_WIKIANN, WIKIANN

from eat_core.bio import spans_from_tags
from eat_core.data.wikiann import load_wikiann_local, read_wikiann_file
from eat_core.engine.translate import DualTranslator
from eat_core.languages import BUNDLED_LANGUAGES
from eat_core.llm.base import Decoding
from eat_core.llm.cache import CachedLLM
from eat_core.scoring.counts import micro
from eat_core.scoring.entity_f1 import entity_counts
from eat_core.store import Store
from eat_core.types import EnglishEntity

CHAT = [{"role": "system", "content": "You translate."}, {"role": "user", "content": "北京大学位于北京。"}]


def numbered_backend() -> ScriptedBackend:
    """A backend that numbers its answers, so a wrongly shared cache entry shows up as a wrong number."""
    return ScriptedBackend(Script(default=lambda turn: f"answer {turn.number}"))


# --- the cache key covers temperature and seed ----------------------------------------------------------------

DECODINGS = [
    Decoding(16),  # greedy
    Decoding(16, temperature=0.7, seed=1),
    Decoding(16, temperature=0.7, seed=2),  # another seed only
    Decoding(16, temperature=1.0, seed=1),  # another temperature only
]


def test_cache_key_covers_temperature_and_seed(tmp_path):
    store = Store(tmp_path / "cache.duckdb")
    backend = numbered_backend()
    llm = CachedLLM(backend, store)
    assert len({llm.key(CHAT, d) for d in DECODINGS}) == len(DECODINGS)
    first = [llm.generate([CHAT], d)[0].text for d in DECODINGS]
    assert (llm.counters.hits, llm.counters.misses) == (0, len(DECODINGS))
    assert len(set(first)) == len(DECODINGS) and backend.calls == len(DECODINGS)
    # a resumed run (new wrapper, same store) gets each decoding's own answer back, without calling the model
    again = CachedLLM(backend, store)
    assert [again.generate([CHAT], d)[0].text for d in DECODINGS] == first
    assert (again.counters.hits, again.counters.misses) == (len(DECODINGS), 0)
    assert backend.calls == len(DECODINGS)


# --- the cache key covers the adapter fingerprint --------------------------------------------------------------


def _save_adapter(base, out, seed):
    """A real PEFT LoRA adapter directory with random (non-zero) weights drawn from ``seed``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base))
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                      task_type="CAUSAL_LM")
    get_peft_model(model, lora).save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def adapters(tiny_qwen, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return _save_adapter(tiny_qwen, root / "eacl-a", seed=1), _save_adapter(tiny_qwen, root / "eacl-b", seed=2)


def test_cache_key_covers_the_adapter_fingerprint(tiny_qwen, adapters, tmp_path):
    from eat_core.llm.transformers_backend import TransformersBackend

    a, b = adapters
    # same file names, different contents: only a content fingerprint tells them apart
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
    assert (a / "adapter_model.safetensors").read_bytes() != (b / "adapter_model.safetensors").read_bytes()

    store = Store(tmp_path / "cache.duckdb")
    backends = [TransformersBackend(str(tiny_qwen), device="cpu"),
                TransformersBackend(str(tiny_qwen), adapter=str(a), device="cpu"),
                TransformersBackend(str(tiny_qwen), adapter=str(b), device="cpu")]
    llms = [CachedLLM(backend, store) for backend in backends]
    decoding = Decoding(6)
    assert len({llm.key(CHAT, decoding) for llm in llms}) == 3
    answers = [llm.generate([CHAT], decoding)[0] for llm in llms]
    assert [(llm.counters.hits, llm.counters.misses) for llm in llms] == [(0, 1)] * 3
    assert [backend.stats.requests for backend in backends] == [1, 1, 1]
    assert not any(answer.cached for answer in answers)

    # the same adapter loaded again (a resumed run) is a hit: the key is stable, not per process
    reloaded = CachedLLM(TransformersBackend(str(tiny_qwen), adapter=str(a), device="cpu"), store)
    assert reloaded.generate([CHAT], decoding)[0].text == answers[1].text
    assert (reloaded.counters.hits, reloaded.counters.misses) == (1, 0)


# --- entity F1 is strict IOB2 ---------------------------------------------------------------------------------

# (gold, pred, strict (tp, fp, fn) worked out by hand from the IOB2 rules)
STRICT_CASES = [
    # an orphan I- opens no entity under strict IOB2; seqeval's default mode would count PER(0, 2) as a hit
    ([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]], (0, 0, 1)),
    # orphan I- after O, mid-sentence
    ([["O", "B-LOC", "I-LOC"]], [["O", "I-LOC", "I-LOC"]], (0, 0, 1)),
    # B-X followed by I-Y: only ORG(0, 1) exists; the I-LOC does not start LOC(1, 2) as the default mode reads it
    ([["B-ORG", "B-LOC", "O"]], [["B-ORG", "I-LOC", "O"]], (1, 0, 1)),
]


def _totals(counts):
    return sum(counts.tp.values()), sum(counts.fp.values()), sum(counts.fn.values())


@pytest.mark.parametrize(("gold", "pred", "expected"), STRICT_CASES)
def test_entity_counts_are_strict_iob2_on_invalid_predictions(gold, pred, expected):
    from seqeval.metrics import f1_score

    assert _totals(entity_counts(gold, pred)) == expected
    ours = micro(entity_counts(gold, pred)).f1
    # the case really separates the two modes, and we side with strict
    assert f1_score(gold, pred) != f1_score(gold, pred, mode="strict", scheme=_iob2())
    assert ours == pytest.approx(100 * f1_score(gold, pred, mode="strict", scheme=_iob2(), zero_division=0))


def _iob2():
    from seqeval.scheme import IOB2

    return IOB2


def _raw_tags(path) -> list[list[str]]:
    """The tag column as written in the file, orphan I- tags included (the product reader refuses or repairs them)."""
    blocks = [b for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    return [[line.split("\t")[-1] for line in b.split("\n") if line] for b in blocks]


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_raw_orphan_tags_score_below_their_repair_only_under_strict(lang):
    """Real orphan I- tags from WikiANN as predictions against the repaired file: strict sees the difference."""
    from seqeval.metrics import f1_score

    path = next((FIXTURE_DATA / "wikiann" / lang).glob("dev.*"))
    repaired, report = read_wikiann_file(path, lang, repair=True)
    gold = [list(s.tags) for s in repaired]
    raw = _raw_tags(path)
    assert report.repaired_orphan_inside > 0 and len(raw) == len(gold)
    lenient = 100 * f1_score(gold, raw)
    strict = 100 * f1_score(gold, raw, mode="strict", scheme=_iob2())
    assert lenient == pytest.approx(100.0)  # the default mode cannot tell a raw orphan from its repair
    ours = micro(entity_counts(gold, raw)).f1
    assert ours == pytest.approx(strict) and ours < 100.0


# --- the engine rejects a dissimilar answer with its default fuzzy threshold ----------------------------------


def one_entity_llm(answer: str) -> ScriptedLLM:
    """Forward and round trip: an English sentence; backward: ``answer`` for the one English entity, every round."""
    english = "Translation: Somebody lives in the city."
    return ScriptedLLM({"backward_*": answer, "forward_*": english, "roundtrip_single": english})


class OneEntityExtractor:
    def __init__(self, label: str) -> None:
        self.label = label

    def extract(self, english):
        return [[EnglishEntity("Placename", self.label)] for _ in english]


def _single_token_entity_sentence():
    """The first Russian dev sentence whose first entity is one token of at least 8 letters."""
    sentences, _ = load_wikiann_local(WIKIANN, "ru", "dev", repair=True)
    for s in sentences:
        spans = spans_from_tags(s.tags)
        if spans and spans[0].end - spans[0].start == 1 and len(s.tokens[spans[0].start]) >= 8:
            word = s.tokens[spans[0].start]
            if word.isalpha() and sum(word.lower() in t.lower() for t in s.tokens) == 1:
                return s, spans[0]
    raise AssertionError("no suitable sentence in the ru dev data")


def _run_engine(sentence, span, answer):
    (prediction,) = DualTranslator(one_entity_llm(answer), OneEntityExtractor(span.label)).run([sentence])
    return prediction


def test_engine_default_threshold_rejects_a_dissimilar_answer_and_places_a_near_miss():
    sentence, span = _single_token_entity_sentence()
    word = sentence.tokens[span.start]
    # every other letter replaced: about half the letters agree, far below the paper's 0.8 but above e.g. 0.3
    dissimilar = "".join("q" if i % 2 else c for i, c in enumerate(word))
    similarity = SequenceMatcher(None, dissimilar.lower(), word.lower()).ratio()
    assert 0.4 < similarity < 0.6

    rejected = _run_engine(sentence, span, dissimilar)
    assert set(rejected.tags) == {"O"}
    assert [p.reason for p in rejected.placements] == ["not_found"]
    assert "align_not_found" in rejected.failures

    # one letter off in a long word stays above the default threshold: placed on the gold token, by fuzzy match
    mid = len(word) // 2
    near_miss = word[:mid] + "q" + word[mid + 1 :]
    assert SequenceMatcher(None, near_miss.lower(), word.lower()).ratio() > 0.85
    placed = _run_engine(sentence, span, near_miss)
    (placement,) = placed.placements
    assert placement.reason is None and placement.method == "fuzzy"
    assert (placement.span.start, placement.span.end) == (span.start, span.end)
    assert placed.tags[span.start] == f"B-{span.label}" and not placed.failures


# --- the bundled fixture is what its README says --------------------------------------------------------------

_ROW = re.compile(r"^\| (\S+) \| ([0-9a-f]{64}) \| ([^|]*)\| ([^|]*)\|$", re.M)


def _readme_rows():
    return _ROW.findall((FIXTURE_DATA / "README.md").read_text(encoding="utf-8"))


def test_fixture_files_match_their_readme_checksums_and_counts():
    rows = _readme_rows()
    listed = {name for name, *_ in rows}
    present = {p.relative_to(FIXTURE_DATA).as_posix() for p in FIXTURE_DATA.rglob("*")
               if p.is_file() and p.parent != FIXTURE_DATA and "__pycache__" not in p.parts}
    assert listed == present
    assert not any(re.search(r"(^|/)test[.-]", name) for name in listed)  # never a test split
    languages = {name.split("/")[1] for name in listed if name.startswith("wikiann/")}
    assert languages == set(BUNDLED_LANGUAGES) and len(languages) == 13
    for name, digest, sentences, tokens in rows:
        path = FIXTURE_DATA / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
        if path.suffix in (".tsv", ".txt"):
            loaded, report = read_wikiann_file(path, name.split("/")[1], repair=True)
            assert (report.sentences, report.tokens) == (int(sentences), int(tokens)), name


@needs_full_data("provenance check: compares the fixture with the full files it was cut from")
def test_fixture_sentences_are_verbatim_blocks_of_the_full_files_in_order():
    for name, *_ in _readme_rows():
        if not name.startswith("wikiann/"):
            continue
        source = FULL_WIKIANN.parent / name
        full = [b for b in source.read_text(encoding="utf-8").split("\n\n") if b.strip()]
        position = {block: i for i, block in reversed(list(enumerate(full)))}
        taken = [b for b in (FIXTURE_DATA / name).read_text(encoding="utf-8").split("\n\n") if b.strip()]
        indices = [position[b] for b in taken]  # KeyError: a sentence that is not in the source
        assert indices == sorted(indices) and indices[: min(40, len(indices))] == list(range(min(40, len(indices))))
    text = (FIXTURE_DATA / "eacl-official" / "corpus_zh.json").read_text(encoding="utf-8")
    original = (FULL_WIKIANN.parent / "eacl-official" / "corpus_zh.json").read_text(encoding="utf-8")
    assert text.endswith("]") and original.startswith(text[:-1])
