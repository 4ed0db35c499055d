"""Qwen2 checkpoints (and PEFT LoRA adapters of them) as GGUF files, the format llama.cpp's server loads.

``convert_qwen2_to_gguf(model_dir, out)`` writes an F32 GGUF of a Hugging Face Qwen2 directory (what
``build_tiny_qwen2`` or ``save_pretrained`` writes): the ``qwen2`` architecture's hyper-parameters, every tensor
under llama.cpp's name (``model.layers.0.self_attn.q_proj.weight`` -> ``blk.0.attn_q.weight``), the byte-level BPE
tokenizer (tokens, token types, merges, special token ids) and the chat template, so the server formats chats
exactly as ``apply_chat_template`` does. ``convert_lora_to_gguf(adapter_dir, out)`` writes a PEFT LoRA adapter of
such a model as a GGUF LoRA (``llama-server --lora FILE``).

F32 keeps every weight as trained: the files are for tests and small models, not for quantised serving (for a large
model use llama.cpp's own ``convert_hf_to_gguf.py`` and quantiser). ``gguf`` and ``safetensors`` import lazily: the
default install never needs them (``pip install -e '.[llamacpp]'``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from eat_core.errors import ConfigError

GGUF_ARCH = "qwen2"

_GLOBAL_TENSORS = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
_BLOCK_TENSORS = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
_BLOCK = re.compile(r"^(?:base_model\.model\.)?model\.layers\.(\d+)\.(.+)$")


def gguf_tensor_name(hf_name: str) -> str:
    """``model.layers.3.mlp.up_proj.weight`` -> ``blk.3.ffn_up.weight``; an unknown name raises ConfigError."""
    if hf_name in _GLOBAL_TENSORS:
        return _GLOBAL_TENSORS[hf_name]
    match = _BLOCK.match(hf_name)
    if match and match.group(2) in _BLOCK_TENSORS:
        return f"blk.{match.group(1)}.{_BLOCK_TENSORS[match.group(2)]}"
    raise ConfigError(f"{hf_name}: a tensor the Qwen2 GGUF converter does not know")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing (not a Hugging Face model directory)") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None


def _load_tensors(path: Path) -> dict:
    """name -> float32 numpy array, from ``model.safetensors`` (or an adapter's ``adapter_model.safetensors``)."""
    import numpy as np
    from safetensors import safe_open

    tensors = {}
    try:
        with safe_open(str(path), framework="np") as handle:
            for name in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                tensors[name] = handle.get_tensor(name).astype(np.float32)
    except (TypeError, ValueError):  # bf16 has no numpy dtype: go through torch
        from safetensors.torch import load_file

        tensors = {name: t.float().numpy() for name, t in load_file(str(path)).items()}
    return tensors


def _check_source(model_dir: Path) -> dict:
    if not model_dir.is_dir():
        raise ConfigError(f"{model_dir}: no such model directory")
    config = _read_json(model_dir / "config.json")
    if config.get("model_type") != "qwen2":
        raise ConfigError(f"{model_dir}: model_type {config.get('model_type')!r}; this converter writes Qwen2 only")
    if not (model_dir / "model.safetensors").is_file():
        raise ConfigError(f"{model_dir}: no model.safetensors (sharded or .bin checkpoints are not supported)")
    return config


def _write_atomically(writer_fn, out: Path) -> Path:
    """Write to a temporary sibling and rename: a crash never leaves a half-written file that looks complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    try:
        writer_fn(tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def convert_qwen2_to_gguf(model_dir: str | Path, out: str | Path, *, name: str | None = None) -> Path:
    """Write the Qwen2 checkpoint in ``model_dir`` as an F32 GGUF file at ``out``; returns ``out``."""
    import gguf

    model_dir, out = Path(model_dir), Path(out)
    config = _check_source(model_dir)
    tokenizer = _read_json(model_dir / "tokenizer.json")
    template_file = model_dir / "chat_template.jinja"
    template = template_file.read_text(encoding="utf-8") if template_file.is_file() else \
        _read_json(model_dir / "tokenizer_config.json").get("chat_template")
    if not template:
        raise ConfigError(f"{model_dir}: no chat template (chat_template.jinja or tokenizer_config.json); "
                          "the server would format chats its own way")
    tensors = _load_tensors(model_dir / "model.safetensors")
    if config.get("tie_word_embeddings"):
        tensors.pop("lm_head.weight", None)  # llama.cpp reuses token_embd.weight when output.weight is absent

    def write(path: Path) -> None:
        writer = gguf.GGUFWriter(path, GGUF_ARCH)
        _add_hyperparameters(writer, config, name or model_dir.name)
        _add_tokenizer(writer, tokenizer, config, template)
        for hf_name in sorted(tensors):
            writer.add_tensor(gguf_tensor_name(hf_name), tensors[hf_name])
        _finish(writer)

    return _write_atomically(write, out)


def _add_hyperparameters(writer, config: dict, name: str) -> None:
    import gguf

    rope = config.get("rope_parameters") or {}
    writer.add_name(name)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_head_count_kv(int(config.get("num_key_value_heads") or config["num_attention_heads"]))
    writer.add_rope_freq_base(float(rope.get("rope_theta") or config.get("rope_theta") or 10000.0))
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)


def _add_tokenizer(writer, tokenizer: dict, config: dict, template: str) -> None:
    """GPT-2-style byte-level BPE: every id's token string, its type (special tokens are control), the merges."""
    import gguf

    model = tokenizer["model"]
    if model.get("type") != "BPE":
        raise ConfigError(f"tokenizer type {model.get('type')!r}; the converter writes byte-level BPE only")
    vocab = dict(model["vocab"])
    special = set()
    for added in tokenizer.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
        if added.get("special"):
            special.add(added["id"])
    size = int(config.get("vocab_size") or len(vocab))
    by_id = {i: token for token, i in vocab.items()}
    tokens, types = [], []
    for i in range(size):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL)
        else:  # the embedding matrix is larger than the vocabulary: padding rows, never produced
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")  # the ByteLevel pre-tokenizer's regex (GPT-2's), as tokenizer.json says
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    if config.get("eos_token_id") is not None:
        writer.add_eos_token_id(int(config["eos_token_id"]))
    if config.get("bos_token_id") is not None:
        writer.add_bos_token_id(int(config["bos_token_id"]))
    if config.get("pad_token_id") is not None:
        writer.add_pad_token_id(int(config["pad_token_id"]))
    writer.add_add_bos_token(False)  # Qwen2 prompts start with the template's first token, no BOS
    writer.add_chat_template(template)


def _finish(writer) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def convert_lora_to_gguf(adapter_dir: str | Path, out: str | Path) -> Path:
    """Write a PEFT LoRA adapter of a Qwen2 model (``adapter_config.json`` + ``adapter_model.safetensors``) as a
    GGUF LoRA; returns ``out``. Each ``...q_proj.lora_A.weight`` becomes ``blk.N.attn_q.weight.lora_a``."""
    import gguf

    adapter_dir, out = Path(adapter_dir), Path(out)
    if not adapter_dir.is_dir():
        raise ConfigError(f"{adapter_dir}: no such adapter directory")
    config = _read_json(adapter_dir / "adapter_config.json")
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise ConfigError(f"{adapter_dir}: no adapter_model.safetensors")
    if config.get("use_dora") or config.get("use_rslora"):
        raise ConfigError(f"{adapter_dir}: DoRA/rsLoRA adapters are not supported by the GGUF LoRA converter")
    tensors = {}
    for hf_name, value in _load_tensors(adapter_dir / "adapter_model.safetensors").items():
        match = re.match(r"^(.+)\.lora_([AB])\.weight$", hf_name)
        if not match:
            raise ConfigError(f"{hf_name}: not a LoRA tensor (modules_to_save are not supported)")
        base = gguf_tensor_name(match.group(1) + ".weight")
        tensors[f"{base}.lora_{match.group(2).lower()}"] = value

    def write(path: Path) -> None:
        writer = gguf.GGUFWriter(path, GGUF_ARCH)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config.get("lora_alpha", config.get("r", 8))))
        for name in sorted(tensors):
            writer.add_tensor(name, tensors[name])
        _finish(writer)

    return _write_atomically(write, out)
