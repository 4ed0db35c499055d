"""QLoRA fine-tuning of the translating LLM on EACL ShareGPT files (EAT §3.3, §4.2).

Defaults are the paper's: base model in 4-bit NF4 with double quantisation (bitsandbytes), LoRA r=64, alpha=16,
lr 1e-4, 5 epochs, 90/10 train/valid (the split is made by ``eat eacl build``). The loss covers the answer tokens
only (the prompt is masked with -100). Gradient checkpointing, a checkpoint per epoch, resume from the last one,
validation loss per epoch, a fixed seed; an output directory is resumed (or a finished adapter reused) only when
its recorded step key, a hash of the settings, base weights and conversations, matches (``eat_core.training.steps``).
Output: ``<output>/adapter``, a standard PEFT directory (what the ``transformers`` backend and
``vllm serve --lora-modules`` load), plus ``eat_manifest.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from eat_core.errors import ConfigError, DataError
from eat_core.hashing import content_hash, directory_fingerprint
from eat_core.training.steps import finished_manifest, prepare_output, step_key
from eat_core.weights.devices import pick_device, pick_dtype, quantization_config
from eat_core.weights.fingerprint import model_fingerprint
from eat_core.weights.resolve import resolve_model_path

log = logging.getLogger(__name__)
ROLE_MAP = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


class FinetuneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_model: str = "Qwen/Qwen2.5-14B-Instruct"
    train_file: str
    valid_file: str | None = None
    output_dir: str
    load_in_4bit: bool = True  # QLoRA
    lora_r: int = Field(64, ge=1)  # EAT §4.2
    lora_alpha: int = Field(16, ge=1)  # EAT §4.2
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str = "all-linear"
    learning_rate: float = Field(1e-4, gt=0)  # EAT §4.2
    epochs: float = Field(5, gt=0)  # EAT §4.2
    max_steps: int = -1
    batch_size: int = Field(4, ge=1)
    gradient_accumulation: int = Field(4, ge=1)
    max_length: int = Field(512, ge=16)
    gradient_checkpointing: bool = True
    seed: int = 42
    limit: int | None = Field(None, ge=1)
    device: str = "auto"
    trust_remote_code: bool = False


def read_sharegpt(path: str | Path, limit: int | None = None) -> list[list[dict[str, str]]]:
    """ShareGPT rows -> chat messages with roles mapped (TRL does not map human/gpt; we do it here)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("ShareGPT file not found", path)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc.msg}", path, exc.lineno) from None
    if not isinstance(rows, list) or not rows:
        raise DataError("expected a non-empty JSON list of {conversations: [...]} rows", path)
    chats = []
    for i, row in enumerate(rows[:limit] if limit else rows):
        turns = row.get("conversations") if isinstance(row, dict) else None
        if not isinstance(turns, list) or not turns:
            raise DataError(f"row {i}: missing 'conversations' list", path)
        messages = [{"role": "system", "content": row["system"]}] if row.get("system") else []
        for j, turn in enumerate(turns):
            role = ROLE_MAP.get(str(turn.get("from", "")).lower()) if isinstance(turn, dict) else None
            value = turn.get("value") if isinstance(turn, dict) else None
            if role is None or not isinstance(value, str):
                raise DataError(f"row {i}, turn {j}: needs 'from' (human/gpt/system) and a string 'value'", path)
            if not value.strip():
                raise DataError(f"row {i}, turn {j}: empty text", path)
            messages.append({"role": role, "content": value})
        if messages[-1]["role"] != "assistant":
            raise DataError(f"row {i}: the last turn must be the answer (from: gpt)", path)
        chats.append(messages)
    return chats


def encode_chat(tokenizer, messages: list[dict[str, str]], max_length: int) -> dict[str, list[int]] | None:
    """Token ids of the whole chat, with labels only on the final answer (prompt masked with -100); ``None`` when
    the chat does not fit in ``max_length``."""
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        raise ConfigError("the chat template renders the prompt differently inside the full chat; "
                          "cannot isolate the answer tokens")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    if len(prompt_ids) + len(answer_ids) > max_length:
        return None  # truncating would cut the answer, the only tokens with a loss: skip and count instead
    ids = prompt_ids + answer_ids
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": [-100] * len(prompt_ids) + answer_ids}


def encode_all(tokenizer, chats, max_length: int, name: str) -> tuple[list[dict], int]:
    encoded = [encode_chat(tokenizer, c, max_length) for c in chats]
    kept = [e for e in encoded if e is not None]
    if chats and not kept:
        raise ConfigError(f"no {name} conversation fits in max_length={max_length} tokens; raise --max-length")
    return kept, len(encoded) - len(kept)


def _resume_point(output_dir: Path) -> str | None:
    checkpoints = sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return str(checkpoints[-1]) if checkpoints else None


def finetune(cfg: FinetuneConfig, progress: Callable[[str], None] | None = None) -> dict:
    """Train a LoRA adapter (QLoRA by default); returns the manifest written beside it."""
    say = progress or log.info
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    set_seed(cfg.seed)
    path = resolve_model_path(cfg.base_model)
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=cfg.trust_remote_code)
    if not tokenizer.chat_template:
        raise ConfigError(f"{cfg.base_model!r} has no chat template; fine-tune an instruction (chat) model")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    train_chats = read_sharegpt(cfg.train_file, cfg.limit)
    valid_chats = read_sharegpt(cfg.valid_file, cfg.limit) if cfg.valid_file else []
    train, skipped_train = encode_all(tokenizer, train_chats, cfg.max_length, "training")
    valid, skipped_valid = encode_all(tokenizer, valid_chats, cfg.max_length, "validation")
    if skipped_train or skipped_valid:
        say(f"skipped {skipped_train} training and {skipped_valid} validation conversations longer than "
            f"{cfg.max_length} tokens")

    key = step_key("finetune", cfg.model_dump(mode="json"),
                   **{"base model": model_fingerprint(cfg.base_model)[1],
                      "training data": content_hash(train_chats)[:16],
                      "validation data": content_hash(valid_chats)[:16]})
    out = Path(cfg.output_dir)
    done = finished_manifest(out / "adapter" / "eat_manifest.json", key)
    if done is not None:
        say(f"{out / 'adapter'} was trained from these very inputs (key {key.key}); reusing it")
        return done
    resumable = prepare_output(out, key, say)

    device = pick_device(cfg.device)
    dtype = pick_dtype("auto", device)
    quant = quantization_config(cfg.load_in_4bit, dtype)
    kwargs = {"dtype": dtype, "trust_remote_code": cfg.trust_remote_code}
    if quant is not None:
        kwargs.update(quantization_config=quant, device_map={"": device})
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if quant is not None:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    elif cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=cfg.target_modules, task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)

    args = TrainingArguments(
        output_dir=str(out), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps, learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation, eval_strategy="epoch" if valid else "no",
        save_strategy="epoch", save_total_limit=2, logging_steps=1, seed=cfg.seed, data_seed=cfg.seed,
        report_to="none", disable_tqdm=True, use_cpu=device == "cpu", bf16=dtype == torch.bfloat16,
        fp16=dtype == torch.float16, gradient_checkpointing=False,  # already configured on the model above
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=valid or None,
                      data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100))
    resume = _resume_point(out) if resumable else None
    say(f"fine-tuning {cfg.base_model} ({'4-bit NF4 ' if quant else ''}LoRA r={cfg.lora_r} alpha={cfg.lora_alpha}) "
        f"on {len(train)} conversations, validating on {len(valid)}" + (f"; resuming from {resume}" if resume else ""))
    result = trainer.train(resume_from_checkpoint=resume)
    adapter = out / "adapter"
    model.save_pretrained(str(adapter))
    tokenizer.save_pretrained(str(adapter))
    history = trainer.state.log_history
    manifest = {
        "base_model": cfg.base_model,
        "base_fingerprint": directory_fingerprint(path) if Path(path).is_dir() else None,
        "config": cfg.model_dump(mode="json"),
        "data_hash": content_hash({"train": train_chats, "valid": valid_chats}),
        "train_conversations": len(train), "valid_conversations": len(valid),
        "skipped_too_long": {"train": skipped_train, "valid": skipped_valid},
        "train_loss": result.training_loss,
        "loss_history": [h["loss"] for h in history if "loss" in h],
        "eval_loss_per_epoch": [{"epoch": h["epoch"], "eval_loss": h["eval_loss"]} for h in history
                                if "eval_loss" in h],
        "step_key": key.key, "inputs": key.inputs,
    }
    (adapter / "eat_manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    say(f"adapter written to {adapter}; train loss {result.training_loss:.4f}")
    return manifest
