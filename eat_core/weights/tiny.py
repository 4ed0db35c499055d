"""Tiny, randomly initialised models built locally from configs, for tests and the ``smoke`` profile.

No model hub is reachable on our machines or in CI, so we build a Qwen2-architecture causal LM, a T5 and a
BERT-style token classifier with a byte-level BPE tokenizer trained on text in every script we handle, save them as
ordinary Hugging Face directories, and load them back through the same ``from_pretrained(path)`` code path a real
checkpoint uses. They prove the machinery, not accuracy.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from eat_core.data import SAMPLE_DIR
from eat_core.data.wikiann import HUB_LABELS, load_wikiann_local
from eat_core.languages import join_tokens

TINY_VERSION = "1"
"""Bump when the recipe changes, so cached builds are rebuilt."""

QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""ChatML, the format Qwen2.5-Instruct uses."""

_EXTRA_TEXT = [
    "Translate the sentence into English and list the named entities: persons, organizations, locations.",
    "English phrase: European Union. Find the exact phrase of the sentence that translates it.",
    "(PER, Barack Obama) (LOC, Paris) (ORG, United Nations)",
    "Check the result and make sure each word of the result appears in the given sentence.",
]


def default_cache_dir() -> Path:
    """``$EAT_CACHE_DIR`` or ``~/.cache/eat-ner``: never inside the installed package."""
    return Path(os.environ.get("EAT_CACHE_DIR", Path.home() / ".cache" / "eat-ner"))


def fixture_corpus() -> list[str]:
    """Text covering English and the scripts of ar, hi, hy, ja, ka, ko, ru, zh (the bundled real sample)."""
    lines = list(_EXTRA_TEXT)
    for lang_dir in sorted(p for p in SAMPLE_DIR.iterdir() if p.is_dir()):
        sentences, _ = load_wikiann_local(SAMPLE_DIR, lang_dir.name, "dev")
        lines += [join_tokens(s.tokens, s.lang) for s in sentences]
    return lines


def train_tokenizer(vocab_size: int = 1024):
    """A byte-level BPE tokenizer (every script is representable) with ChatML and T5-style special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(fixture_corpus(), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="<|im_end|>",
        unk_token="<unk>",
        additional_special_tokens=["<|im_start|>", "<|endoftext|>", "</s>"],
    )


def _build_dir(kind: str, params: dict, root: Path | None) -> Path:
    digest = hashlib.sha256(json.dumps({"v": TINY_VERSION, "kind": kind, **params}, sort_keys=True).encode())
    return (root or default_cache_dir() / "tiny") / f"{kind}-{digest.hexdigest()[:12]}"


def build_tiny_qwen2(root: Path | None = None, *, seed: int = 0, hidden: int = 64, layers: int = 2) -> Path:
    """A Qwen2ForCausalLM with ChatML template; returns its directory (built once, then reused)."""
    path = _build_dir("qwen2", {"seed": seed, "hidden": hidden, "layers": layers}, root)
    if (path / "config.json").is_file():
        return path
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = train_tokenizer()
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    _save(model, tokenizer, path)
    return path


def build_tiny_t5(root: Path | None = None, *, seed: int = 0, d_model: int = 64, layers: int = 2) -> Path:
    """A T5ForConditionalGeneration (the Flan-T5 architecture) for the text-to-text extractor."""
    path = _build_dir("t5", {"seed": seed, "d_model": d_model, "layers": layers}, root)
    if (path / "config.json").is_file():
        return path
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = train_tokenizer()
    tokenizer.eos_token = "</s>"
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=16,
        d_ff=d_model * 2,
        num_layers=layers,
        num_decoder_layers=layers,
        num_heads=4,
        feed_forward_proj="gated-gelu",
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    _save(T5ForConditionalGeneration(config), tokenizer, path)
    return path


def build_tiny_token_classifier(root: Path | None = None, *, seed: int = 0, hidden: int = 64) -> Path:
    """A BertForTokenClassification with WikiANN's labels (the mBERT role of EAT Table 6)."""
    path = _build_dir("bert-tc", {"seed": seed, "hidden": hidden}, root)
    if (path / "config.json").is_file():
        return path
    import torch
    from transformers import BertConfig, BertForTokenClassification

    tokenizer = train_tokenizer()
    tokenizer.cls_token, tokenizer.sep_token = "<|im_start|>", "</s>"
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        id2label=dict(enumerate(HUB_LABELS)),
        label2id={label: i for i, label in enumerate(HUB_LABELS)},
    )
    _save(BertForTokenClassification(config), tokenizer, path)
    return path


def build_tiny_xlmr(root: Path | None = None, *, seed: int = 0, hidden: int = 64, layers: int = 3) -> Path:
    """An XLMRobertaModel encoder (no head): the role of XLM-R in the embedding word aligner (SimAlign)."""
    path = _build_dir("xlmr", {"seed": seed, "hidden": hidden, "layers": layers}, root)
    if (path / "config.json").is_file():
        return path
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    tokenizer = train_tokenizer()
    tokenizer.cls_token, tokenizer.sep_token = "<|im_start|>", "</s>"
    torch.manual_seed(seed)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
    )
    _save(XLMRobertaModel(config), tokenizer, path)
    return path


def _save(model, tokenizer, path: Path) -> None:
    """Write to a temporary sibling, then rename: a crash never leaves a half-built model that looks complete."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(path)
    except OSError:  # another process finished first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
