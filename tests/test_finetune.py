"""QLoRA fine-tuning on the tiny Qwen2 in 4-bit (bitsandbytes NF4 runs on CPU), on a slice of official EACL data."""

from __future__ import annotations

import json

import pytest
from conftest import EACL

from eat_core.errors import ConfigError, DataError
from eat_core.training.finetune import FinetuneConfig, encode_chat, finetune, read_sharegpt

pytest.importorskip("bitsandbytes")


@pytest.fixture(scope="module")
def eacl_files(tmp_path_factory):
    from eat_core.data.eacl_files import read_eacl_file
    from eat_core.eacl.corpus import export_sharegpt, judge_pairs

    pairs = read_eacl_file(EACL / "corpus_zh.json")[:60]
    return export_sharegpt(judge_pairs(pairs, "official"), tmp_path_factory.mktemp("eacl"), name="eacl_zh", seed=1)


def test_qlora_lowers_loss_changes_outputs_and_loads_in_the_engine(eacl_files, tiny_qwen, tmp_path):
    from eat_core.llm.base import Decoding
    from eat_core.llm.transformers_backend import TransformersBackend

    out = tmp_path / "ft"
    manifest = finetune(FinetuneConfig(base_model=str(tiny_qwen), train_file=str(eacl_files["train"]),
                                       valid_file=str(eacl_files["valid"]), output_dir=str(out), epochs=2,
                                       learning_rate=5e-3, batch_size=4, gradient_accumulation=1, max_length=1024))
    losses = manifest["loss_history"]
    assert losses[-1] < losses[0]
    assert [round(e["epoch"]) for e in manifest["eval_loss_per_epoch"]] == [1, 2]
    adapter = out / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (64, 16)
    saved = json.loads((adapter / "eat_manifest.json").read_text())
    assert saved["data_hash"] == manifest["data_hash"] and saved["base_fingerprint"]

    chats = json.loads(eacl_files["valid"].read_text())
    messages = [[{"role": "system", "content": r["system"]},
                 {"role": "user", "content": r["conversations"][0]["value"]}] for r in chats]
    base = TransformersBackend(str(tiny_qwen))
    tuned = TransformersBackend(str(tiny_qwen), adapter=str(adapter))
    assert tuned.identity()["adapter"] and tuned.identity()["adapter"] != base.identity()["adapter"]
    before = [c.text for c in base.generate(messages, Decoding(8))]
    after = [c.text for c in tuned.generate(messages, Decoding(8))]
    assert before != after  # the adapter changes what the model answers


def test_bad_corpus_files_are_reported(tmp_path):
    cases = {
        "not_a_list.json": ('{"a": 1}', "non-empty JSON list"),
        "no_conversations.json": ('[{"x": 1}]', "row 0: missing 'conversations'"),
        "bad_role.json": ('[{"conversations": [{"from": "robot", "value": "x"}]}]', "row 0, turn 0: needs 'from'"),
        "empty_text.json": ('[{"conversations": [{"from": "human", "value": " "}]}]', "row 0, turn 0: empty text"),
        "no_answer.json": ('[{"conversations": [{"from": "human", "value": "q"}]}]', "last turn must be the answer"),
        "broken.json": ('[{"conversations": ', "invalid JSON"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(DataError, match=message):
            read_sharegpt(path)
    with pytest.raises(DataError, match="not found"):
        read_sharegpt(tmp_path / "missing.json")


def test_base_model_without_chat_template_is_refused(tiny_t5, tmp_path):
    path = tmp_path / "c.json"
    path.write_text('[{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}]')
    with pytest.raises(ConfigError, match="no chat template"):
        finetune(FinetuneConfig(base_model=str(tiny_t5), train_file=str(path), output_dir=str(tmp_path / "o")))


def test_loss_is_on_the_answer_only(tiny_qwen):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_qwen)
    messages = [{"role": "user", "content": "English phrase: Beijing\nChinese sentence: 我爱北京。"},
                {"role": "assistant", "content": "北京"}]
    row = encode_chat(tok, messages, 512)
    answer = [t for t, label in zip(row["input_ids"], row["labels"], strict=True) if label != -100]
    assert tok.decode(answer).startswith("北京")
    assert row["labels"][0] == -100 and len(answer) < len(row["input_ids"]) // 2
    assert encode_chat(tok, messages, 8) is None  # too long: skipped rather than trained without an answer


def test_cli_finetune(eacl_files, tiny_qwen, tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    out = subprocess.run([sys.executable, "-m", "eat_cli", "finetune", "--train", str(eacl_files["train"]),
                          "--valid", str(eacl_files["valid"]), "--output", str(tmp_path / "ft"), "--base-model",
                          str(tiny_qwen), "--max-steps", "2", "--max-length", "1024", "--limit", "8"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "adapter=" in out.stdout and (tmp_path / "ft" / "adapter" / "adapter_config.json").is_file()
