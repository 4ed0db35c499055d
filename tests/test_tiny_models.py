"""Tiny models are real HF checkpoints on disk, loaded through from_pretrained like any other."""

from __future__ import annotations

import os

from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoModelForTokenClassification, AutoTokenizer

from eat_core.weights.tiny import build_tiny_qwen2

SCRIPTS = ["北京大学", "東京タワー", "서울특별시", "القاهرة", "नई दिल्ली", "Երևան", "თბილისი", "Москва", "London"]


def test_offline_and_round_trip_every_script(tiny_qwen):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    tok = AutoTokenizer.from_pretrained(tiny_qwen)
    for text in SCRIPTS:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text
        assert len(ids) < 4 * len(text)  # the BPE learned the script, not bytes only


def test_qwen_has_a_chat_template_and_generates(tiny_qwen):
    tok = AutoTokenizer.from_pretrained(tiny_qwen)
    prompt = tok.apply_chat_template([{"role": "user", "content": "서울"}], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen)
    assert model.config.model_type == "qwen2"
    out = model.generate(**tok(prompt, return_tensors="pt"), max_new_tokens=4, do_sample=False)
    assert out.shape[1] > 0


def test_t5_and_token_classifier_load(tiny_t5, tiny_token_classifier):
    assert AutoModelForSeq2SeqLM.from_pretrained(tiny_t5).config.model_type == "t5"
    tc = AutoModelForTokenClassification.from_pretrained(tiny_token_classifier)
    assert tc.config.id2label[1] == "B-PER"


def test_builds_are_cached_and_deterministic(tiny_root, tiny_qwen):
    assert build_tiny_qwen2(tiny_root) == tiny_qwen
    assert build_tiny_qwen2(tiny_root, seed=5) != tiny_qwen
